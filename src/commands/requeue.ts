import { rename } from 'node:fs/promises';
import { UsageError, hasCode } from '../errors.js';
import { ProgressLog, utcStamp } from '../state/progress.js';
import { readLockOwner, isClaimed } from '../state/locks.js';
import { signalGroup } from '../exec/spawn.js';
import { loadTasks } from '../task/store.js';
import { taskLogDir } from '../paths.js';
import { checkId, entryFor, openRepo, requireValid, transition, type Output } from './repo.js';
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
    const result = await transition(paths, requireValid(entryFor(entries, id)), (t) =>
      t.status === 'running' || t.status === 'queued'
        ? undefined
        // A failed task with a commit failed to publish it: the commit is kept for the next claim to publish.
        : { status: 'queued', attempts: 0, error: null, finished_at: null, started_at: null, claimed_by: null, commit: t.status === 'failed' ? undefined : null },
    );
    if (result.kind === 'refused') {
      if (result.status === 'running') throw new UsageError(`task ${id} is running`, `cancel it first (nightshift cancel ${id}), or wait for it to finish`);
      io.out(`${id} is already ${result.status}\n`);
      continue;
    }
    await archiveLogs(taskLogDir(paths, id));
    await progress.append(id, 'requeued', { from: result.from.status, attempts: result.from.attempts });
    io.out(`${id}: ${result.from.status} -> queued\n`);
  }
  return 0;
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
  for (const id of ids) {
    const result = await transition(paths, requireValid(entryFor(entries, id)), (t) =>
      t.status === 'done' || t.status === 'cancelled' ? undefined : { status: 'cancelled', finished_at: utcStamp(), claimed_by: null },
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
    await progress.append(id, 'cancelled', { from });
    io.out(`${id}: ${from} -> cancelled\n`);
  }
  return 0;
}
