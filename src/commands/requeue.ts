import { rename } from 'node:fs/promises';
import { UsageError, hasCode } from '../errors.js';
import { ProgressLog, utcStamp } from '../state/progress.js';
import { readLockOwner, isClaimed } from '../state/locks.js';
import { signalGroup } from '../exec/spawn.js';
import { loadTasks, updateTask } from '../task/store.js';
import type { OwnedChanges, Task } from '../task/task.js';
import type { Paths } from '../paths.js';
import { openGit, resolveCommit, taskBranch } from '../git/git.js';
import { taskLogDir } from '../paths.js';
import { checkId, entryFor, requireValid } from './namedTask.js';
import type { Output } from './output.js';
import { openRepo } from './repo.js';
import { hostname } from 'node:os';

/**
 * Puts tasks back in the queue with a fresh attempt budget. History stays: progress.txt keeps every line,
 * and the previous run's transcripts move to .nightshift/logs/<id>.<time>/.
 */
export async function requeueTasks(opts: { cwd: string; ids: string[]; failed?: boolean }, io: Output): Promise<number> {
  const paths = await openRepo(opts.cwd);
  if (opts.failed && opts.ids.length > 0) throw new UsageError('give task ids or --failed, not both');
  const named = opts.ids.map(checkId); // before any file is read
  const entries = await loadTasks(paths.tasks, opts.failed ? undefined : named);
  const ids = opts.failed ? entries.flatMap((e) => (e.kind === 'task' && e.task.status === 'failed' ? [e.task.id] : [])) : named;
  if (opts.failed && ids.length === 0) {
    io.out('no failed tasks\n');
    return 0;
  }
  if (ids.length === 0) throw new UsageError('which tasks?', 'nightshift requeue <id...> or nightshift requeue --failed');
  const progress = new ProgressLog(paths.progress);
  for (const id of ids) {
    // The line is written under the file's edit lock: a daemon's scan never sees the change without it (and
    // reports it as an edit of the file).
    const result = await transitionLogged(paths, requireValid(entryFor(entries, id)), (t) =>
      t.status === 'running' || t.status === 'queued'
        ? undefined
        // A failed task with a commit failed to publish it: the commit is kept for the next claim to publish.
        : { status: 'queued', attempts: 0, error: null, finished_at: null, started_at: null, claimed_by: null, commit: t.status === 'failed' ? undefined : null },
       (from) => progress.append(id, 'requeued', { from: from.status, attempts: from.attempts }),
    );
    if (result.kind === 'refused') {
      if (result.status === 'running') throw new UsageError(`task ${id} is running`, `cancel it first (nightshift cancel ${id}), or wait for it to finish`);
      io.out(`${id} is already ${result.status}\n`);
      continue;
    }
    await archiveLogs(taskLogDir(paths, id));
    io.out(`${id}: ${result.from.status} -> queued\n`);
  }
  return 0;
}

type Logged = { kind: 'changed'; from: Task } | { kind: 'refused'; status: Task['status'] | 'unreadable' };

/** transition() with its progress line written while the file's edit lock is still held. */
async function transitionLogged(
  paths: Paths,
  task: Task,
  decide: (now: Task) => OwnedChanges | undefined,
  log: (from: Task) => Promise<unknown>,
): Promise<Logged> {
  let from: Task | undefined;
  const result = await updateTask(paths.locks, task.file, task.id, decide, async (before) => {
    from = before;
    await log(before);
  });
  if (result.kind === 'updated' && from) return { kind: 'changed', from };
  return { kind: 'refused', status: result.kind === 'updated' || result.kind === 'unchanged' ? result.task.status : 'unreadable' };
}

async function archiveLogs(dir: string): Promise<void> {
  try {
    await rename(dir, `${dir}.${utcStamp().replace(/[:]/g, '')}`);
  } catch (err) {
    if (!hasCode(err, 'ENOENT')) throw err;
  }
}

/** queued -> cancelled; running -> cancelled and its executor's process group stopped. */
export async function cancelTasks(opts: { cwd: string; ids: string[] }, io: Output): Promise<number> {
  const paths = await openRepo(opts.cwd);
  if (opts.ids.length === 0) throw new UsageError('which tasks?', 'nightshift cancel <id...>');
  const ids = opts.ids.map(checkId); // before any file is read
  const entries = await loadTasks(paths.tasks, ids);
  const progress = new ProgressLog(paths.progress);
  const git = openGit(paths.root);
  for (const id of ids) {
    const task = requireValid(entryFor(entries, id));
    // A queued task keeps `branch:` only while the branch exists (a running one: its run clears it). Only
    // nightshift's own branch name is looked up: a task file's value never reaches git unchecked.
    const ours = taskBranch(id);
    const gone = task.branch === ours && task.status !== 'running' && (await resolveCommit(git, `refs/heads/${ours}`)) === undefined;
    const result = await transitionLogged(
      paths,
      task,
      (t) =>
        t.status === 'done' || t.status === 'cancelled'
          ? undefined
          : { status: 'cancelled', finished_at: utcStamp(), claimed_by: null, branch: gone && t.branch === task.branch ? null : undefined },
      (from) => progress.append(id, 'cancelled', { from: from.status }).then(() => undefined),
    );
    if (result.kind === 'refused') {
      if (result.status === 'done') throw new UsageError(`task ${id} is already done`, 'a done task cannot be cancelled; revert its commit if you do not want it');
      io.out(`${id} is already ${result.status}\n`);
      continue;
    }
    const from = result.from.status;
    if (from === 'running' && (await isClaimed(paths.locks, id))) {
      // The daemon notices the status when its executor ends; stopping the executor makes that now.
      const owner = await readLockOwner(paths.locks, id);
      if (owner?.pgid && owner.host === hostname()) signalGroup(owner.pgid, 'SIGTERM');
    }
    io.out(`${id}: ${from} -> cancelled\n`);
  }
  return 0;
}
