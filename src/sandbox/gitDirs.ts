import { mkdir, readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { hasCode } from '../errors.js';
import type { WorktreeGit } from './mounts.js';

/**
 * Where the worktree's git data is, read from the files git itself follows (no git process: git spawns
 * live in src/git, and this must not trust a `.git` the executor may have rewritten to run anything).
 * A linked worktree's `.git` file says `gitdir: <common>/worktrees/<name>`, whose `commondir` leads back.
 */
export async function worktreeGit(worktree: string): Promise<WorktreeGit | undefined> {
  const dotGit = join(worktree, '.git');
  let pointer: string;
  try {
    if ((await stat(dotGit)).isDirectory()) {
      const dir = await realpath(dotGit);
      return { own: dir, common: dir };
    }
    pointer = await readFile(dotGit, 'utf8');
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return undefined;
    throw err;
  }
  const gitdir = /^gitdir: (.+?)\r?\n?$/.exec(pointer)?.[1];
  if (!gitdir) return undefined;
  const own = await realpath(isAbsolute(gitdir) ? gitdir : resolve(worktree, gitdir));
  const commondir = (await readFile(join(own, 'commondir'), 'utf8').catch(() => '')).trim();
  const common = commondir ? await realpath(isAbsolute(commondir) ? commondir : resolve(own, commondir)) : own;
  // Git writes reflogs there on the first commit: a folder missing now could not be made read-only later.
  await mkdir(join(common, 'logs'), { recursive: true });
  return { own, common };
}
