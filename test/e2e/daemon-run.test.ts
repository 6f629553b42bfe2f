import { existsSync, realpathSync } from 'node:fs';
import { appendFile, mkdir, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { defaultWorktreeRoot } from '../../src/paths.js';
import { progressEvents, runCli, taskText, type Sandbox } from '../helpers/repo.js';
import { readTask, taskBranches } from '../helpers/task.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { livePidsMatching, sleepMarker, spawnCli, waitFor } from '../helpers/wait.js';

const { sandbox, markers, pids } = cleanUpAfterEach();

const events = async (sb: Sandbox) => progressEvents(await sb.read('progress.txt').catch(() => ''));

describe('watch mode', () => {
  it('runs a file dropped into a running daemon, an atomic save and a slow writer, without a restart', async () => {
    const sb = await sandbox('---\n---\n');
    const daemon = spawnCli(sb, ['daemon', 'start']);
    pids.push(daemon.child.pid as number);
    await waitFor('daemon-start', async () => (await events(sb)).some((e) => e.event === 'daemon-start'));

    await sb.write('tasks/001-dropped.md', taskText({ title: 'Dropped', run: 'echo d > d.txt' }));
    // An editor's save: written under a dot name, renamed over.
    await sb.write('tasks/.002-saved.md.swp', taskText({ title: 'Saved', run: 'echo s > s.txt' }));
    await rename(join(sb.repo, 'tasks/.002-saved.md.swp'), join(sb.repo, 'tasks/002-saved.md'));
    // A slow writer: the frontmatter is not closed yet when the daemon first sees the file.
    const slow = taskText({ title: 'Slow', run: 'echo w > w.txt' });
    const cut = slow.indexOf('---', 3);
    await sb.write('tasks/003-slow.md', slow.slice(0, cut));
    await waitFor(
      'the daemon to look at the half file',
      async () => (await readFile(join(sb.repo, '.nightshift/daemon.log'), 'utf8')).length > 0,
    );
    await appendFile(join(sb.repo, 'tasks/003-slow.md'), slow.slice(cut));

    for (const id of ['001-dropped', '002-saved', '003-slow']) {
      await waitFor(`${id} done`, async () => (await readTask(sb, id)).fm.status === 'done', 30_000);
    }
    // The half-written file was never reported invalid: it settled into a valid task first.
    expect((await events(sb)).filter((e) => e.event === 'invalid')).toEqual([]);
    daemon.child.kill('SIGTERM');
    expect((await daemon.exited).code).toBe(0);
  });

  it('--concurrency 3 runs three tasks at the same time', async () => {
    // The executor and the test talk through a file outside the worktree, which the sandbox hides.
    const sb = await sandbox('---\nsandbox: none\nconcurrency: 1\n---\n');
    const ledger = join(sb.dir, 'ledger');
    await writeFile(ledger, '');
    // Each task records its start, waits until all three have started (impossible one or two at a time),
    // then records its end.
    const run = (id: string) =>
      `echo "start ${id} $(date +%s%N)" >> '${ledger}'; n=0; while [ "$(grep -c start '${ledger}')" -lt 3 ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n+1)); done; echo "end ${id} $(date +%s%N)" >> '${ledger}'; echo ${id} > ${id}.txt`;
    for (const id of ['001-a', '002-b', '003-c']) await sb.write(`tasks/${id}.md`, taskText({ title: id, run: run(id) }));
    const r = await sb.cli(['daemon', 'start', '--once', '--concurrency', '3']);
    expect(r.code).toBe(0);
    const lines = (await readFile(ledger, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => l.split(' '));
    const starts = lines.filter((l) => l[0] === 'start').map((l) => BigInt(l[2] as string));
    const ends = lines.filter((l) => l[0] === 'end').map((l) => BigInt(l[2] as string));
    expect(starts).toHaveLength(3);
    expect(ends).toHaveLength(3);
    // Every run interval overlaps every other: the last start comes before the first end.
    const lastStart = starts.reduce((a, b) => (a > b ? a : b));
    const firstEnd = ends.reduce((a, b) => (a < b ? a : b));
    expect(lastStart < firstEnd).toBe(true);
  });
});

describe('hung executors', () => {
  it('stall_timeout stops an executor whose grandchild holds its output open, nothing left running', async () => {
    const sb = await sandbox('---\nstall_timeout: 1s\nmax_attempts: 1\n---\n');
    const marker = sleepMarker(60);
    markers.push(marker);
    await sb.write(
      'tasks/001-silent.md',
      taskText({ title: 'Goes quiet', run: `echo thinking; sh -c 'sleep ${marker} & sleep ${marker}'` }),
    );
    const r = await sb.cli(['daemon', 'start', '--once'], { timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(String((await readTask(sb, '001-silent')).fm.error)).toBe('executor shell stalled: no output for 1s, stopped');
    expect(await livePidsMatching(marker)).toEqual([]);
  });
});

describe('crash recovery', () => {
  it.each([
    {
      recorded: true,
      what: 'finalizes a task whose commit was made before the crash: pushes it, marks it done, never reruns the executor',
    },
    { recorded: false, what: 'reruns a task whose trailer commit the dead daemon never recorded (an executor could have written it)' },
  ])('$what', async ({ recorded }) => {
    // The executor and the test talk through a file outside the worktree, which the sandbox hides.
    const sb = await sandbox('---\nsandbox: none\npush: branch\n---\n');
    const ran = join(sb.dir, 'executor-ran');
    const id = '001-finished';
    const base = (await sb.git(['rev-parse', 'main'])).trim();
    // What a daemon killed right after its commit leaves: the branch with the trailer commit, the task
    // running, its lock owned by a dead process, a worktree git still has locked "initializing".
    await sb.git(['branch', `nightshift/${id}`, base]);
    const wtRoot = defaultWorktreeRoot(realpathSync(sb.repo), sb.env);
    const worktree = join(wtRoot, id);
    await mkdir(wtRoot, { recursive: true });
    await sb.git(['worktree', 'add', '--quiet', worktree, `nightshift/${id}`]);
    await writeFile(join(worktree, 'f.txt'), 'finished\n');
    await sb.git(['add', 'f.txt'], worktree);
    await sb.git(['commit', '--quiet', '-m', `Finished\n\nNightshift-Task: ${id}\n`], worktree);
    const commit = (await sb.git(['rev-parse', 'HEAD'], worktree)).trim();
    const adminDir = (await sb.git(['rev-parse', '--git-dir'], worktree)).trim();
    await writeFile(join(adminDir, 'locked'), 'initializing');
    const dead = Number(execFileSync('sh', ['-c', 'sh -c "echo \\$\\$"'], { encoding: 'utf8' }).trim());
    await sb.write(
      `tasks/${id}.md`,
      taskText({
        title: 'Finished before the crash',
        run: `touch '${ran}'; echo again > again.txt`,
        status: 'running',
        attempts: 1,
        claimed_by: `somehost:${dead}`,
        base_commit: base,
        branch: `nightshift/${id}`,
      }),
    );
    await mkdir(join(sb.repo, `.nightshift/locks/${id}.lock`), { recursive: true });
    await writeFile(
      join(sb.repo, `.nightshift/locks/${id}.lock/owner.json`),
      JSON.stringify({
        host: execFileSync('hostname', { encoding: 'utf8' }).trim(),
        pid: dead,
        startedAt: new Date().toISOString(),
        commit: recorded ? commit : undefined,
      }),
    );

    const r = await sb.cli(['daemon', 'start', '--once']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const { fm } = await readTask(sb, id);
    if (!recorded) {
      // Not nightshift's commit as far as anyone knows: the task runs again from its base, guards and tests included.
      expect(existsSync(ran)).toBe(true);
      expect(fm).toMatchObject({ status: 'done', attempts: 2 });
      expect(fm.commit).not.toBe(commit);
      expect((await events(sb)).find((e) => e.id === id && e.event === 'recovered')?.fields).toMatchObject({ then: 'queued' });
      return;
    }
    expect(fm).toMatchObject({ status: 'done', commit, attempts: 1, branch: `nightshift/${id}` });
    expect(fm.claimed_by).toBeUndefined();
    expect(existsSync(ran)).toBe(false);
    expect(await taskBranches(sb, id)).toEqual({ local: commit, remote: commit });
    const trail = (await events(sb)).filter((e) => e.id === id);
    expect(trail.map((e) => e.event)).toEqual(['recovered', 'pushed', 'done']);
    expect(trail[0]?.fields).toMatchObject({ then: 'finalize', commit: commit.slice(0, 7) });
    expect(existsSync(worktree)).toBe(false);
    expect((await sb.git(['worktree', 'list', '--porcelain'])).match(/^worktree /gm)).toHaveLength(1);
  });
});

describe('crash recovery with push: land', () => {
  it('marks done a task whose commit had reached the remote base; one only on its branch runs again', async () => {
    // The executor and the test talk through a file outside the worktree, which the sandbox hides.
    const sb = await sandbox('---\nsandbox: none\npush: land\n---\n');
    const base = (await sb.git(['rev-parse', 'main'])).trim();
    const host = execFileSync('hostname', { encoding: 'utf8' }).trim();
    const dead = Number(execFileSync('sh', ['-c', 'sh -c "echo \\$\\$"'], { encoding: 'utf8' }).trim());
    const crashed = async (id: string, landed: boolean) => {
      const ran = join(sb.dir, `${id}-ran`);
      await sb.git(['checkout', '--quiet', '-b', `nightshift/${id}`, base]);
      await sb.write(`${id}.txt`, `${id}\n`);
      await sb.git(['add', `${id}.txt`]);
      await sb.git(['commit', '--quiet', '-m', `${id}\n\nNightshift-Task: ${id}\n`]);
      const commit = (await sb.git(['rev-parse', 'HEAD'])).trim();
      await sb.git(['checkout', '--quiet', 'main']);
      if (landed) await sb.git(['push', '--quiet', 'origin', `${commit}:refs/heads/main`]);
      await sb.write(
        `tasks/${id}.md`,
        taskText({
          title: id,
          run: `touch '${ran}'; echo again > ${id}-again.txt`,
          status: 'running',
          attempts: 1,
          claimed_by: `${host}:${dead}`,
          base_commit: base,
          branch: `nightshift/${id}`,
        }),
      );
      await mkdir(join(sb.repo, `.nightshift/locks/${id}.lock`), { recursive: true });
      await writeFile(
        join(sb.repo, `.nightshift/locks/${id}.lock/owner.json`),
        JSON.stringify({ host, pid: dead, startedAt: new Date().toISOString(), commit }),
      );
      return { commit, ran };
    };
    const landed = await crashed('001-landed', true);
    const unlanded = await crashed('002-unlanded', false);
    const r = await sb.cli(['daemon', 'start', '--once']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((await readTask(sb, '001-landed')).fm).toMatchObject({ status: 'done', commit: landed.commit });
    expect(existsSync(landed.ran)).toBe(false);
    const second = (await readTask(sb, '002-unlanded')).fm;
    expect(second).toMatchObject({ status: 'done', attempts: 2 });
    expect(existsSync(unlanded.ran)).toBe(true);
    // Landed once each: the remote's main holds each trailer exactly once.
    const trailers = (await sb.git(['log', '--format=%(trailers:key=Nightshift-Task,valueonly)', 'main'], sb.remote))
      .split('\n')
      .filter(Boolean);
    expect(trailers.sort()).toEqual(['001-landed', '002-unlanded']);
  });
});

describe('several daemons on one queue', () => {
  it('two daemons on one checkout (--allow-multiple) and one in a second checkout sharing tasks/ run each task once', async () => {
    // The executor and the test talk through a file outside the worktree, which the sandbox hides.
    const sb = await sandbox('---\nsandbox: none\nconcurrency: 2\n---\n');
    const ledger = join(sb.dir, 'ledger');
    await writeFile(ledger, '');
    const other = join(sb.dir, 'other');
    await sb.git(['clone', '--quiet', sb.remote, other], sb.dir);
    await sb.git(['config', 'user.name', 'Other'], other);
    await sb.git(['config', 'user.email', 'other@example.invalid'], other);
    await writeFile(join(other, 'rules.md'), '---\nsandbox: none\nconcurrency: 2\n---\n');
    await symlink(join(sb.repo, 'tasks'), join(other, 'tasks'));
    const ids = Array.from({ length: 12 }, (_, i) => `${String(i + 1).padStart(3, '0')}-t`);
    for (const id of ids)
      await sb.write(
        `tasks/${id}.md`,
        taskText({ title: id, run: `echo "${id} $NIGHTSHIFT_ATTEMPT $PPID" >> '${ledger}'; echo ${id} > ${id}.txt` }),
      );

    const a = spawnCli(sb, ['daemon', 'start', '--once', '--allow-multiple']);
    const b = spawnCli(sb, ['daemon', 'start', '--once', '--allow-multiple']);
    const c = runCli(['daemon', 'start', '--once'], other, sb.env);
    pids.push(a.child.pid as number, b.child.pid as number);
    const results = [await a.exited, await b.exited, await c];
    for (const res of results) expect(res.stderr).toBe('');
    for (const id of ids) expect((await readTask(sb, id)).fm.status).toBe('done');
    const entries = (await readFile(ledger, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[0]);
    expect(entries.sort()).toEqual(ids);
  });
});
