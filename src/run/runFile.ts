import { InternalError } from '../errors.js';
import type { Claim } from '../locks/claims.js';
import { FollowedTask } from '../task/follow.js';
import type { TaskFile } from '../task/transitions.js';
import type { OwnedChanges, Task } from '../task/task.js';
import type { RunContext } from './context.js';
import { clearDroppedBranch, writeFollowed } from './followedWrite.js';
import { OwnedKeys, stillRunnable } from './ownedKeys.js';

/**
 * The task file of one run, as the run writes it. Every write re-reads the file under its edit lock and
 * checks that the task is still ours (not cancelled, the claim still held). Once claimed, the owned keys are
 * the daemon's (an executor may edit the real file: see ownedKeys.ts). Once running, the file is followed by
 * the claim: renamed, it is found again; unparsable, it is never written.
 */
export class RunFile implements TaskFile {
  private current: Task;
  private follow: FollowedTask | undefined;
  private readonly owned: OwnedKeys;

  constructor(
    private readonly ctx: RunContext,
    task: Task,
    private readonly claim: Claim,
  ) {
    this.current = task;
    this.owned = new OwnedKeys({ locksDir: ctx.paths.locks, progress: ctx.progress });
  }

  get task(): Task {
    return this.current;
  }

  /** Ours to write: nobody cancelled it and our claim is still held. */
  readonly mine = (t: Task): boolean => stillRunnable(t) && this.claim.isHeld();

  async write(changes: OwnedChanges, guard: (t: Task) => boolean = this.mine): Promise<boolean> {
    const followed = this.follow;
    const writer = followed ? (decide: (t: Task) => OwnedChanges | undefined) => writeFollowed(this.ctx, followed, decide) : undefined;
    const result = await this.owned.update(this.current, changes, guard, writer);
    if (result.kind !== 'updated') return false;
    this.current = result.task;
    // Followed from the claim's write on, before anyone hears of the claim (and might rename the file).
    if (!this.follow && changes.status === 'running') this.follow = new FollowedTask(this.current, this.ctx.ownerId, this.claim.id);
    return true;
  }

  /** Whether the task is still ours; owned keys someone else changed are put back at once, not at the next write. */
  async stillOurs(): Promise<boolean> {
    if (!this.follow) throw new InternalError('asked whether a task is still ours before its claim was written');
    const where = await this.follow.locate();
    // Unparsable for now (an editor's save): the run goes on; its status is written once the file parses.
    if (where.kind === 'unreadable') return true;
    if (where.kind === 'gone' || !this.mine(where.task)) return false;
    return this.owned.tampered(where.task).length === 0 || (await this.write({}));
  }

  /** A cancelled task's `branch:` stops naming a branch that was dropped (see clearDroppedBranch). */
  async clearDroppedBranch(branch: string): Promise<void> {
    if (this.follow) await clearDroppedBranch(this.ctx, this.follow, branch);
  }
}
