import { join } from 'node:path';
import { claimTask } from '../locks/claims.js';

/**
 * What the lock needs of a Git handle: any Git handle has it. Declared here, not imported from git.ts,
 * which imports this module (no import cycle).
 */
interface RepoHandle {
  readonly dir: string;
  raw(args: string[]): Promise<string>;
}

/** How long to wait for another process's git operation (a fetch can be slow) before giving up. */
const WAIT_MS = 10 * 60_000;

const commonDirs = new Map<string, Promise<string>>();

/**
 * The repository's common git dir: the same for every worktree and linked checkout of one repository, so
 * a lock there serialises every process that works on it, whichever checkout it was started from.
 */
export function gitCommonDir(git: RepoHandle): Promise<string> {
  let dir = commonDirs.get(git.dir);
  if (!dir) {
    dir = git.raw(['rev-parse', '--path-format=absolute', '--git-common-dir']).then((out) => out.trim());
    dir.catch(() => commonDirs.delete(git.dir));
    commonDirs.set(git.dir, dir);
  }
  return dir;
}

/**
 * Runs `fn` holding the repository-wide nightshift lock (`<git common dir>/nightshift-git.lock`). git does
 * not make worktree add/remove/prune or fetch safe against each other across processes: prune can drop a
 * worktree another process is still creating. The lock is the claim lock's kind (owner file inside, taken
 * over at once when its owner died on this host), so a kill -9 while holding it costs no wait.
 */
export async function withRepoLock<T>(git: RepoHandle, fn: () => Promise<T>): Promise<T> {
  const dir = await gitCommonDir(git);
  const deadline = Date.now() + WAIT_MS;
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    const got = await claimTask(dir, 'nightshift-git');
    if (got.kind === 'claimed') {
      try {
        return await fn();
      } finally {
        await got.claim.release();
      }
    }
    if (Date.now() > deadline)
      throw new Error(`waited ${WAIT_MS / 60_000} minutes for ${join(dir, 'nightshift-git.lock')}; another nightshift process holds it`);
    await new Promise((r) => setTimeout(r, delay + Math.floor(Math.random() * delay)));
  }
}
