import { rm } from 'node:fs/promises';
import type { Git } from './git.js';
import { withRepoLock } from './repoLock.js';

/**
 * git does not make worktree add/remove/prune safe against each other (prune can drop a worktree another
 * call is still creating). This process runs them one at a time, and the repository lock keeps other
 * nightshift processes (a second daemon, `clean`) out meanwhile.
 */
let worktreeQueue: Promise<unknown> = Promise.resolve();
export function serialised<T>(git: Git, fn: () => Promise<T>): Promise<T> {
  const locked = () => withRepoLock(git, fn);
  const next = worktreeQueue.then(locked, locked);
  worktreeQueue = next.catch(() => undefined);
  return next;
}

/** A fresh worktree on branch nightshift/<id>, reset to `commit` (a retry starts again from base). */
export async function addWorktree(git: Git, path: string, branch: string, commit: string): Promise<void> {
  await serialised(git, async () => {
    await git.raw(['worktree', 'prune']);
    // -B moves the branch if an earlier attempt left it; --force lets us reuse a branch whose old worktree
    // was deleted by hand but not yet pruned.
    await git.raw(['worktree', 'add', '--force', '--quiet', '-B', branch, path, commit]);
  });
}

/**
 * Removes a worktree and its folder, also when git no longer knows it or it is locked (a `worktree add`
 * killed half way leaves it locked "initializing", which plain prune keeps forever). Never throws.
 */
export async function removeWorktree(git: Git, path: string): Promise<void> {
  // The repository lock can time out behind a hung fetch: a worktree left over is removed by the next add
  // or by `clean`, while a throw here (often in a finally, after a push) would lose the task's final status.
  await serialised(git, async () => {
    await git.status(['worktree', 'remove', '--force', '--force', path]);
    await rm(path, { recursive: true, force: true });
    await git.status(['worktree', 'prune']);
  }).catch(() => undefined);
}

/**
 * Removes every worktree under `root` that a killed `worktree add` left locked "initializing". Safe while
 * other daemons run: adds hold the repository lock, so none is half way while we look.
 */
export async function removeAbandonedWorktrees(git: Git, root: string): Promise<string[]> {
  return serialised(git, async () => {
    const listed = await git.status(['worktree', 'list', '--porcelain']);
    const removed: string[] = [];
    for (const block of listed.stdout.split('\n\n')) {
      const path = /^worktree (.+)$/m.exec(block)?.[1];
      if (!path || !path.startsWith(`${root}/`) || !/^locked initializing$/m.test(block)) continue;
      await git.status(['worktree', 'remove', '--force', '--force', path]);
      await rm(path, { recursive: true, force: true });
      removed.push(path);
    }
    await git.status(['worktree', 'prune']);
    return removed;
  });
}

/** Worktrees (paths) that have `refs/heads/<branch>` checked out, the user's own checkout included. */
export async function worktreesOnBranch(git: Git, branch: string): Promise<string[]> {
  const out = await git.raw(['worktree', 'list', '--porcelain', '-z']);
  const found: string[] = [];
  let path = '';
  for (const field of out.split('\0')) {
    if (field.startsWith('worktree ')) path = field.slice('worktree '.length);
    else if (field === `branch refs/heads/${branch}`) found.push(path);
  }
  return found;
}

/** Paths of every worktree git knows for this repository, the main checkout included. */
export async function listWorktrees(git: Git): Promise<string[]> {
  const out = await git.raw(['worktree', 'list', '--porcelain']);
  return out
    .split('\n')
    .filter((l) => l.startsWith('worktree '))
    .map((l) => l.slice('worktree '.length));
}

/** Forgets worktrees whose folders are gone. */
export async function pruneWorktrees(git: Git): Promise<void> {
  await serialised(git, () => git.status(['worktree', 'prune']));
}
