import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { progressEvents, taskText, type Sandbox } from '../helpers/repo.js';
import { attemptWorktree, poolAfterRun, readTask, taskBranches } from '../helpers/task.js';
import { livePidsMatching, sleepMarker, spawnCli, waitFor } from '../helpers/wait.js';

const ISO_SECOND = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const SHA = /^[0-9a-f]{40}$/;
const OWNED = [
  'status',
  'attempts',
  'claimed_by',
  'started_at',
  'finished_at',
  'base_commit',
  'branch',
  'commit',
  'error',
  'cost_usd',
  'tokens',
];

const left = cleanUpAfterEach();
const { markers } = left;
const sandbox = (rules: string, files?: Record<string, string>) => left.sandbox({ rules, files });

const events = async (sb: Sandbox) => progressEvents(await sb.read('progress.txt'));
/** "id event" per progress line, for order assertions. */
const trail = async (sb: Sandbox) => (await events(sb)).map((e) => `${e.id} ${e.event}`);

describe('a task done end to end', () => {
  it('commits with the trailer on nightshift/<id>, pushes it, records it in the task file and cleans up', async () => {
    const sb = await sandbox('---\npush: branch\ntest: grep -q hi hello.txt\n---\nBe nice.\n');
    const original = [
      '---',
      "title: Say hello   # the user's comment",
      'status: queued',
      'owner_note: "keep: me exactly"',
      'labels: [a, b]',
      'run: echo hi > hello.txt',
      '---',
      '# Goal',
      '',
      'Write hello.txt.   ',
      '\tTabs, trailing spaces and no final newline stay as they are.',
    ].join('\n');
    await sb.write('tasks/001-hello.md', original);
    const mainBefore = (await sb.git(['rev-parse', 'main'])).trim();

    const r = await sb.cli(['daemon', 'start', '--once']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('nightshift: 1 done, 0 failed, 0 blocked');

    // The task file: owned keys written, everything of the user's kept byte for byte.
    const { fm, text } = await readTask(sb, '001-hello');
    expect(fm).toMatchObject({
      status: 'done',
      attempts: 1,
      branch: 'nightshift/001-hello',
      base_commit: mainBefore,
      title: 'Say hello',
      owner_note: 'keep: me exactly',
      labels: ['a', 'b'],
    });
    expect(fm.started_at).toMatch(ISO_SECOND);
    expect(fm.finished_at).toMatch(ISO_SECOND);
    expect(String(fm.finished_at) >= String(fm.started_at)).toBe(true);
    expect(fm.error).toBeUndefined();
    expect(fm.claimed_by).toBeUndefined();
    expect(fm.commit).toMatch(SHA);
    const userLines = (t: string) => t.split('\n').filter((l) => !OWNED.some((k) => l.startsWith(`${k}:`)));
    expect(userLines(text)).toEqual(userLines(original));
    expect(text.slice(text.indexOf('\n---\n'))).toBe(original.slice(original.indexOf('\n---\n')));

    // Git: one commit on top of base with the trailer, pushed, main untouched.
    const branches = await taskBranches(sb, '001-hello');
    expect(branches.remote).toBe(fm.commit);
    expect(branches.local).toBe(fm.commit);
    const trailer = await sb.git(['log', '-1', '--format=%(trailers:key=Nightshift-Task,valueonly)', String(fm.commit)], sb.remote);
    expect(trailer.trim()).toBe('001-hello');
    expect((await sb.git(['rev-parse', `${String(fm.commit)}^`], sb.remote)).trim()).toBe(mainBefore);
    expect((await sb.git(['show', '--format=', '--name-only', String(fm.commit)])).trim()).toBe('hello.txt');
    expect((await sb.git(['rev-parse', 'main'])).trim()).toBe(mainBefore);

    // progress.txt: the contract's events with their key=value fields.
    const lines = await events(sb);
    expect(lines.map((e) => `${e.id} ${e.event}`)).toEqual([
      '- daemon-start',
      '001-hello claimed',
      '001-hello attempt-started',
      '001-hello tests-passed',
      '001-hello committed',
      '001-hello pushed',
      '001-hello done',
      '- daemon-stop',
    ]);
    for (const e of lines) expect(e.time).toMatch(ISO_SECOND);
    const byEvent = Object.fromEntries(lines.map((e) => [e.event, e.fields]));
    const short = String(fm.commit).slice(0, 7);
    expect(byEvent['daemon-start']).toMatchObject({ mode: 'once', base: 'main' });
    expect(byEvent.claimed).toMatchObject({ executor: 'shell' });
    expect(byEvent.claimed?.by).toMatch(/^.+:\d+$/);
    expect(byEvent['attempt-started']).toEqual({ attempt: '1', of: '3', base: mainBefore.slice(0, 7) });
    expect(byEvent['tests-passed']).toEqual({ attempt: '1' });
    expect(byEvent.committed).toEqual({ attempt: '1', commit: short, branch: 'nightshift/001-hello', files: '1' });
    expect(byEvent.pushed).toEqual({ attempt: '1', remote: 'origin', branch: 'nightshift/001-hello', commit: short });
    expect(byEvent.done).toMatchObject({ attempt: '1', commit: short, branch: 'nightshift/001-hello' });
    expect(byEvent.done?.duration).toMatch(/^(\d+m)?\d+s$/);
    expect(byEvent['daemon-stop']).toEqual({ done: '1', failed: '0', blocked: '0', cancelled: '0', waiting: '0' });
    // The CLI echoes the same lines.
    expect(r.stdout).toContain(`001-hello done attempt=1`);

    // The worktree lives under $XDG_CACHE_HOME, pooled for the next task: idle, detached (so the task's
    // branch is free), clean (everything was committed), no lease held.
    const worktree = await attemptWorktree(sb, '001-hello');
    expect(worktree.startsWith(join(sb.cache, 'nightshift', 'worktrees') + '/')).toBe(true);
    expect(await poolAfterRun(sb)).toEqual({ worktrees: ['_pool-1 detached'], leases: [] });
    expect(await sb.git(['status', '--porcelain', '--ignored'], worktree)).toBe('');
  });
});

describe('failures and retries', () => {
  it('retries a failing test command up to max_attempts, then fails with the last output line', async () => {
    const sb = await sandbox('---\npush: branch\nmax_attempts: 2\ntest: sh check.sh\n---\n', {
      'check.sh': 'echo "checking things"\necho "assertion said: 2 + 2 is not 5 (unique-failure-text)"\nexit 1\n',
    });
    await sb.write('tasks/001-broken.md', taskText({ title: 'Broken', run: 'echo x > a.txt' }));

    const r = await sb.cli(['daemon', 'start', '--once']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('nightshift: 0 done, 1 failed, 0 blocked');

    const { fm } = await readTask(sb, '001-broken');
    const error = 'tests failed (exit 1): assertion said: 2 + 2 is not 5 (unique-failure-text)';
    expect(fm).toMatchObject({ status: 'failed', attempts: 2, error });
    expect(fm.commit).toBeUndefined();
    expect(fm.branch).toBeUndefined(); // the branch is gone, so the file does not name it
    expect(fm.finished_at).toMatch(ISO_SECOND);

    const lines = (await events(sb)).filter((e) => e.id === '001-broken');
    expect(lines.map((e) => e.event)).toEqual([
      'claimed',
      'attempt-started',
      'attempt-failed',
      'retry-scheduled',
      'attempt-started',
      'attempt-failed',
      'failed',
    ]);
    expect(lines[2]?.fields).toEqual({ attempt: '1', reason: error });
    expect(lines[3]?.fields).toEqual({ attempt: '2', in: '2s' });
    expect(lines[4]?.fields).toMatchObject({ attempt: '2', of: '2' });
    expect(lines[6]?.fields).toEqual({ attempts: '2', reason: error });

    // Nothing published; the pooled worktree is idle and detached, so the empty branch could go.
    expect(await taskBranches(sb, '001-broken')).toEqual({ local: undefined, remote: undefined });
    expect(await poolAfterRun(sb)).toEqual({ worktrees: ['_pool-1 detached'], leases: [] });

    // The retry was told why the first attempt failed, with the output.
    const first = await sb.read('.nightshift/logs/001-broken/1.prompt.md');
    const second = await sb.read('.nightshift/logs/001-broken/2.prompt.md');
    expect(first).not.toContain('unique-failure-text');
    expect(second).toContain('The previous attempt failed');
    expect(second).toContain('checking things');
    expect(second).toContain('2 + 2 is not 5 (unique-failure-text)');
  });

  it('fails an executor that changes nothing with "no changes"', async () => {
    const sb = await sandbox('---\nmax_attempts: 1\n---\n');
    await sb.write('tasks/001-idle.md', taskText({ title: 'Does nothing', run: 'echo thinking hard' }));
    const r = await sb.cli(['daemon', 'start', '--once']);
    expect(r.code).toBe(1);
    const { fm } = await readTask(sb, '001-idle');
    expect(fm.status).toBe('failed');
    expect(fm.attempts).toBe(1);
    expect(String(fm.error)).toMatch(/^no changes/);
    expect((await taskBranches(sb, '001-idle')).local).toBeUndefined();
  });

  it('stops a task at its timeout, grandchildren holding stdout included', async () => {
    const sb = await sandbox('---\nmax_attempts: 1\n---\n');
    const marker = sleepMarker(60);
    markers.push(marker);
    await sb.write('tasks/001-hang.md', taskText({ title: 'Hangs', timeout: '1s', run: `sh -c 'sleep ${marker} & sleep ${marker}'` }));
    const started = Date.now();
    const r = await sb.cli(['daemon', 'start', '--once'], { timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(15_000);
    const { fm } = await readTask(sb, '001-hang');
    expect(fm.status).toBe('failed');
    expect(String(fm.error)).toMatch(/timed out after 1s/);
    expect(await livePidsMatching(marker)).toEqual([]);
    expect(await poolAfterRun(sb)).toEqual({ worktrees: ['_pool-1 detached'], leases: [] });
  });
});

describe('queue order', () => {
  it('runs a dependency first and stacks the dependent branch on its commit', async () => {
    const sb = await sandbox('---\npush: branch\n---\n');
    // By file name B would come first; depends_on must win.
    await sb.write('tasks/001-b.md', taskText({ title: 'B', depends_on: ['002-a'], run: 'test -f a.txt && echo b > b.txt' }));
    await sb.write('tasks/002-a.md', taskText({ title: 'A', run: 'echo a > a.txt' }));
    const r = await sb.cli(['daemon', 'start', '--once']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);

    const order = await trail(sb);
    expect(order.indexOf('002-a done')).toBeGreaterThan(-1);
    expect(order.indexOf('002-a done')).toBeLessThan(order.indexOf('001-b claimed'));
    const claimedB = (await events(sb)).find((e) => e.id === '001-b' && e.event === 'claimed');
    expect(claimedB?.fields.on).toBe('002-a');

    const a = (await readTask(sb, '002-a')).fm;
    const b = (await readTask(sb, '001-b')).fm;
    expect(a.status).toBe('done');
    expect(b.status).toBe('done');
    expect(b.base_commit).toBe(a.commit);
    const ancestor = await sb.git(['merge-base', '--is-ancestor', String(a.commit), String(b.commit)], sb.remote).then(
      () => true,
      () => false,
    );
    expect(ancestor).toBe(true);
    expect((await sb.git(['ls-tree', '--name-only', String(b.commit)], sb.remote)).split('\n')).toEqual(
      expect.arrayContaining(['a.txt', 'b.txt']),
    );
  });

  it('claims higher priority first, ties by file name', async () => {
    const sb = await sandbox('---\nconcurrency: 1\n---\n');
    const add = (id: string, priority: number) =>
      sb.write(`tasks/${id}.md`, taskText({ title: id, priority, run: `echo ${id} > ${id}.txt` }));
    await add('001-low', 0);
    await add('002-high', 5);
    await add('003-mid', 1);
    await add('004-mid-too', 1);
    await add('005-negative', -1);
    const r = await sb.cli(['daemon', 'start', '--once']);
    expect(r.code).toBe(0);
    const claims = (await events(sb)).filter((e) => e.event === 'claimed').map((e) => e.id);
    expect(claims).toEqual(['002-high', '003-mid', '004-mid-too', '001-low', '005-negative']);
  });

  it('blocks cycles, missing and failed dependencies with a reason, and still runs the rest', async () => {
    const sb = await sandbox('---\nmax_attempts: 1\n---\n');
    await sb.write('tasks/001-a.md', taskText({ title: 'A', depends_on: ['002-b'], run: 'echo a > a.txt' }));
    await sb.write('tasks/002-b.md', taskText({ title: 'B', depends_on: ['001-a'], run: 'echo b > b.txt' }));
    await sb.write('tasks/003-orphan.md', taskText({ title: 'Orphan', depends_on: ['099-nowhere'], run: 'echo c > c.txt' }));
    await sb.write('tasks/004-fails.md', taskText({ title: 'Fails', run: 'echo "cannot do it"; exit 3' }));
    await sb.write('tasks/005-after-failure.md', taskText({ title: 'After failure', depends_on: ['004-fails'], run: 'echo e > e.txt' }));
    await sb.write('tasks/006-fine.md', taskText({ title: 'Fine', run: 'echo f > f.txt' }));

    const r = await sb.cli(['daemon', 'start', '--once']);
    expect(r.code).toBe(1);
    const status = async (id: string) => (await readTask(sb, id)).fm;
    const a = await status('001-a');
    const b = await status('002-b');
    expect(a.status).toBe('blocked');
    expect(a.error).toBe('dependency cycle: 001-a -> 002-b -> 001-a');
    expect(b.status).toBe('blocked');
    expect(b.error).toBe('dependency cycle: 002-b -> 001-a -> 002-b');
    expect(await status('003-orphan')).toMatchObject({ status: 'blocked', error: 'dependency 099-nowhere does not exist in tasks/' });
    expect(await status('004-fails')).toMatchObject({ status: 'failed', error: 'executor shell failed (exit 3): cannot do it' });
    expect(await status('005-after-failure')).toMatchObject({ status: 'blocked', error: 'dependency 004-fails is failed' });
    expect(await status('006-fine')).toMatchObject({ status: 'done', attempts: 1 });

    const blocked = (await events(sb)).filter((e) => e.event === 'blocked');
    expect(blocked.map((e) => e.id).sort()).toEqual(['001-a', '002-b', '003-orphan', '005-after-failure']);
    expect(blocked.find((e) => e.id === '001-a')?.fields.reason).toBe('dependency cycle: 001-a -> 002-b -> 001-a');
    // Blocked tasks never ran.
    const started = (await trail(sb)).filter((l) => / (claimed|attempt-started)$/.test(l)).map((l) => l.split(' ')[0]);
    expect(started.sort()).toEqual(['004-fails', '004-fails', '006-fine', '006-fine']);
    expect(r.stdout).toContain('nightshift: 1 done, 1 failed, 4 blocked');
  });
});

describe('requeue', () => {
  it('puts a failed task back with a fresh budget and runs it again; --failed takes every failed task', async () => {
    // The executor and the test talk through a file outside the worktree, which the sandbox hides.
    const sb = await sandbox('---\nsandbox: none\nmax_attempts: 1\n---\n');
    const flag = join(sb.dir, 'flag.txt');
    // Fails until the test creates the flag file outside the repository.
    await sb.write('tasks/001-first.md', taskText({ title: 'First', run: `cp '${flag}' first.txt` }));
    await sb.write('tasks/002-second.md', taskText({ title: 'Second', run: `cp '${flag}' second.txt` }));
    expect((await sb.cli(['daemon', 'start', '--once'])).code).toBe(1);
    expect((await readTask(sb, '001-first')).fm).toMatchObject({ status: 'failed', attempts: 1 });
    expect(String((await readTask(sb, '001-first')).fm.error)).toMatch(/^executor shell failed \(exit 1\)/);

    const one = await sb.cli(['requeue', '001-first']);
    expect(one).toMatchObject({ code: 0, stderr: '' });
    expect(one.stdout).toContain('001-first: failed -> queued');
    const requeued = await readTask(sb, '001-first');
    expect(requeued.fm).toMatchObject({ status: 'queued', attempts: 0 });
    expect(requeued.fm.branch).toBeUndefined(); // the failed attempt left no branch to name
    expect(requeued.fm.error).toBeUndefined();
    expect(requeued.fm.finished_at).toBeUndefined();
    expect((await readTask(sb, '002-second')).fm.status).toBe('failed');
    const line = (await events(sb)).at(-1);
    expect(line).toMatchObject({ id: '001-first', event: 'requeued', fields: { from: 'failed', attempts: '1' } });
    // The old transcripts are kept, out of the way of the next run's.
    const archived = (await readdir(join(sb.repo, '.nightshift/logs'))).filter((n) => n.startsWith('001-first.'));
    expect(archived).toHaveLength(1);
    expect(existsSync(join(sb.repo, '.nightshift/logs', archived[0] as string, '1.log'))).toBe(true);

    const all = await sb.cli(['requeue', '--failed']);
    expect(all.code).toBe(0);
    expect(all.stdout).toContain('002-second: failed -> queued');
    expect(all.stdout).not.toContain('001-first');
    expect((await readTask(sb, '002-second')).fm).toMatchObject({ status: 'queued', attempts: 0 });

    await writeFile(flag, 'now it works\n');
    const again = await sb.cli(['daemon', 'start', '--once']);
    expect(again.code).toBe(0);
    for (const id of ['001-first', '002-second']) {
      const { fm } = await readTask(sb, id);
      expect(fm).toMatchObject({ status: 'done', attempts: 1 });
      expect(fm.error).toBeUndefined();
    }
    expect(await sb.cli(['requeue', '--failed'])).toMatchObject({ code: 0, stdout: 'no failed tasks\n' });
  });
});

describe('cancel', () => {
  it('cancels a queued task, which then never runs', async () => {
    const sb = await sandbox('---\n---\n');
    await sb.write('tasks/001-unwanted.md', taskText({ title: 'Unwanted', run: 'echo no > no.txt' }));
    await sb.write('tasks/002-wanted.md', taskText({ title: 'Wanted', run: 'echo yes > yes.txt' }));
    const c = await sb.cli(['cancel', '001-unwanted']);
    expect(c).toMatchObject({ code: 0, stderr: '' });
    expect(c.stdout).toContain('001-unwanted: queued -> cancelled');
    expect((await readTask(sb, '001-unwanted')).fm.status).toBe('cancelled');
    expect((await events(sb)).at(-1)).toMatchObject({ id: '001-unwanted', event: 'cancelled', fields: { from: 'queued' } });

    const r = await sb.cli(['daemon', 'start', '--once']);
    expect(r.code).toBe(0);
    const { fm } = await readTask(sb, '001-unwanted');
    expect(fm.status).toBe('cancelled');
    expect(fm.attempts).toBeUndefined();
    expect((await readTask(sb, '002-wanted')).fm.status).toBe('done');
    expect((await trail(sb)).filter((l) => l.startsWith('001-unwanted '))).toEqual(['001-unwanted cancelled']);
    expect(existsSync(join(sb.repo, '.nightshift/logs/001-unwanted'))).toBe(false);
  });

  async function cancelWhileRunning(sb: Sandbox, id: string, marker: string) {
    const daemon = spawnCli(sb, ['daemon', 'start', '--once']);
    try {
      // Running, and the hanging process is up (whichever step it is in).
      await waitFor(`${id} to be running`, async () => (await readTask(sb, id).catch(() => undefined))?.fm.status === 'running');
      await waitFor(`the sleep ${marker} to start`, async () => (await livePidsMatching(marker)).length > 0);

      const busy = await sb.cli(['requeue', id]);
      expect(busy.code).toBe(2);
      expect(busy.stderr).toContain(`nightshift: task ${id} is running`);

      const c = await sb.cli(['cancel', id]);
      expect(c).toMatchObject({ code: 0, stderr: '' });
      expect(c.stdout).toContain(`${id}: running -> cancelled`);
      const started = Date.now();
      const r = await daemon.exited;
      expect(Date.now() - started).toBeLessThan(10_000);
      return r;
    } finally {
      daemon.child.kill('SIGKILL');
    }
  }

  it('stops a running executor and its grandchildren, then leaves the task cancelled', async () => {
    const sb = await sandbox('---\npush: branch\n---\n');
    const marker = sleepMarker(30);
    markers.push(marker);
    await sb.write(
      'tasks/001-long.md',
      taskText({ title: 'Long', run: `echo started > started.txt; sh -c 'sleep ${marker} & sleep ${marker}; wait'` }),
    );
    const r = await cancelWhileRunning(sb, '001-long', marker);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('nightshift: 0 done, 0 failed, 0 blocked, 1 cancelled');

    expect(await livePidsMatching(marker)).toEqual([]);
    const { fm } = await readTask(sb, '001-long');
    expect(fm.status).toBe('cancelled');
    expect(fm.commit).toBeUndefined();
    expect(await taskBranches(sb, '001-long')).toEqual({ local: undefined, remote: undefined });
    expect(await poolAfterRun(sb)).toEqual({ worktrees: ['_pool-1 detached'], leases: [] });
    expect((await trail(sb)).filter((l) => l.startsWith('001-long '))).toEqual([
      '001-long claimed',
      '001-long attempt-started',
      '001-long cancelled',
    ]);
  });

  it('stops an executor that ignores SIGTERM once its task is cancelled', async () => {
    const sb = await sandbox('---\n---\n');
    const marker = sleepMarker(30);
    markers.push(marker);
    // The whole group ignores TERM: only the daemon's own escalation to SIGKILL can end it.
    await sb.write('tasks/001-stubborn.md', taskText({ title: 'Stubborn', run: `trap '' TERM; sh -c 'trap "" TERM; sleep ${marker}'` }));
    const r = await cancelWhileRunning(sb, '001-stubborn', marker);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('1 cancelled');
    expect(await livePidsMatching(marker)).toEqual([]);
    expect((await readTask(sb, '001-stubborn')).fm.status).toBe('cancelled');
  });

  it('stops a task cancelled while its setup command runs', async () => {
    const marker = sleepMarker(30);
    markers.push(marker);
    const sb = await sandbox(`---\nsetup: sleep ${marker}\n---\n`);
    await sb.write('tasks/001-setup.md', taskText({ title: 'Slow setup', run: 'echo x > x.txt' }));
    const r = await cancelWhileRunning(sb, '001-setup', marker);
    expect(r.code).toBe(0);
    expect(await livePidsMatching(marker)).toEqual([]);
    expect((await readTask(sb, '001-setup')).fm.status).toBe('cancelled');
    expect(await sb.read('.nightshift/logs/001-setup/1.log')).not.toContain('==> ' + 'executor');
  });
});

describe('daemon stop', () => {
  it('on SIGTERM stops the running executor after the grace period, requeues its task and exits 0', async () => {
    const sb = await sandbox('---\nstop_grace: 1s\n---\n');
    const marker = sleepMarker(30);
    markers.push(marker);
    await sb.write('tasks/001-long.md', taskText({ title: 'Long', run: `sh -c 'sleep ${marker} & sleep ${marker}; wait'` }));
    const daemon = spawnCli(sb, ['daemon', 'start']);
    try {
      await waitFor('the executor to start', async () => (await livePidsMatching(marker)).length > 0);
      daemon.child.kill('SIGTERM');
      const r = await daemon.exited;
      expect(r.code).toBe(0);
      expect(r.stderr).toContain('stopping');
    } finally {
      daemon.child.kill('SIGKILL');
    }
    expect(await livePidsMatching(marker)).toEqual([]);
    const { fm } = await readTask(sb, '001-long');
    expect(fm).toMatchObject({ status: 'queued', attempts: 1 });
    expect(String(fm.error)).toMatch(/^interrupted/);
    expect(fm.claimed_by).toBeUndefined();
    expect((await trail(sb)).slice(-2)).toEqual(['001-long requeued', '- daemon-stop']);
    expect(await poolAfterRun(sb)).toEqual({ worktrees: ['_pool-1 detached'], leases: [] });
  });
});

describe('executors', () => {
  it('runs a command executor from rules.md with {prompt_file} as one argument; the prompt holds rules, scope and task', async () => {
    const rules = [
      '---',
      'executor: echoer',
      'executors:',
      '  echoer:',
      '    command: ["sh", "-c", "echo \\"$#\\" > argc.txt; cat \\"$1\\" > prompt-copy.md", "x", "{prompt_file}"]',
      '---',
      'RULES-BODY: never touch the moon.',
      '',
    ].join('\n');
    const sb = await sandbox(rules);
    // A checkout whose path has a space: {prompt_file} must still arrive as exactly one argument.
    const spaced = join(sb.dir, 'my project');
    await sb.git(['clone', '--quiet', sb.remote, spaced], sb.dir);
    await sb.git(['config', 'user.name', 'Test User'], spaced);
    await sb.git(['config', 'user.email', 'test@example.invalid'], spaced);
    await writeFile(join(spaced, 'scope.md'), '# Context\n\nSCOPE-BODY: a project about the moon.\n');
    await mkdir(join(spaced, 'tasks'));
    await writeFile(
      join(spaced, 'tasks', '001-echo.md'),
      taskText({ title: 'Echo the prompt' }, '# Goal\n\nTASK-BODY: copy the prompt.\n'),
    );

    const r = await sb.cli(['daemon', 'start', '--once'], { cwd: spaced });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const fm = (await readTask({ ...sb, read: (p) => readFile(join(spaced, p), 'utf8') }, '001-echo')).fm;
    expect(fm.status).toBe('done');
    const commit = String(fm.commit);
    const show = (path: string) => sb.git(['show', `${commit}:${path}`], spaced);
    expect((await show('argc.txt')).trim()).toBe('1');
    const prompt = await show('prompt-copy.md');
    expect(prompt).toBe(await readFile(join(spaced, '.nightshift/logs/001-echo/1.prompt.md'), 'utf8'));
    expect(prompt).toContain('RULES-BODY: never touch the moon.');
    expect(prompt).toContain('SCOPE-BODY: a project about the moon.');
    expect(prompt).toContain('TASK-BODY: copy the prompt.');
    expect(prompt.indexOf('RULES-BODY')).toBeLessThan(prompt.indexOf('TASK-BODY'));
  });

  it('blocks a task naming an executor rules.md does not define, and says how to fix it', async () => {
    const sb = await sandbox('---\n---\n');
    await sb.write('tasks/001-ghost.md', taskText({ title: 'Ghost', executor: 'nosuch' }));
    await sb.write('tasks/002-real.md', taskText({ title: 'Real', run: 'echo r > r.txt' }));
    const r = await sb.cli(['daemon', 'start', '--once']);
    expect(r.code).toBe(1);
    const { fm } = await readTask(sb, '001-ghost');
    expect(fm.status).toBe('blocked');
    expect(String(fm.error)).toContain('executor "nosuch" is not available');
    expect(String(fm.error)).toContain('executors:');
    expect(fm.attempts).toBe(0);
    expect((await events(sb)).find((e) => e.id === '001-ghost' && e.event === 'blocked')?.fields.reason).toBe(fm.error);
    expect(await taskBranches(sb, '001-ghost')).toEqual({ local: undefined, remote: undefined });
    expect((await readTask(sb, '002-real')).fm.status).toBe('done');
  });
});

describe('crash recovery', () => {
  it('after kill -9 of the daemon, the next start kills the orphaned executor, cleans up and runs the task again', async () => {
    // Unsandboxed: bwrap's executor dies with its daemon, so there would be no orphan to recover.
    const sb = await sandbox('---\nsandbox: none\nmax_attempts: 3\n---\n');
    const marker = sleepMarker(30);
    markers.push(marker);
    const flag = join(sb.dir, 'second-time');
    // First attempt hangs (until the daemon is killed); the retry after recovery finishes at once.
    await sb.write(
      'tasks/001-crashy.md',
      taskText({ title: 'Crashy', run: `if [ -f '${flag}' ]; then echo ok > ok.txt; else sleep ${marker}; fi` }),
    );
    const first = spawnCli(sb, ['daemon', 'start', '--once']);
    await waitFor('the executor to start', async () => (await livePidsMatching(marker)).length > 0);
    first.child.kill('SIGKILL');
    await first.exited;
    // The executor runs in its own process group, so it outlived the daemon: exactly what recovery must handle.
    expect((await livePidsMatching(marker)).length).toBeGreaterThan(0);
    expect((await readTask(sb, '001-crashy')).fm.status).toBe('running');
    const worktree = await attemptWorktree(sb, '001-crashy');
    expect(existsSync(worktree)).toBe(true);

    await writeFile(flag, '');
    const second = await sb.cli(['daemon', 'start', '--once']);
    expect(second.code).toBe(0);
    expect(await livePidsMatching(marker)).toEqual([]);
    const { fm } = await readTask(sb, '001-crashy');
    expect(fm).toMatchObject({ status: 'done', attempts: 2 });
    const crashy = (await events(sb)).filter((e) => e.id === '001-crashy').map((e) => e.event);
    expect(crashy).toEqual(['claimed', 'attempt-started', 'recovered', 'claimed', 'attempt-started', 'committed', 'done']);
    // The dead run's slot was taken over, reset and reused for the retry, then given back.
    expect(await attemptWorktree(sb, '001-crashy', 2)).toBe(worktree);
    expect(await poolAfterRun(sb)).toEqual({ worktrees: ['_pool-1 detached'], leases: [] });
  });
});

describe('recovery without a recorded process group', () => {
  it('kills an executor whose daemon died before recording its group: it is found by its worktree', async () => {
    // Unsandboxed: bwrap's executor dies with its daemon, so there would be no orphan to recover.
    const sb = await sandbox('---\nsandbox: none\nmax_attempts: 3\n---\n');
    const marker = sleepMarker(30);
    markers.push(marker);
    const flag = join(sb.dir, 'second-time');
    await sb.write(
      'tasks/001-early.md',
      taskText({
        title: 'Early',
        run: `if [ -f '${flag}' ]; then echo ok > ok.txt; else sh -c 'sleep ${marker}' & sleep ${marker}; wait; fi`,
      }),
    );
    const first = spawnCli(sb, ['daemon', 'start', '--once']);
    await waitFor('the executor to start', async () => (await livePidsMatching(marker)).length > 0);
    first.child.kill('SIGKILL');
    await first.exited;
    // As if the daemon died between starting the executor and writing its group to the owner file.
    const ownerFile = join(sb.repo, '.nightshift', 'locks', '001-early.lock', 'owner.json');
    const owner = JSON.parse(await readFile(ownerFile, 'utf8')) as Record<string, unknown>;
    delete owner.pgid;
    await writeFile(ownerFile, JSON.stringify(owner));
    expect((await livePidsMatching(marker)).length).toBeGreaterThan(0);

    await writeFile(flag, '');
    const second = await sb.cli(['daemon', 'start', '--once']);
    expect(second.code).toBe(0);
    expect(await livePidsMatching(marker)).toEqual([]);
    expect((await readTask(sb, '001-early')).fm).toMatchObject({ status: 'done', attempts: 2 });
  });
});

describe('what the executor leaves behind', () => {
  it('folds commits the executor made itself into one nightshift commit with the trailer', async () => {
    const sb = await sandbox('---\n---\n');
    await sb.write(
      'tasks/001-self-commit.md',
      taskText({
        title: 'Commits by itself',
        run: 'echo a > a.txt && git add a.txt && git commit -qm "agent: a" && echo b > b.txt',
      }),
    );
    const r = await sb.cli(['daemon', 'start', '--once']);
    expect(r.code).toBe(0);
    const { fm } = await readTask(sb, '001-self-commit');
    expect(fm.status).toBe('done');
    const base = (await sb.git(['rev-parse', 'main'])).trim();
    expect((await sb.git(['rev-parse', `${String(fm.commit)}^`])).trim()).toBe(base);
    expect((await sb.git(['diff', '--name-only', base, String(fm.commit)])).trim().split('\n')).toEqual(['a.txt', 'b.txt']);
    expect((await sb.git(['log', '-1', '--format=%(trailers:key=Nightshift-Task,valueonly)', String(fm.commit)])).trim()).toBe(
      '001-self-commit',
    );
  });

  it('fails an attempt whose executor rewrote history below the base commit', async () => {
    const sb = await sandbox('---\nmax_attempts: 1\n---\n');
    await sb.write(
      'tasks/001-rewrite.md',
      taskText({
        title: 'Rewrites history',
        run: 'git commit -q --amend -m "rewritten base" --allow-empty && echo x > x.txt',
      }),
    );
    const r = await sb.cli(['daemon', 'start', '--once']);
    expect(r.code).toBe(1);
    const { fm } = await readTask(sb, '001-rewrite');
    expect(fm.status).toBe('failed');
    expect(String(fm.error)).toContain('rewrote history');
  });

  it('stops an executor that goes silent for stall_timeout', async () => {
    const sb = await sandbox('---\nstall_timeout: 1s\nmax_attempts: 1\n---\n');
    const marker = sleepMarker(30);
    markers.push(marker);
    await sb.write('tasks/001-silent.md', taskText({ title: 'Goes quiet', run: `echo thinking; sleep ${marker}` }));
    const r = await sb.cli(['daemon', 'start', '--once']);
    expect(r.code).toBe(1);
    expect(String((await readTask(sb, '001-silent')).fm.error)).toBe('executor shell stalled: no output for 1s, stopped');
    expect(await livePidsMatching(marker)).toEqual([]);
  });

  it('keeps the commit on the local branch and fails the task when the push is refused', async () => {
    // A refused push is retried (without the executor) with the usual backoff, made short here.
    const sb = await sandbox('---\npush: branch\nretry_backoff: 1ms\n---\n');
    await sb.write('tasks/001-unpushable.md', taskText({ title: 'Cannot push', run: 'echo x > x.txt' }));
    // The remote refuses every update.
    await writeFile(join(sb.remote, 'hooks', 'pre-receive'), '#!/bin/sh\necho "remote says no" >&2\nexit 1\n', { mode: 0o755 });
    const r = await sb.cli(['daemon', 'start', '--once']);
    expect(r.code).toBe(1);
    const { fm } = await readTask(sb, '001-unpushable');
    expect(fm).toMatchObject({ status: 'failed', attempts: 1, branch: 'nightshift/001-unpushable' });
    expect(String(fm.error)).toMatch(
      /^push to origin failed: .*; the verified commit is kept on nightshift\/001-unpushable: requeue the task to publish it$/,
    );
    const branches = await taskBranches(sb, '001-unpushable');
    expect(branches.local).toMatch(SHA);
    expect(fm.commit).toBe(branches.local);
    expect(branches.remote).toBeUndefined();
  });
});
