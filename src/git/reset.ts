import type { Git } from './git.js';

/**
 * Putting a worktree back to a known commit between two steps of one attempt. `clean -fd` without -x:
 * ignored files (node_modules a setup step installed) stay for the next step; the pool's own reset of a
 * slot between tasks (pool.ts) is the stricter one.
 */

/** Every tracked change undone and untracked files removed, HEAD's branch reset to `commit`. */
export async function resetAndClean(wt: Git, commit: string): Promise<void> {
  await wt.raw(['reset', '--quiet', '--hard', commit]);
  await wt.raw(['clean', '-fdq']);
}

/**
 * `branch` (created or moved) checked out at `commit`, whatever the worktree held, untracked files removed.
 * --ignore-other-worktrees: a slot may be asked for a branch another slot left checked out after a crash.
 */
export async function checkoutClean(wt: Git, branch: string, commit: string): Promise<void> {
  await wt.raw(['checkout', '--quiet', '--force', '--ignore-other-worktrees', '--no-recurse-submodules', '-B', branch, commit]);
  await wt.raw(['clean', '-fdq']);
}
