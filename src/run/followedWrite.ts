import { basename } from 'node:path';
import { idFromFileName } from '../task/fileName.js';
import type { FollowedTask } from '../task/follow.js';
import { updateTask, type UpdateResult } from '../task/store.js';
import type { OwnedChanges, Task } from '../task/task.js';
import { waitUnlessAborted } from './backoff.js';
import type { RunContext } from './context.js';

/** How often a status write waiting for an unparsable task file to parse again looks at it. */
const UNPARSABLE_POLL_MS = 1000;

/**
 * A running task's status write, wherever its file is now: a renamed file is found by the claim and
 * written under its new name (and id). A file that does not parse is never written: the write waits for it
 * to parse again (an editor's save in progress, or the user fixing a mistake; the scan reports it `invalid`
 * meanwhile, and the run keeps its claim, so nobody runs the task again) and gives up only when the daemon
 * is asked to stop.
 */
export async function writeFollowed(
  ctx: RunContext,
  follow: FollowedTask,
  decide: (task: Task) => OwnedChanges | undefined,
): Promise<UpdateResult> {
  let warned = false;
  for (;;) {
    const file = follow.currentFile;
    const result = await updateTask(ctx.paths.locks, file, idFromFileName(basename(file)) as string, decide);
    if (result.kind === 'updated' || result.kind === 'unchanged') return result;
    if (result.kind === 'gone') {
      const where = await follow.locate();
      if (where.kind === 'ours' && follow.currentFile !== file) continue;
      if (where.kind === 'unreadable') continue;
      return result;
    }
    if (!warned) {
      warned = true;
      ctx.logger.warn({ file, reason: result.reason }, 'task file does not parse: its status is written once it does');
    }
    if (!(await waitUnlessAborted(UNPARSABLE_POLL_MS, ctx.drainSignal))) {
      ctx.logger.warn({ file, reason: result.reason }, 'stopping with the task file still unparsable: its status was not written');
      return result;
    }
  }
}

/**
 * A cancelled task's `branch:` must not name a branch that is gone (its attempt held no commit, so the
 * branch was dropped): removed from the file when it still names it.
 */
export async function clearDroppedBranch(ctx: RunContext, follow: FollowedTask, branch: string): Promise<void> {
  const file = follow.currentFile;
  await updateTask(ctx.paths.locks, file, idFromFileName(basename(file)) as string, (t) =>
    t.status === 'cancelled' && t.branch === branch ? { branch: null } : undefined,
  ).catch((err: unknown) => ctx.logger.warn({ err, file }, 'could not clear the branch of a cancelled task'));
}
