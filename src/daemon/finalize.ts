import { oneLine, toError } from '../errors.js';
import { fetchBase, pushBranch, resolveCommit, taskBranch } from '../git/git.js';
import type { Claim } from '../state/locks.js';
import { utcStamp } from '../state/progress.js';
import { updateTask } from '../task/store.js';
import type { Task } from '../task/task.js';
import type { RunContext } from '../run/context.js';
import { maskSecrets } from '../util/secrets.js';

/**
 * The commit a dead run left on the task's branch, if it got that far: the commit the dead owner recorded
 * in its claim right after making it (nightshift commits only after guards, tests and review passed),
 * exactly one commit on top of the task's base_commit, carrying the `Nightshift-Task: <id>` trailer. The
 * record is what counts: an executor killed mid-run could have left a commit with that trailer itself.
 */
export async function findFinishedCommit(ctx: RunContext, task: Task, recorded: string | undefined): Promise<string | undefined> {
  if (!task.baseCommit || !recorded) return undefined;
  // push: land publishes by rebasing onto the remote's base and retesting: a commit still on the branch is
  // not finished work there (the task runs again), one that reached the remote's base is.
  if (ctx.rules.push === 'land') return findLandedCommit(ctx, task.id, task.baseCommit);
  const branch = taskBranch(task.id);
  const tip = await resolveCommit(ctx.git, `refs/heads/${branch}`);
  if (!tip || tip === task.baseCommit || tip !== recorded) return undefined;
  const out = await ctx.git.status(['log', '-1', '--format=%P%x00%(trailers:key=Nightshift-Task,valueonly)', '--end-of-options', tip]);
  if (out.code !== 0) return undefined;
  const [parents = '', trailer = ''] = out.stdout.split('\0');
  if (parents.trim().split(' ')[0] !== task.baseCommit) return undefined;
  return trailer.split('\n').map((l) => l.trim()).includes(task.id) ? tip : undefined;
}

/** How finalizing ended: done, failed (the push was refused), or lost (someone else owns the task now). */
export type Finalized = 'done' | 'failed' | 'lost';

/** Finishes a recovered task whose commit exists: push it if rules.md wants it pushed, then mark it done. */
export async function finalizeTask(ctx: RunContext, task: Task, commit: string, claim: Claim): Promise<Finalized> {
  const branch = taskBranch(task.id);
  const short = commit.slice(0, 7);
  if (!(await claim.verify())) return 'lost';
  await ctx.progress.append(task.id, 'recovered', { attempts: task.attempts, from: task.claimedBy, then: 'finalize', commit: short });
  const owned = (t: Task) => t.status === 'running' && t.claimedBy === task.claimedBy;
  // push: land only finalizes a commit that is already on the remote's base (see findFinishedCommit).
  if (ctx.rules.push === 'branch') {
    try {
      await pushBranch(ctx.git, ctx.rules.remote, branch);
    } catch (err) {
      const reason = maskSecrets(`push to ${ctx.rules.remote} failed: ${oneLine(toError(err).message, 200)}; the commit is on local branch ${branch}`);
      const written = await updateTask(ctx.paths.locks, task.file, task.id, (t) =>
        owned(t) ? { status: 'failed', error: reason, branch, finished_at: utcStamp(), claimed_by: null } : undefined,
      );
      if (written.kind !== 'updated') return 'lost';
      await ctx.progress.append(task.id, 'failed', { attempts: task.attempts, reason });
      ctx.events.emit('task:failed', { id: task.id, attempt: task.attempts, reason });
      return 'failed';
    }
    await ctx.progress.append(task.id, 'pushed', { attempt: task.attempts, remote: ctx.rules.remote, branch, commit: short });
  }
  if (!(await claim.verify())) return 'lost';
  const written = await updateTask(ctx.paths.locks, task.file, task.id, (t) =>
    owned(t) ? { status: 'done', commit, branch, finished_at: utcStamp(), error: null, claimed_by: null } : undefined,
  );
  if (written.kind !== 'updated') return 'lost';
  await ctx.progress.append(task.id, 'done', { attempt: task.attempts, commit: short, branch, recovered: 'yes' });
  ctx.events.emit('task:done', { id: task.id, attempt: task.attempts, commit, branch });
  return 'done';
}

/** The commit carrying the task's trailer that already reached the remote's base, if the dead run landed it. */
async function findLandedCommit(ctx: RunContext, id: string, baseCommit: string): Promise<string | undefined> {
  const fetched = await fetchBase(ctx.git, ctx.rules.remote, ctx.base);
  if (fetched.kind !== 'ok') return undefined;
  const out = await ctx.git.status(['log', '--format=%H%x00%(trailers:key=Nightshift-Task,valueonly)%x01', '--end-of-options', `${baseCommit}..${fetched.commit}`]);
  if (out.code !== 0) return undefined;
  for (const entry of out.stdout.split('\x01')) {
    const [sha = '', trailer = ''] = entry.trim().split('\0');
    if (sha && trailer.split('\n').map((l) => l.trim()).includes(id)) return sha.trim();
  }
  return undefined;
}
