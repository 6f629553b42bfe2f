import type { Git } from './git.js';
import { serialised } from './worktrees.js';

/**
 * A detached worktree of `commit` for a planner or plan reviewer to read: no branch is made, and
 * nothing the planner leaves there is ever committed. Removed with removeWorktree.
 */
export async function addPlanCheckout(git: Git, path: string, commit: string): Promise<void> {
  await serialised(git, async () => {
    await git.raw(['worktree', 'prune']);
    await git.raw(['worktree', 'add', '--force', '--quiet', '--detach', path, commit]);
  });
}

/** Every file path at `commit` (what a plan's `files` globs must match). */
export async function treePaths(git: Git, commit: string): Promise<string[]> {
  const out = await git.raw(['ls-tree', '-r', '-z', '--name-only', '--end-of-options', commit]);
  return out.split('\0').filter(Boolean);
}

/** Whether the planner changed the checkout it was meant only to read (a command planner is not sandboxed). */
export async function checkoutChanged(git: Git): Promise<boolean> {
  const r = await git.status(['status', '--porcelain', '--untracked-files=all']);
  return r.code !== 0 || r.stdout.trim() !== '';
}
