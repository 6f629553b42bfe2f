import { execFileSync } from 'node:child_process';
import { existsSync, renameSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startDaemon, type DaemonHandle } from '../../src/daemon/start.js';
import { progressEvents, taskText, type Sandbox } from '../helpers/repo.js';
import { readTask, taskBranches } from '../helpers/task.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';

// Every rules.md here says sandbox: none: the executors and the test talk through files outside the worktree.

/**
 * Publishing exactly what was verified, and keeping verified work: what is pushed or landed is the commit
 * nightshift checked, whatever moves the branch; recovery finalizes only the commit it recorded; a push or
 * fetch failure keeps the verified commit and publishes it later without running the executor again.
 */
const left = cleanUpAfterEach();

const SHA = /^[0-9a-f]{40}$/;
const events = async (sb: Sandbox) => progressEvents(await sb.read('progress.txt').catch(() => ''));
const lines = (text: string) => text.split('\n').filter(Boolean);
const runsOf = async (file: string) => lines(await readFile(file, 'utf8').catch(() => ''));

/** git, synchronously: a progress hook runs it inside the daemon's own step, before the next one starts. */
function gitSync(sb: Sandbox, args: string[], cwd = sb.repo, input?: string): string {
  return execFileSync('git', args, { cwd, env: sb.env, encoding: 'utf8', input }).trim();
}

/** A commit made behind nightshift's back: `parent` plus one file, with the task's trailer forged. */
function forgeCommit(sb: Sandbox, parent: string, file: string, id: string): string {
  const index = join(sb.dir, `forge-${file}.index`);
  const env = { ...sb.env, GIT_INDEX_FILE: index };
  const run = (args: string[], input?: string) => execFileSync('git', args, { cwd: sb.repo, env, encoding: 'utf8', input }).trim();
  run(['read-tree', parent]);
  const blob = run(['hash-object', '-w', '--stdin'], 'forged\n');
  run(['update-index', '--add', '--cacheinfo', `100644,${blob},${file}`]);
  const tree = run(['write-tree']);
  return run(['commit-tree', tree, '-p', parent, '-m', `forged\n\nNightshift-Task: ${id}\n`]);
}

/** Commits rules.md and pushes it, so the user's checkout has nothing uncommitted. */
async function setRules(sb: Sandbox, text: string): Promise<string> {
  await sb.write('rules.md', text);
  await sb.git(['commit', '--quiet', '-am', 'rules']);
  await sb.git(['push', '--quiet', 'origin', 'main']);
  return (await sb.git(['rev-parse', 'HEAD'])).trim();
}

async function start(sb: Sandbox, onProgress?: (line: string) => void): Promise<DaemonHandle> {
  const d = await startDaemon({ cwd: sb.repo, once: true, concurrency: 1, worktreeRoot: join(sb.dir, 'wt'), onProgress });
  return left.daemon(d, { force: true });
}

/** The remote refuses the first `n` pushes (a pre-receive hook), then accepts. */
async function rejectPushes(sb: Sandbox, n: number): Promise<void> {
  const count = join(sb.dir, 'rejections');
  const hook = `#!/bin/sh\nn=$(cat '${count}' 2>/dev/null || echo 0)\nif [ "$n" -lt ${n} ]; then echo $((n+1)) > '${count}'; echo "remote says no" >&2; exit 1; fi\nexit 0\n`;
  await writeFile(join(sb.remote, 'hooks', 'pre-receive'), hook, { mode: 0o755 });
}

/** An executor that counts its runs in `runs` and makes one change. */
const counted = (runs: string, change: string) => `echo run >> '${runs}'; ${change}`;

describe('what is published is the commit that was checked', () => {
  it('push: branch pushes the checked commit even when the branch moves between the commit and the push', async () => {
    const sb = await left.sandbox('---\nsandbox: none\npush: branch\n---\n');
    const base = (await sb.git(['rev-parse', 'HEAD'])).trim();
    const forged = forgeCommit(sb, base, 'evil.txt', '001-moved');
    await sb.write('tasks/001-moved.md', taskText({ title: 'Moved', run: 'echo t > t.txt' }));
    // Whatever runs meanwhile (a process the executor left, a hook) moves the branch right after the commit.
    const d = await start(sb, (line) => {
      if (/ 001-moved committed /.test(line)) gitSync(sb, ['update-ref', 'refs/heads/nightshift/001-moved', forged]);
    });
    expect(await d.done).toMatchObject({ done: 1, failed: 0 });

    const { fm } = await readTask(sb, '001-moved');
    const committed = (await events(sb)).find((e) => e.event === 'committed');
    expect(fm.status).toBe('done');
    expect(String(fm.commit)).toMatch(SHA);
    expect(String(fm.commit).slice(0, 7)).toBe(committed?.fields.commit);
    expect(fm.commit).not.toBe(forged);
    // The remote got the checked commit, and the task's branch holds it again.
    expect(await taskBranches(sb, '001-moved')).toEqual({ local: fm.commit, remote: fm.commit });
    expect(await sb.git(['show', `${String(fm.commit)}:t.txt`], sb.remote)).toBe('t\n');
    expect(await sb.git(['cat-file', '-t', forged], sb.remote).catch(() => 'missing')).toBe('missing');
  });

  it('push: land lands the checked commit, not a forged one the branch was moved to before the rebase', async () => {
    const sb = await left.sandbox('');
    const runs = join(sb.dir, 'tests.txt');
    const initial = await setRules(sb, `---\nsandbox: none\npush: land\ntest: 'echo "$(git rev-parse HEAD)" >> ${runs}'\n---\n`);
    const human = join(sb.dir, 'human');
    await sb.git(['clone', '--quiet', sb.remote, human], sb.dir);
    const forged = forgeCommit(sb, initial, 'evil.txt', '001-t');
    await sb.write('tasks/001-t.md', taskText({ title: 'T', run: 'echo t > t.txt' }));
    const d = await start(sb, (line) => {
      if (!/ 001-t committed /.test(line)) return;
      // Base moves (so the land must rebase), and the task's branch is pointed at a forged commit.
      gitSync(sb, ['-c', 'user.name=H', '-c', 'user.email=h@example.invalid', 'commit', '--quiet', '--allow-empty', '-m', 'h1'], human);
      gitSync(sb, ['push', '--quiet', 'origin', 'main'], human);
      gitSync(sb, ['update-ref', 'refs/heads/nightshift/001-t', forged]);
    });
    expect(await d.done).toMatchObject({ done: 1, failed: 0 });

    const { fm } = await readTask(sb, '001-t');
    const h1 = gitSync(sb, ['rev-parse', 'main'], human);
    expect(fm.status).toBe('done');
    // Landed on top of h1: the task's own change, rebased and retested; nothing of the forged commit.
    expect(await sb.git(['rev-parse', 'main'], sb.remote)).toBe(`${String(fm.commit)}\n`);
    expect(await sb.git(['rev-parse', `${String(fm.commit)}^`], sb.remote)).toBe(`${h1}\n`);
    expect(lines(await sb.git(['diff', '--name-only', h1, 'main'], sb.remote))).toEqual(['t.txt']);
    expect(lines(await sb.git(['ls-tree', '-r', '--name-only', 'main'], sb.remote))).not.toContain('evil.txt');
    expect(await runsOf(runs)).toEqual([initial, fm.commit]);
    expect(await taskBranches(sb, '001-t')).toEqual({ local: fm.commit, remote: fm.commit });
  });
});

describe('recovery finalizes only the recorded commit', () => {
  it("push: land never finalizes with another clone's commit carrying the same trailer; a recorded commit is landed, not redone", async () => {
    const sb = await left.sandbox('');
    const base = await setRules(sb, '---\nsandbox: none\npush: land\nconcurrency: 1\n---\n');
    const dead = Number(execFileSync('sh', ['-c', 'sh -c "echo \\$\\$"'], { encoding: 'utf8' }).trim());
    // Another clone landed commits of its own with the same trailers.
    const other = join(sb.dir, 'other');
    await sb.git(['clone', '--quiet', sb.remote, other], sb.dir);
    const cloneCommits: Record<string, string> = {};
    for (const id of ['001-r', '002-k']) {
      await writeFile(join(other, `clone-${id}.txt`), 'clone\n');
      await sb.git(['add', '--all'], other);
      await sb.git(
        ['-c', 'user.name=O', '-c', 'user.email=o@example.invalid', 'commit', '--quiet', '-m', `clone\n\nNightshift-Task: ${id}\n`],
        other,
      );
      cloneCommits[id] = (await sb.git(['rev-parse', 'HEAD'], other)).trim();
    }
    await sb.git(['push', '--quiet', 'origin', 'main'], other);
    // What a daemon killed while landing leaves: its own commit, recorded in its claim, only on the task's
    // branch. 002-k also has nightshift's record of it (written before the push); 001-r has none.
    const own: Record<string, string> = {};
    for (const id of ['001-r', '002-k']) {
      own[id] = forgeCommit(sb, base, `own-${id}.txt`, id);
      await sb.git(['branch', `nightshift/${id}`, own[id]]);
      await sb.write(
        `tasks/${id}.md`,
        taskText({
          title: id,
          run: `echo ${id} >> '${join(sb.dir, 'runs.txt')}'; echo again > again.txt`,
          status: 'running',
          attempts: 1,
          claimed_by: `${hostname()}:${dead}`,
          base_commit: base,
          branch: `nightshift/${id}`,
        }),
      );
      await mkdir(join(sb.repo, `.nightshift/locks/${id}.lock`), { recursive: true });
      await writeFile(
        join(sb.repo, `.nightshift/locks/${id}.lock/owner.json`),
        JSON.stringify({ host: hostname(), pid: dead, startedAt: new Date().toISOString(), commit: own[id] }),
      );
    }
    await mkdir(join(sb.repo, '.nightshift/verified'), { recursive: true });
    await writeFile(join(sb.repo, '.nightshift/verified/002-k.json'), JSON.stringify({ commit: own['002-k'], base_commit: base }));

    const d = await start(sb);
    expect(await d.done).toMatchObject({ done: 2, failed: 0 });
    const all = await events(sb);
    const remoteMain = lines(await sb.git(['log', '--format=%H', 'main'], sb.remote));
    for (const id of ['001-r', '002-k']) {
      const { fm } = await readTask(sb, id);
      expect(fm).toMatchObject({ status: 'done', attempts: 2 });
      // Not finalized with the clone's commit: the task's own change landed, on top of the clone's work.
      expect(fm.commit).not.toBe(cloneCommits[id]);
      expect(all.filter((e) => e.id === id && e.event === 'done').map((e) => e.fields.recovered)).toEqual([undefined]);
      expect(remoteMain).toContain(fm.commit);
      expect(remoteMain.indexOf(String(fm.commit))).toBeLessThan(remoteMain.indexOf(cloneCommits['002-k'] as string));
    }
    // 001-r: nothing says nightshift checked its commit: the executor ran again.
    expect(all.find((e) => e.id === '001-r' && e.event === 'recovered')?.fields).toMatchObject({ then: 'queued' });
    expect(await runsOf(join(sb.dir, 'runs.txt'))).toEqual(['001-r']);
    // 002-k: its recorded, verified commit was rebased and landed without the executor.
    const k = (await readTask(sb, '002-k')).fm;
    expect(all.filter((e) => e.id === '002-k').map((e) => e.event)).toEqual(['recovered', 'claimed', 'attempt-started', 'landed', 'done']);
    expect(all.find((e) => e.id === '002-k' && e.event === 'recovered')?.fields).toMatchObject({ then: 'queued', publish_only: 'yes' });
    expect(lines(await sb.git(['diff', '--name-only', `${String(k.commit)}^`, String(k.commit)], sb.remote))).toEqual(['own-002-k.txt']);
  });
});

describe('a push or fetch failure keeps the verified commit', () => {
  it('recovery whose push fails requeues the recorded commit and publishes it without the executor', async () => {
    const sb = await left.sandbox('');
    const base = await setRules(sb, '---\nsandbox: none\npush: branch\nretry_backoff: 1ms\n---\n');
    const id = '001-crashed';
    const ran = join(sb.dir, 'ran');
    const dead = Number(execFileSync('sh', ['-c', 'sh -c "echo \\$\\$"'], { encoding: 'utf8' }).trim());
    const own = forgeCommit(sb, base, 'own.txt', id);
    await sb.git(['branch', `nightshift/${id}`, own]);
    await sb.write(
      `tasks/${id}.md`,
      taskText({
        title: 'Crashed',
        run: `touch '${ran}'; echo again > again.txt`,
        status: 'running',
        attempts: 1,
        claimed_by: `${hostname()}:${dead}`,
        base_commit: base,
        branch: `nightshift/${id}`,
      }),
    );
    await mkdir(join(sb.repo, `.nightshift/locks/${id}.lock`), { recursive: true });
    await writeFile(
      join(sb.repo, `.nightshift/locks/${id}.lock/owner.json`),
      JSON.stringify({ host: hostname(), pid: dead, startedAt: new Date().toISOString(), commit: own }),
    );
    await rejectPushes(sb, 1);

    const d = await start(sb);
    expect(await d.done).toMatchObject({ done: 1, failed: 0 });
    const { fm } = await readTask(sb, id);
    expect(fm).toMatchObject({ status: 'done', commit: own, attempts: 2 });
    expect(existsSync(ran)).toBe(false);
    expect(await taskBranches(sb, id)).toEqual({ local: own, remote: own });
    const trail = (await events(sb)).filter((e) => e.id === id);
    expect(trail.map((e) => e.event)).toEqual(['recovered', 'requeued', 'claimed', 'attempt-started', 'pushed', 'done']);
    expect(trail[0]?.fields).toMatchObject({ then: 'finalize' });
    expect(trail[1]?.fields).toMatchObject({ publish_only: 'yes' });
    expect(trail[1]?.fields.reason).toMatch(/^push to origin failed: /);
    expect(trail[3]?.fields).toMatchObject({ attempt: '2', publish_only: 'yes' });
  });

  it.each(['branch', 'land'])('push: %s retries a refused push without running the executor again', async (mode) => {
    const sb = await left.sandbox('');
    const runs = join(sb.dir, 'runs.txt');
    await setRules(sb, `---\nsandbox: none\npush: ${mode}\nretry_backoff: 20ms\n---\n`);
    await rejectPushes(sb, 1);
    await sb.write('tasks/001-p.md', taskText({ title: 'P', run: counted(runs, 'echo p > p.txt') }));
    const d = await start(sb);
    expect(await d.done).toMatchObject({ done: 1, failed: 0 });

    const { fm } = await readTask(sb, '001-p');
    const trail = (await events(sb)).filter((e) => e.id === '001-p');
    const committed = trail.filter((e) => e.event === 'committed');
    expect(committed).toHaveLength(1);
    expect(fm).toMatchObject({ status: 'done', attempts: 1 });
    expect(String(fm.commit).slice(0, 7)).toBe(committed[0]?.fields.commit);
    expect(await runsOf(runs)).toEqual(['run']);
    const published = mode === 'land' ? 'landed' : 'pushed';
    expect(trail.map((e) => e.event)).toEqual([
      'claimed',
      'attempt-started',
      'committed',
      'attempt-failed',
      'retry-scheduled',
      'attempt-started',
      published,
      'done',
    ]);
    expect(trail[3]?.fields.reason).toMatch(
      mode === 'land' ? /^cannot land: pushing to origin\/main failed: .*remote says no|pre-receive/ : /^push to origin failed: /,
    );
    expect(trail[4]?.fields).toMatchObject({ attempt: '1', publish_only: 'yes' });
    expect(trail[5]?.fields).toMatchObject({ attempt: '1', publish_only: 'yes' });
    expect((await taskBranches(sb, '001-p')).remote).toBe(fm.commit);
    if (mode === 'land') expect(await sb.git(['rev-parse', 'main'], sb.remote)).toBe(`${String(fm.commit)}\n`);
  });

  it('push: land finishes a kept commit that already reached base (a push reported failed after the remote took it)', async () => {
    const sb = await left.sandbox('');
    const runs = join(sb.dir, 'runs.txt');
    const base = await setRules(sb, '---\nsandbox: none\npush: land\n---\n');
    const id = '001-there';
    const kept = forgeCommit(sb, base, 'there.txt', id);
    await sb.git(['branch', `nightshift/${id}`, kept]);
    await sb.git(['push', '--quiet', 'origin', `${kept}:refs/heads/main`]);
    await sb.write(
      `tasks/${id}.md`,
      taskText({
        title: 'There',
        run: counted(runs, 'echo again > again.txt'),
        attempts: 1,
        base_commit: base,
        branch: `nightshift/${id}`,
        commit: kept,
        error: 'cannot land: pushing to origin/main failed: the connection dropped',
      }),
    );
    await mkdir(join(sb.repo, '.nightshift/verified'), { recursive: true });
    await writeFile(join(sb.repo, `.nightshift/verified/${id}.json`), JSON.stringify({ commit: kept, base_commit: base }));

    const d = await start(sb);
    expect(await d.done).toMatchObject({ done: 1, failed: 0 });
    expect((await readTask(sb, id)).fm).toMatchObject({ status: 'done', commit: kept, attempts: 2 });
    expect(existsSync(runs)).toBe(false);
    expect(await sb.git(['rev-parse', 'main'], sb.remote)).toBe(`${kept}\n`);
    const trail = (await events(sb)).filter((e) => e.id === id);
    expect(trail.map((e) => e.event)).toEqual(['claimed', 'attempt-started', 'landed', 'done']);
    expect(trail[2]?.fields).toMatchObject({ rebased: 'no', rounds: '1' });
  });

  it('a daemon stopped while it waits to push again requeues the task with its verified commit; the next start only pushes it', async () => {
    const sb = await left.sandbox('');
    const runs = join(sb.dir, 'runs.txt');
    await setRules(sb, '---\nsandbox: none\npush: branch\nretry_backoff: 10m\n---\n');
    await rejectPushes(sb, 1);
    await sb.write('tasks/001-s.md', taskText({ title: 'S', run: counted(runs, 'echo s > s.txt') }));
    let waiting: () => void = () => undefined;
    const scheduled = new Promise<void>((resolve) => (waiting = resolve));
    const d = await start(sb, (line) => {
      if (/ 001-s retry-scheduled /.test(line)) waiting();
    });
    await scheduled;
    await d.stop();
    await d.done;
    const stopped = (await readTask(sb, '001-s')).fm;
    expect(stopped).toMatchObject({ status: 'queued', attempts: 1, branch: 'nightshift/001-s' });
    expect(String(stopped.commit)).toMatch(SHA);
    expect(String(stopped.error)).toMatch(/^push to origin failed: /);

    const again = await start(sb);
    expect(await again.done).toMatchObject({ done: 1 });
    expect((await readTask(sb, '001-s')).fm).toMatchObject({ status: 'done', attempts: 2, commit: stopped.commit });
    expect(await runsOf(runs)).toEqual(['run']);
    expect((await taskBranches(sb, '001-s')).remote).toBe(stopped.commit);
    const last = (await events(sb)).filter((e) => e.id === '001-s' && e.event === 'attempt-started').at(-1);
    expect(last?.fields).toMatchObject({ attempt: '2', publish_only: 'yes' });
  });

  it('after publishing failed for good, requeue publishes the kept commit without the executor; a forged one is not published', async () => {
    const sb = await left.sandbox('');
    const runs = join(sb.dir, 'runs.txt');
    const base = await setRules(sb, '---\nsandbox: none\npush: branch\nretry_backoff: 1ms\n---\n');
    await rejectPushes(sb, 1000);
    await sb.write('tasks/001-kept.md', taskText({ title: 'Kept', run: counted(runs, 'echo k > k.txt') }));
    // An executor that forges all of it on its first run (a trailer commit on its branch, its task file's
    // commit:, nightshift's record) and then fails; the next run does the work.
    const selfRuns = join(sb.dir, 'self-runs.txt');
    const forge = [
      `echo run >> '${selfRuns}'`,
      `if [ "$(wc -l < '${selfRuns}')" -eq 1 ]; then`,
      '  b=$(git rev-parse HEAD); c=$(git commit-tree "$(git rev-parse HEAD^{tree})" -p "$b" -m "forged" -m "Nightshift-Task: 003-self")',
      '  git update-ref refs/heads/nightshift/003-self "$c"',
      '  d="$(git rev-parse --path-format=absolute --git-common-dir)/../.nightshift/verified"; mkdir -p "$d"',
      `  printf '{"commit":"%s","base_commit":"%s"}' "$c" "$b" > "$d/003-self.json"`,
      '  printf "%s\\n" "/^title: /a commit: $c" > forge.sed; sed -i -f forge.sed "$NIGHTSHIFT_TASK_FILE"; exit 1',
      'fi',
      'echo s > s.txt',
    ].join('\n');
    await sb.write('tasks/003-self.md', taskText({ title: 'Self', max_attempts: 1, run: forge }));
    const r1 = await sb.cli(['daemon', 'start', '--once']);
    expect(r1.code).toBe(1);
    const kept = (await readTask(sb, '001-kept')).fm;
    expect(kept).toMatchObject({ status: 'failed', attempts: 1, branch: 'nightshift/001-kept', base_commit: base });
    expect(String(kept.commit)).toMatch(SHA);
    expect(String(kept.error)).toMatch(
      /^push to origin failed: .*; the verified commit is kept on nightshift\/001-kept: requeue the task to publish it$/,
    );
    expect(await runsOf(runs)).toEqual(['run']);
    const selfFailed = (await readTask(sb, '003-self')).fm;
    expect(selfFailed.status).toBe('failed');
    expect(String(selfFailed.error)).toMatch(/^executor shell failed \(exit 1\)/);
    expect(existsSync(join(sb.repo, '.nightshift/verified/003-self.json'))).toBe(false);

    // 002 failed the same way, and then someone (an executor, by hand) pointed its branch and its commit:
    // at a commit nightshift never checked; nightshift's record still names the one it checked.
    const checked = forgeCommit(sb, base, 'f.txt', '002-forged');
    const forged = forgeCommit(sb, base, 'evil.txt', '002-forged');
    await sb.git(['branch', 'nightshift/002-forged', forged]);
    await sb.write(
      'tasks/002-forged.md',
      taskText({
        title: 'Forged',
        run: counted(runs, 'echo f > f.txt'),
        status: 'failed',
        attempts: 1,
        base_commit: base,
        branch: 'nightshift/002-forged',
        commit: forged,
        error: 'push to origin failed: remote says no',
      }),
    );
    await writeFile(join(sb.repo, '.nightshift/verified/002-forged.json'), JSON.stringify({ commit: checked, base_commit: base }));

    await rm(join(sb.remote, 'hooks', 'pre-receive'));
    expect((await sb.cli(['requeue', '001-kept', '002-forged', '003-self'])).code).toBe(0);
    const r2 = await sb.cli(['daemon', 'start', '--once']);
    expect(r2.stderr).toBe('');
    expect(r2.code).toBe(0);

    // 001: the same commit, published, the executor not run again.
    const after = (await readTask(sb, '001-kept')).fm;
    expect(after).toMatchObject({ status: 'done', attempts: 1, commit: kept.commit });
    expect(await taskBranches(sb, '001-kept')).toEqual({ local: kept.commit, remote: kept.commit });
    const second = (await events(sb)).filter((e) => e.id === '001-kept' && e.event === 'attempt-started').at(-1);
    expect(second?.fields).toMatchObject({ attempt: '1', publish_only: 'yes' });
    // 002: the forged commit is not nightshift's: the executor runs again and its own new commit is pushed.
    const redone = (await readTask(sb, '002-forged')).fm;
    expect(redone.status).toBe('done');
    expect(redone.commit).not.toBe(forged);
    expect(redone.commit).not.toBe(checked);
    expect(await sb.git(['show', `${String(redone.commit)}:f.txt`])).toBe('f\n');
    expect((await taskBranches(sb, '002-forged')).remote).toBe(redone.commit);
    expect(await runsOf(runs)).toEqual(['run', 'run']);
    // 003: nothing it forged was taken for a kept commit: it ran again, and its real change was pushed.
    const self = (await readTask(sb, '003-self')).fm;
    expect(self).toMatchObject({ status: 'done', attempts: 1 });
    expect(await runsOf(selfRuns)).toEqual(['run', 'run']);
    expect(await sb.git(['show', `${String(self.commit)}:s.txt`])).toBe('s\n');
    expect(await sb.git(['rev-parse', `${String(self.commit)}^`])).toBe(`${base}\n`);
    expect((await taskBranches(sb, '003-self')).remote).toBe(self.commit);
  });
});

describe('push: land reaches the remote before the executor starts', () => {
  it('waits out an unreachable remote without starting the executor or spending an attempt', async () => {
    const sb = await left.sandbox('');
    const runs = join(sb.dir, 'runs.txt');
    await setRules(sb, '---\nsandbox: none\npush: land\nretry_backoff: 20ms\n---\n');
    await sb.write('tasks/001-u.md', taskText({ title: 'U', run: counted(runs, 'echo u > u.txt') }));
    const away = `${sb.remote}.away`;
    renameSync(sb.remote, away);
    let ranWhileAway: boolean | undefined;
    const d = await start(sb, (line) => {
      if (ranWhileAway !== undefined || !/ 001-u retry-scheduled /.test(line)) return;
      ranWhileAway = existsSync(runs);
      renameSync(away, sb.remote);
    });
    expect(await d.done).toMatchObject({ done: 1, failed: 0 });
    expect(ranWhileAway).toBe(false);
    expect(await runsOf(runs)).toEqual(['run']);
    const { fm } = await readTask(sb, '001-u');
    expect(fm).toMatchObject({ status: 'done', attempts: 1 });
    expect(await sb.git(['rev-parse', 'main'], sb.remote)).toBe(`${String(fm.commit)}\n`);
    const trail = (await events(sb)).filter((e) => e.id === '001-u');
    expect(trail.map((e) => e.event)).toEqual(['claimed', 'retry-scheduled', 'attempt-started', 'committed', 'landed', 'done']);
    expect(trail[1]?.fields).toMatchObject({ attempt: '1' });
    expect(trail[1]?.fields.reason).toMatch(/^cannot reach origin: fetching origin\/main failed: /);
  });

  it('blocks the task, executor never started, when the remote stays unreachable', async () => {
    const sb = await left.sandbox('');
    const runs = join(sb.dir, 'runs.txt');
    await setRules(sb, '---\nsandbox: none\npush: land\nretry_backoff: 1ms\n---\n');
    await sb.write('tasks/001-gone.md', taskText({ title: 'Gone', run: counted(runs, 'echo g > g.txt') }));
    renameSync(sb.remote, `${sb.remote}.away`);
    const d = await start(sb);
    expect(await d.done).toMatchObject({ done: 0, blocked: 1 });
    expect(existsSync(runs)).toBe(false);
    const { fm } = await readTask(sb, '001-gone');
    expect(fm).toMatchObject({ status: 'blocked', attempts: 0 });
    expect(String(fm.error)).toMatch(/^cannot reach origin: fetching origin\/main failed: .*; fix access to origin, then requeue$/);
    const trail = (await events(sb)).filter((e) => e.id === '001-gone').map((e) => e.event);
    expect(trail.filter((e) => e === 'retry-scheduled')).toHaveLength(8);
    expect(trail.includes('attempt-started')).toBe(false);
  });
});
