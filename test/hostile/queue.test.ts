import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startDaemon, type DaemonHandle } from '../../src/daemon/start.js';
import { failedHeadOfChain } from '../helpers/chain.js';
import { progressEvents, taskText, type Sandbox } from '../helpers/repo.js';
import { readTask } from '../helpers/task.js';
import { waitFor } from '../helpers/wait.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';

const { sandbox } = cleanUpAfterEach();
// Every rules.md here says sandbox: none: the executors and the test talk through files outside the worktree.

/**
 * A shell task that records each run in `runs` (one line per run), then waits for the test to create
 * `go` before making its change: the test acts on the task file while the task runs.
 */
function waitingTask(sb: Sandbox, name: string, title: string): { text: string; runs: string; go: string } {
  const runs = join(sb.dir, `${name}.runs`);
  const go = join(sb.dir, `${name}.go`);
  const run = `echo run >> '${runs}'; n=0; while [ ! -f '${go}' ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n+1)); done; echo ${name} > ${name}.txt`;
  return { text: taskText({ title, run }), runs, go };
}

const runCount = async (file: string) => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;

async function watchDaemon(sb: Sandbox): Promise<DaemonHandle> {
  return startDaemon({ cwd: sb.repo, worktreeRoot: join(sb.dir, 'wt'), rescanMs: 200 });
}

/** The events of one task, without the timestamps. */
const linesOf = async (sb: Sandbox, id: string) => (await events(sb)).filter((e) => e.id === id).map((e) => e.event);

const events = async (sb: Sandbox) => progressEvents(await sb.read('progress.txt').catch(() => ''));

describe('limits that agree', () => {
  it('a 1,000-task chain whose head fails is blocked whole in the one scan after the failure', async () => {
    // The 10,000-task variant is in test/chaos/hostile-chain.chaos.ts (writing its files alone takes a while).
    const sb = await sandbox('---\nsandbox: none\n---\n');
    const seconds = await failedHeadOfChain(sb, 1000);
    console.log(`chain of 1,000: blocked 999 dependents in ${seconds.toFixed(2)} s after the head failed`);
    expect(seconds).toBeLessThan(30);
  }, 120_000);

  it('a concurrency the worktree pool cannot hold is a configuration error at start, not failed tasks', async () => {
    const sb = await sandbox('---\nsandbox: none\nconcurrency: 1000\n---\n');
    await sb.write('tasks/001-a.md', taskText({ title: 'A', run: 'echo a > a.txt' }));
    const fromRules = await sb.cli(['daemon', 'start', '--once']);
    expect(fromRules.code).toBe(2);
    expect(fromRules.stderr).toContain(
      'concurrency: 1000 is more than the worktree pool can hold (at most 256 tasks at once); use 256 or less',
    );

    await sb.write('rules.md', '---\n---\n');
    const fromFlag = await sb.cli(['daemon', 'start', '--once', '--concurrency', '257']);
    expect(fromFlag.code).toBe(2);
    expect(fromFlag.stderr).toContain('--concurrency 257 is more than the worktree pool can hold (at most 256 tasks at once)');
    expect(fromFlag.stderr).toContain('--concurrency 256');
    // Nothing ran, nothing was written.
    expect((await readTask(sb, '001-a')).fm.status).toBeUndefined();
    expect(await events(sb)).toEqual([]);

    const ok = await sb.cli(['daemon', 'start', '--once', '--concurrency', '256']);
    expect(ok.code).toBe(0);
    expect((await readTask(sb, '001-a')).fm.status).toBe('done');
  }, 60_000);
});

describe('one run per claim, whatever happens to the file', () => {
  it('a running task whose file is unparsable for a while (a non-atomic save) runs once, and its status waits for the file', async () => {
    const sb = await sandbox('---\nsandbox: none\n---\n');
    const file = join(sb.repo, 'tasks', '001-edited.md');
    const t = waitingTask(sb, 'edited', 'Edited while running');
    await writeFile(file, t.text);
    const daemon = await watchDaemon(sb);
    try {
      await waitFor('the executor to start', async () => (await runCount(t.runs)) === 1);
      const running = await readFile(file, 'utf8');
      expect(running).toContain('status: running');
      // An editor that truncates and rewrites in place: empty for now.
      await writeFile(file, '');
      await waitFor('the file reported invalid', async () => (await linesOf(sb, '001-edited')).includes('invalid'));
      // The attempt ends (checks, commit) while the file still does not parse: nothing is written into it.
      await writeFile(t.go, '');
      await waitFor(
        'the run to wait for the file',
        async () => (await readFile(join(sb.repo, '.nightshift/daemon.log'), 'utf8')).includes('task file does not parse'),
        30_000,
      );
      expect(await readFile(file, 'utf8')).toBe('');
      // The save completes: the status goes in.
      await writeFile(file, running);
      await waitFor('done', async () => (await readTask(sb, '001-edited')).fm.status === 'done', 30_000);
    } finally {
      await daemon.stop();
    }
    expect(await runCount(t.runs)).toBe(1);
    expect(await linesOf(sb, '001-edited')).toEqual(['claimed', 'attempt-started', 'invalid', 'committed', 'done']);
  }, 60_000);

  it('a running task whose file is renamed runs once: the status goes into the renamed file, with one renamed line', async () => {
    const sb = await sandbox('---\nsandbox: none\n---\n');
    const t = waitingTask(sb, 'moved', 'Renamed while running');
    await writeFile(join(sb.repo, 'tasks', '001-old.md'), t.text);
    const daemon = await watchDaemon(sb);
    try {
      await waitFor('the executor to start', async () => (await runCount(t.runs)) === 1);
      await rename(join(sb.repo, 'tasks', '001-old.md'), join(sb.repo, 'tasks', '002-new.md'));
      await waitFor('the rename reported', async () => (await linesOf(sb, '002-new')).includes('renamed'));
      await writeFile(t.go, '');
      await waitFor('done', async () => (await readTask(sb, '002-new')).fm.status === 'done', 30_000);
    } finally {
      await daemon.stop();
    }
    expect(await runCount(t.runs)).toBe(1);
    expect(existsSync(join(sb.repo, 'tasks', '001-old.md'))).toBe(false);
    const fm = (await readTask(sb, '002-new')).fm;
    expect(fm).toMatchObject({ status: 'done', branch: 'nightshift/001-old', attempts: 1 });
    expect(fm.claimed_by).toBeUndefined();
    const all = await events(sb);
    expect(all.find((e) => e.event === 'renamed')).toMatchObject({ id: '002-new', fields: { from: '001-old', status: 'running' } });
    expect(all.filter((e) => e.event === 'recovered' || e.event === 'claimed').map((e) => `${e.id} ${e.event}`)).toEqual([
      '001-old claimed',
    ]);
    expect(await linesOf(sb, '002-new')).toEqual(['renamed', 'done']);
  }, 60_000);
});

describe('changes made by editing task files', () => {
  it('a cancel, a requeue and a delete made by hand get one line each, a CLI cancel is not reported twice, and a restart reports nothing again', async () => {
    const sb = await sandbox('---\nsandbox: none\n---\n');
    const tasks = join(sb.repo, 'tasks');
    /** Rewrites a task file the way an editor's atomic save does, changing only its status line. */
    const editStatus = async (id: string, status: string) => {
      const text = await readFile(join(tasks, `${id}.md`), 'utf8');
      await writeFile(join(tasks, `.${id}.md.swp`), text.replace(/^status: .*$/m, `status: ${status}`));
      await rename(join(tasks, `.${id}.md.swp`), join(tasks, `${id}.md`));
    };
    const w = waitingTask(sb, 'wait', 'Runs until cancelled');
    await writeFile(join(tasks, '001-done.md'), taskText({ title: 'Done first', run: 'echo 1 > one.txt' }));
    await writeFile(
      join(tasks, '002-after.md'),
      taskText({ title: 'After the long one', status: 'queued', depends_on: ['003-wait'], run: 'echo 2 > two.txt' }),
    );
    await writeFile(join(tasks, '003-wait.md'), w.text);
    const fails = join(sb.dir, 'fails.runs');
    await writeFile(join(tasks, '004-fails.md'), taskText({ title: 'Fails', run: `echo fail >> '${fails}'; exit 1`, max_attempts: 1 }));
    await writeFile(join(tasks, '005-draft.md'), taskText({ title: 'Draft', status: 'draft', run: 'echo 5 > five.txt' }));

    const daemon = await watchDaemon(sb);
    try {
      await waitFor(
        '001 done, 004 failed, 003 running',
        async () =>
          (await readTask(sb, '001-done')).fm.status === 'done' &&
          (await readTask(sb, '004-fails')).fm.status === 'failed' &&
          (await runCount(w.runs)) === 1,
        30_000,
      );

      await editStatus('002-after', 'cancelled');
      await waitFor('002 cancelled reported', async () => (await linesOf(sb, '002-after')).includes('cancelled'));

      await editStatus('004-fails', 'queued');
      await waitFor(
        '004 requeued, run and failed again',
        async () => (await linesOf(sb, '004-fails')).filter((e) => e === 'failed').length === 2,
        30_000,
      );

      await editStatus('003-wait', 'cancelled');
      await waitFor('003 cancelled reported', async () => (await linesOf(sb, '003-wait')).includes('cancelled'), 30_000);

      await rm(join(tasks, '001-done.md'));
      await waitFor('001 removed reported', async () => (await linesOf(sb, '001-done')).includes('removed'));

      const cancel = await sb.cli(['cancel', '005-draft']);
      expect(cancel.code).toBe(0);
      // Give the daemon a scan of the change (it looks on the watcher's hint).
      await waitFor('the daemon to see 005 cancelled', async () => (await readTask(sb, '005-draft')).fm.status === 'cancelled');
    } finally {
      await daemon.stop();
    }
    // A restart reads progress.txt: nothing is reported again.
    const again = await startDaemon({ cwd: sb.repo, once: true, worktreeRoot: join(sb.dir, 'wt') });
    await again.done;

    const edits = (await events(sb)).filter((e) => ['cancelled', 'requeued', 'removed', 'renamed'].includes(e.event));
    expect(edits.map((e) => ({ id: e.id, event: e.event, ...e.fields }))).toEqual([
      { id: '002-after', event: 'cancelled', from: 'queued', by: 'edit' },
      { id: '004-fails', event: 'requeued', from: 'failed', by: 'edit' },
      { id: '003-wait', event: 'cancelled', from: 'running', by: 'edit' },
      { id: '001-done', event: 'removed', from: 'done' },
      { id: '005-draft', event: 'cancelled', from: 'draft' },
    ]);
    // One run each (004 twice: it was requeued by hand), the cancelled run stopped, its dropped branch not named.
    expect(await runCount(w.runs)).toBe(1);
    expect(await runCount(fails)).toBe(2);
    const waited = (await readTask(sb, '003-wait')).fm;
    expect(waited).toMatchObject({ status: 'cancelled' });
    expect(waited.branch).toBeUndefined();
    expect((await sb.git(['branch', '--list', 'nightshift/003-wait'])).trim()).toBe('');
  }, 90_000);

  it('a waiting task renamed by hand gets one renamed line; renamed while no daemon runs, the old id reads as removed', async () => {
    const sb = await sandbox('---\nsandbox: none\n---\n');
    const tasks = join(sb.repo, 'tasks');
    await writeFile(join(tasks, '001-draft.md'), taskText({ title: 'Draft', status: 'draft' }));
    const daemon = await watchDaemon(sb);
    try {
      await waitFor('the first scan', async () => (await events(sb)).some((e) => e.event === 'daemon-start'));
      // The daemon must have seen the old name before it is renamed: a full rescan comes every 200 ms.
      await new Promise<void>((resolve) => daemon.events.once('idle', () => resolve()));
      await rename(join(tasks, '001-draft.md'), join(tasks, '002-draft.md'));
      await waitFor('the rename reported', async () => (await linesOf(sb, '002-draft')).includes('renamed'));
    } finally {
      await daemon.stop();
    }
    await rename(join(tasks, '002-draft.md'), join(tasks, '003-draft.md'));
    await (
      await startDaemon({ cwd: sb.repo, once: true, worktreeRoot: join(sb.dir, 'wt') })
    ).done;
    await (
      await startDaemon({ cwd: sb.repo, once: true, worktreeRoot: join(sb.dir, 'wt') })
    ).done;
    const edits = (await events(sb)).filter((e) => ['removed', 'renamed'].includes(e.event));
    expect(edits.map((e) => ({ id: e.id, event: e.event, ...e.fields }))).toEqual([
      { id: '002-draft', event: 'renamed', from: '001-draft', status: 'draft' },
      { id: '002-draft', event: 'removed', from: 'draft' },
    ]);
  }, 60_000);

  it('cancel clears branch: when the branch it names is gone, and keeps it when the branch holds work', async () => {
    const sb = await sandbox('---\nsandbox: none\n---\n');
    await sb.git(['branch', 'nightshift/002-kept']);
    await writeFile(join(sb.repo, 'tasks', '001-gone.md'), taskText({ title: 'Gone', status: 'failed', branch: 'nightshift/001-gone' }));
    await writeFile(join(sb.repo, 'tasks', '002-kept.md'), taskText({ title: 'Kept', status: 'failed', branch: 'nightshift/002-kept' }));
    const r = await sb.cli(['cancel', '001-gone', '002-kept']);
    expect(r.code).toBe(0);
    expect((await readTask(sb, '001-gone')).fm.branch).toBeUndefined();
    expect((await readTask(sb, '002-kept')).fm.branch).toBe('nightshift/002-kept');
    expect((await events(sb)).map((e) => `${e.id} ${e.event} ${e.fields.from}`)).toEqual([
      '001-gone cancelled failed',
      '002-kept cancelled failed',
    ]);
  }, 30_000);
});
