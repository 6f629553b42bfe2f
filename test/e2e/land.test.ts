import { mkdir, readFile, writeFile } from 'node:fs/promises';
import lockfile from 'proper-lockfile';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startDaemon, type DaemonHandle } from '../../src/daemon/start.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { progressEvents, taskText, type Sandbox } from '../helpers/repo.js';
import { readTask } from '../helpers/task.js';

const left = cleanUpAfterEach();

/**
 * rules.md for land mode. The test command appends "<task> <HEAD>" to a file outside the repo, so the test
 * can count runs and see which commit each ran on (HEAD is the start commit for the attempt's own test run,
 * the rebased commit for a retest). `extra` runs after that, still inside the test command.
 */
function landRules(runs: string, extra = ''): string {
  // The gates and the run log are files outside the worktree, which the sandbox hides.
  return `---\nsandbox: none\nbase: main\npush: land\nmax_attempts: 2\ntest: 'echo "$NIGHTSHIFT_TASK_ID $(git rev-parse HEAD)" >> ${runs}${extra}'\n---\nRules.\n`;
}

/** Commits rules.md and pushes it, as a user would: their checkout then has nothing uncommitted. */
async function setRules(s: Sandbox, text: string): Promise<void> {
  await s.write('rules.md', text);
  await s.git(['commit', '--quiet', '-am', 'land mode']);
  await s.git(['push', '--quiet', 'origin', 'main']);
}

/**
 * One gated task (001-t, writes t.txt) and a human with their own clone: the human pushes h1 once the task
 * runs (so the task must rebase, and retest), and pushes again from inside each test run whose count
 * matches `when` (a `[ n <when> ]` test): that is after the task fetched base and before its push.
 */
async function humanRace(s: Sandbox, runs: string, when: string): Promise<{ initial: string; handle: DaemonHandle }> {
  const gate = join(s.dir, 'gate');
  const human = join(s.dir, 'human');
  const push = `n=$(wc -l < ${runs}); if [ "$n" ${when} ]; then cd ${human} && echo h$n > h$n.txt && git add h$n.txt && git commit -qm h$n && git push -q origin main; fi`;
  await setRules(s, landRules(runs, `; ${push}`));
  const initial = (await s.git(['rev-parse', 'HEAD'])).trim();
  await s.git(['clone', '--quiet', s.remote, human], s.dir);
  await s.git(['config', 'user.name', 'Human'], human);
  await s.git(['config', 'user.email', 'human@example.invalid'], human);
  await s.write('tasks/001-t.md', taskText({ title: 'T', run: gated(gate, 'echo t > t.txt') }));
  // The user works on another branch: nobody has main checked out, so landing may bring it along.
  await s.git(['checkout', '--quiet', '-b', 'work']);
  const handle = left.daemon(await startDaemon({ cwd: s.repo, once: true, concurrency: 1, worktreeRoot: join(s.dir, 'wt') }));
  handle.events.once('task:claimed', () => {
    void (async () => {
      await writeFile(join(human, 'h1.txt'), 'h1\n');
      await s.git(['add', '--all'], human);
      await s.git(['commit', '--quiet', '-m', 'h1'], human);
      await s.git(['push', '--quiet', 'origin', 'main'], human);
      await writeFile(gate, '');
    })();
  });
  return { initial, handle };
}

/** An executor that waits for the test to open the gate, so every task starts from the same base. */
const gated = (gate: string, change: string) => `while [ ! -f ${gate} ]; do sleep 0.05; done; ${change}`;

/** Starts the daemon (--once) and opens the gate once `n` tasks are running. */
async function runGated(s: Sandbox, gate: string, n: number, concurrency = n): Promise<Awaited<DaemonHandle['done']>> {
  const daemon = left.daemon(await startDaemon({ cwd: s.repo, once: true, concurrency, worktreeRoot: join(s.dir, 'wt') }));
  const claimed = new Set<string>();
  daemon.events.on('task:claimed', ({ id }) => {
    claimed.add(id);
    if (claimed.size === n) void writeFile(gate, '');
  });
  return daemon.done;
}

const remoteGit = (s: Sandbox, args: string[]) => s.git(args, s.remote);
const lines = (text: string) => text.split('\n').filter(Boolean);
const events = async (s: Sandbox) => progressEvents(await s.read('progress.txt'));

/** The remote's main since `from`, oldest first, as { sha, parents }. */
async function remoteHistory(s: Sandbox, from: string): Promise<Array<{ sha: string; parents: string[] }>> {
  const out = await remoteGit(s, ['log', '--reverse', '--format=%H %P', `${from}..main`]);
  return lines(out).map((l) => {
    const [sha, ...parents] = l.split(' ');
    return { sha: sha as string, parents };
  });
}

describe('push: land', () => {
  it('lands three racing tasks one at a time: linear base, each rebased and retested, nothing lost, local main untouched', async () => {
    const s = await left.sandbox({ rules: '' });
    const runs = join(s.dir, 'runs.txt');
    const gate = join(s.dir, 'gate');
    await setRules(s, landRules(runs));
    const initial = (await s.git(['rev-parse', 'HEAD'])).trim();
    const ids = ['001-a', '002-b', '003-c'];
    for (const id of ids) {
      const name = id.slice(4);
      await s.write(`tasks/${id}.md`, taskText({ title: `Add ${name}`, run: gated(gate, `echo ${name} > ${name}.txt`) }));
    }

    const summary = await runGated(s, gate, 3);
    expect(summary).toMatchObject({ done: 3, failed: 0, blocked: 0 });

    // Linear: one commit per task on top of the start, each the only parent of the next.
    const history = await remoteHistory(s, initial);
    expect(history).toHaveLength(3);
    history.forEach((c, i) => expect(c.parents).toEqual([i === 0 ? initial : history[i - 1]?.sha]));

    // Each task is done with commit: = its landed commit on the remote's main, in landing order.
    const landed = (await events(s)).filter((e) => e.event === 'landed');
    expect(landed.map((e) => e.fields.rebased).sort()).toEqual(['no', 'yes', 'yes']);
    expect(landed.every((e) => e.fields.rounds === '1' && e.fields.base === 'main' && e.fields.local_base === 'checked-out')).toBe(true);
    const commits: Record<string, string> = {};
    for (const id of ids) {
      const { fm } = await readTask(s, id);
      expect(fm).toMatchObject({ status: 'done', attempts: 1, branch: `nightshift/${id}` });
      commits[id] = String(fm.commit);
      expect(await remoteGit(s, ['log', '-1', '--format=%(trailers:key=Nightshift-Task,valueonly)', commits[id]])).toContain(id);
      // The kept branch is the landed commit, locally and on the remote.
      expect((await remoteGit(s, ['rev-parse', `refs/heads/nightshift/${id}`])).trim()).toBe(commits[id]);
    }
    expect(landed.map((e) => commits[e.id]?.slice(0, 7))).toEqual(landed.map((e) => e.fields.commit));
    expect(history.map((c) => c.sha)).toEqual(landed.map((e) => commits[e.id]));
    // No change lost: every task's file is on the remote's main.
    for (const name of ['a', 'b', 'c']) expect(await remoteGit(s, ['show', `main:${name}.txt`])).toBe(`${name}\n`);

    // Tests: once per task on its start commit, and once more on the rebased commit for the two that rebased.
    const testRuns = lines(await readFile(runs, 'utf8'));
    expect(testRuns).toHaveLength(5);
    for (const id of ids) expect(testRuns).toContain(`${id} ${initial}`);
    for (const e of landed.filter((l) => l.fields.rebased === 'yes')) expect(testRuns).toContain(`${e.id} ${commits[e.id]}`);

    // The user's checkout: still on main at the initial commit, nothing changed but the task files.
    expect((await s.git(['rev-parse', 'refs/heads/main'])).trim()).toBe(initial);
    expect((await s.git(['symbolic-ref', 'HEAD'])).trim()).toBe('refs/heads/main');
    const status = lines(await s.git(['status', '--porcelain', '--untracked-files=all']));
    expect(status.length).toBeGreaterThan(0);
    for (const line of status) expect(line).toMatch(/^\?\? tasks\//);
  });

  it('sends a task whose change conflicts with what landed first back for an attempt on the new base', async () => {
    const s = await left.sandbox({ rules: '', files: { 'shared.txt': 'one\n' } });
    const runs = join(s.dir, 'runs.txt');
    const gate = join(s.dir, 'gate');
    await setRules(s, landRules(runs));
    const initial = (await s.git(['rev-parse', 'HEAD'])).trim();
    await s.write('tasks/001-a.md', taskText({ title: 'A', run: gated(gate, 'echo A > shared.txt') }));
    await s.write('tasks/002-b.md', taskText({ title: 'B', run: gated(gate, 'echo B > shared.txt') }));

    const summary = await runGated(s, gate, 2);
    expect(summary).toMatchObject({ done: 2, failed: 0 });

    const all = await events(s);
    const [winner, loser] = all.filter((e) => e.event === 'landed').map((e) => e.id) as [string, string];
    const failed = all.filter((e) => e.event === 'attempt-failed');
    expect(failed.map((e) => e.id)).toEqual([loser]);
    const kept = `nightshift-conflict/${loser}/attempt-1`;
    expect(failed[0]?.fields.reason).toMatch(
      new RegExp(`^land conflict: shared\\.txt changed on origin/main \\(now [0-9a-f]{7}\\) .*kept as branch ${kept}$`),
    );

    // The retry started from the landed base, was told which paths conflicted, and landed on top.
    const w = await readTask(s, winner);
    const l = await readTask(s, loser);
    expect(w.fm).toMatchObject({ status: 'done', attempts: 1 });
    expect(l.fm).toMatchObject({ status: 'done', attempts: 2, base_commit: w.fm.commit });
    expect(l.fm.error ?? null).toBeNull();
    const prompt = await s.read(`.nightshift/logs/${loser}/2.prompt.md`);
    expect(prompt).toContain('# The previous attempt failed');
    expect(prompt).toMatch(/Conflicting paths:\n- shared\.txt\n/);
    expect(prompt).toContain(`git show ${kept}`);
    // The conflicting commit is kept: the loser's first change, on the old base.
    expect(await s.git(['show', `${kept}:shared.txt`])).toBe(`${loser === '001-a' ? 'A' : 'B'}\n`);
    expect((await s.git(['rev-parse', `${kept}^`])).trim()).toBe(initial);

    const history = await remoteHistory(s, initial);
    expect(history).toEqual([
      { sha: w.fm.commit, parents: [initial] },
      { sha: l.fm.commit, parents: [w.fm.commit] },
    ]);
    expect(await remoteGit(s, ['show', 'main:shared.txt'])).toBe(`${loser === '001-a' ? 'A' : 'B'}\n`);
  });

  it('does not land a commit whose retest fails after the rebase', async () => {
    const s = await left.sandbox({ rules: '' });
    const runs = join(s.dir, 'runs.txt');
    const gate = join(s.dir, 'gate');
    // Each change passes on its own; together they fail, which only the retest after the rebase can see.
    await setRules(s, landRules(runs, '; ! { [ -f a.txt ] && [ -f b.txt ]; }'));
    const initial = (await s.git(['rev-parse', 'HEAD'])).trim();
    await s.write('tasks/001-a.md', taskText({ title: 'A', run: gated(gate, 'echo a > a.txt') }));
    await s.write('tasks/002-b.md', taskText({ title: 'B', run: gated(gate, 'echo b > b.txt') }));

    const summary = await runGated(s, gate, 2);
    expect(summary).toMatchObject({ done: 1, failed: 1 });
    const all = await events(s);
    const winner = all.find((e) => e.event === 'landed')?.id as string;
    const loser = winner === '001-a' ? '002-b' : '001-a';
    const failures = all.filter((e) => e.event === 'attempt-failed');
    expect(failures.map((e) => `${e.id} ${e.fields.attempt}`)).toEqual([`${loser} 1`, `${loser} 2`]);
    expect(failures[0]?.fields.reason).toMatch(/^after rebasing onto origin\/main [0-9a-f]{7}: tests failed \(exit 1\)/);
    // The retry started on the new base, where its own test run already fails.
    expect(failures[1]?.fields.reason).toMatch(/^tests failed \(exit 1\)/);
    expect((await readTask(s, loser)).fm).toMatchObject({
      status: 'failed',
      attempts: 2,
      base_commit: (await readTask(s, winner)).fm.commit,
    });
    expect((await remoteHistory(s, initial)).map((c) => c.sha)).toEqual([(await readTask(s, winner)).fm.commit]);
  });

  it('rebases and retests again when a human pushes to base while the task lands, and brings a local main that is not checked out along', async () => {
    const s = await left.sandbox({ rules: '' });
    const runs = join(s.dir, 'runs.txt');
    // The human pushes once before the task lands (so it must rebase), and once more from inside the retest,
    // that is after the task fetched base and before it pushes: its lease must refuse, and round 2 lands.
    const { initial, handle } = await humanRace(s, runs, '-eq 2');
    const summary = await handle.done;
    expect(summary).toMatchObject({ done: 1, failed: 0 });

    const landed = (await events(s)).filter((e) => e.event === 'landed');
    expect(landed).toHaveLength(1);
    expect(landed[0]?.fields).toMatchObject({ rebased: 'yes', rounds: '2', local_base: 'updated' });
    const { fm } = await readTask(s, '001-t');
    const history = await remoteHistory(s, initial);
    expect(history).toHaveLength(3);
    history.forEach((c, i) => expect(c.parents).toEqual([i === 0 ? initial : history[i - 1]?.sha]));
    expect(history[2]?.sha).toBe(fm.commit);
    for (const name of ['h1', 'h2', 't']) expect(await remoteGit(s, ['show', `main:${name}.txt`])).toBe(`${name}\n`);
    // Tested on its start commit, after the first rebase (onto h1) and after the second (onto h2).
    const testRuns = lines(await readFile(runs, 'utf8'));
    expect(testRuns).toHaveLength(3);
    expect(testRuns[2]).toBe(`001-t ${String(fm.commit)}`);
    // Nobody had main checked out, so it followed the remote (a fast-forward).
    expect((await s.git(['rev-parse', 'refs/heads/main'])).trim()).toBe(fm.commit);
    expect((await s.git(['symbolic-ref', 'HEAD'])).trim()).toBe('refs/heads/work');
  });

  it('gives up clearly after 5 rounds when base keeps moving, keeping the commit on the task branch', async () => {
    const s = await left.sandbox({ rules: '' });
    const runs = join(s.dir, 'runs.txt');
    // Every retest is followed by another human push: no round's lease can hold.
    const { handle } = await humanRace(s, runs, '-ge 2');
    const summary = await handle.done;
    expect(summary).toMatchObject({ done: 0, failed: 1 });

    const { fm } = await readTask(s, '001-t');
    expect(fm).toMatchObject({ status: 'failed', attempts: 1, branch: 'nightshift/001-t' });
    expect(fm.error).toBe(
      'cannot land: origin/main moved 5 times while this task was landing; the verified commit is kept on nightshift/001-t: requeue the task to publish it',
    );
    // Kept for a requeue to land without the executor: the last rebased and retested commit, on its branch.
    expect((await s.git(['rev-parse', 'nightshift/001-t'])).trim()).toBe(fm.commit);
    // Its start commit, then one retest per round; nothing of the task reached the remote's main.
    expect(lines(await readFile(runs, 'utf8'))).toHaveLength(6);
    expect((await remoteGit(s, ['log', '--format=%(trailers:key=Nightshift-Task,valueonly)', 'main'])).trim()).toBe('');
    expect(lines(await remoteGit(s, ['log', '--format=%s', 'main']))).toEqual(['h6', 'h5', 'h4', 'h3', 'h2', 'h1', 'land mode', 'initial']);
    expect(await s.git(['show', 'nightshift/001-t:t.txt'])).toBe('t\n');
    expect((await events(s)).some((e) => e.event === 'landed')).toBe(false);
  });

  it('never lands a task cancelled while it waited for another lander (fencing before the push to base)', async () => {
    const s = await left.sandbox({ rules: '' });
    await setRules(s, '---\nbase: main\npush: land\n---\n');
    const initial = (await s.git(['rev-parse', 'HEAD'])).trim();
    await s.write('tasks/001-t.md', taskText({ title: 'T', run: 'echo t > t.txt' }));
    // Another daemon sharing the queue is landing: it holds the land lock until the test lets go.
    const lock = join(s.repo, '.nightshift', 'locks', '_land');
    await mkdir(join(s.repo, '.nightshift', 'locks'), { recursive: true });
    const release = await lockfile.lock(lock, { realpath: false, lockfilePath: `${lock}.lock` });

    const daemon = left.daemon(await startDaemon({ cwd: s.repo, once: true, concurrency: 1, worktreeRoot: join(s.dir, 'wt') }));
    const committed = new Promise<void>((resolve) => daemon.events.on('progress', (line) => line.includes(' committed ') && resolve()));
    await committed;
    const cancelled = await s.cli(['cancel', '001-t']);
    expect(cancelled.code).toBe(0);
    await release();
    const summary = await daemon.done;

    expect(summary.done).toBe(0);
    expect((await readTask(s, '001-t')).fm.status).toBe('cancelled');
    expect((await events(s)).some((e) => e.event === 'landed')).toBe(false);
    expect((await remoteGit(s, ['rev-parse', 'main'])).trim()).toBe(initial);
  });
});
