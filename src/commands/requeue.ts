import { rename } from 'node:fs/promises';
import { UsageError, hasCode } from '../errors.js';
import { ProgressLog, utcStamp } from '../progress/log.js';
import { loadTasks } from '../task/store.js';
import { requeueOnRequest } from '../task/transitionsUnclaimed.js';
import { taskLogDir } from '../paths.js';
import { checkId, entryFor, requireValid } from './namedTask.js';
import type { Output } from './output.js';
import { openRepo } from './repo.js';

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
    const result = await requeueOnRequest(paths.locks, { progress }, requireValid(entryFor(entries, id)));
    if (result.kind === 'refused') {
      const hint = `cancel it first (nightshift cancel ${id}), or wait for it to finish`;
      if (result.status === 'running') throw new UsageError(`task ${id} is running`, hint);
      io.out(`${id} is already ${result.status}\n`);
      continue;
    }
    await archiveLogs(taskLogDir(paths, id));
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
