import { readdir, rm } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { listWorktrees, openGit, pruneWorktrees, removeWorktree } from '../git/git.js';
import { isClaimed } from '../state/locks.js';
import { isValidId } from '../task/id.js';
import { openRepo, type Output } from './repo.js';

export interface CleanOptions {
  cwd: string;
}

/**
 * Removes what crashed or stopped runs left behind: nightshift's worktrees and stale claim locks. A task
 * some live process is running keeps its worktree and lock. Branches are never touched: they hold work.
 */
export async function cleanRepo(opts: CleanOptions, io: Output): Promise<number> {
  const paths = await openRepo(opts.cwd);
  const git = openGit(paths.root);
  const inside = (p: string) => p.startsWith(paths.worktrees + sep);

  // Registered worktrees (git knows them) and bare folders (git forgot them) under our worktree root.
  const registered = (await listWorktrees(git)).filter(inside);
  const folders = (await readdir(paths.worktrees).catch(() => [] as string[])).map((name) => join(paths.worktrees, name));
  const candidates = [...new Set([...registered, ...folders])].sort();

  let removed = 0;
  let kept = 0;
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
