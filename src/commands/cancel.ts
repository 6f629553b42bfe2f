import { hostname } from 'node:os';
import { UsageError } from '../errors.js';
import { signalGroup } from '../exec/spawn.js';
import { openGit, resolveCommit, taskBranch } from '../git/git.js';
import { isClaimed, readLockOwner } from '../locks/claims.js';
import { ProgressLog } from '../progress/log.js';
import { loadTasks } from '../task/store.js';
import { cancelOnRequest } from '../task/transitionsUnclaimed.js';
import { checkId, entryFor, requireValid } from './namedTask.js';
import type { Output } from './output.js';
import { openRepo } from './repo.js';

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
    const result = await cancelOnRequest(paths.locks, { progress }, task, gone);
    if (result.kind === 'refused') {
      const hint = 'a done task cannot be cancelled; revert its commit if you do not want it';
      if (result.status === 'done') throw new UsageError(`task ${id} is already done`, hint);
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
