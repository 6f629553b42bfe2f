import { readdir, rm, rmdir } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { openGit } from '../git/git.js';
import { listWorktrees, pruneWorktrees, removeWorktree } from '../git/worktrees.js';
import { isPoolEntry, WorktreePool } from '../git/pool.js';
import { isClaimed, removeAbandonedLockTemps } from '../locks/claims.js';
import { isValidId } from '../task/id.js';
import type { Output } from './output.js';
import { openRepo } from './repo.js';

export interface CleanOptions {
  cwd: string;
}

/**
 * Removes nightshift's worktrees (the pool, and any a crashed run left) and stale claim locks. A worktree
 * some live process is using keeps it, and so does its task's lock. Branches are never touched: they hold
 * work. The next run makes the pool anew (one full checkout per slot).
 */
export async function cleanRepo(opts: CleanOptions, io: Output): Promise<number> {
  const paths = await openRepo(opts.cwd);
  const git = openGit(paths.root);
  const inside = (p: string) => p.startsWith(paths.worktrees + sep);

  // Registered worktrees (git knows them) and bare folders (git forgot them) under our worktree root.
  const registered = (await listWorktrees(git)).filter(inside);
  const folders = (await readdir(paths.worktrees).catch(() => [] as string[])).map((name) => join(paths.worktrees, name));
  const candidates = [...new Set([...registered, ...folders])].filter((p) => !isPoolEntry(basename(p))).sort();

  const pool = await new WorktreePool(git, { root: paths.worktrees, keepIgnored: false }).tidy(0);
  for (const path of pool.inUse) io.out(`kept     ${path} (a running task uses it)\n`);
  for (const path of pool.removed) io.out(`removed  ${path}\n`);
  let removed = pool.removed.length;
  let kept = pool.inUse.length;
  // Per-task worktrees, from a nightshift before the pool or a crash of one.
  for (const path of candidates) {
    const id = basename(path);
    if (isValidId(id) && (await inUse(paths.locks, id))) {
      io.out(`kept     ${path} (task ${id} is running)\n`);
      kept++;
      continue;
    }
    await removeWorktree(git, path);
    io.out(`removed  ${path}\n`);
    removed++;
  }
  await pruneWorktrees(git);

  let locks = 0;
  for (const name of await readdir(paths.locks).catch(() => [] as string[])) {
    const m = /^(.+)\.lock$/.exec(name);
    if (!m) continue;
    const target = m[1] as string;
    // `<id>.lock` is a task claim, `<id>.edit.lock` a file edit: both stale once no live process refreshes them.
    const id = target.replace(/\.edit$/, '');
    if (!isValidId(id) || (await inUse(paths.locks, target))) continue;
    await rm(join(paths.locks, name), { recursive: true, force: true });
    if (target === id) await rm(join(paths.locks, `${id}.owner.json`), { force: true });
    io.out(`removed  stale lock ${relative(paths.root, join(paths.locks, name))}\n`);
    locks++;
  }

  // Half-made or half-removed locks of processes killed in that instant: nobody's, and never shown.
  await removeAbandonedLockTemps(paths.locks);
  await removeAbandonedLockTemps(join(paths.worktrees, '_leases'));
  await rmdir(join(paths.worktrees, '_leases')).catch(() => undefined);

  io.out(`clean: ${removed} worktree${removed === 1 ? '' : 's'} and ${locks} stale lock${locks === 1 ? '' : 's'} removed`);
  io.out(kept > 0 ? `, ${kept} in use kept; branches kept\n` : '; branches kept\n');
  return 0;
}

/**
 * Held by a live process (see isClaimed): removing it could let a second process run the task. When in
 * doubt (the lock cannot be read), it is kept.
 */
function inUse(locksDir: string, target: string): Promise<boolean> {
  return isClaimed(locksDir, target).catch(() => true);
}
