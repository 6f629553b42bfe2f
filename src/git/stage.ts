import { encodePath } from '../util/bytePaths.js';
import { rawBytes } from './bytes.js';
import type { Git } from './git.js';

/** What to stage: paths whose index entry goes (first), and paths whose content is then added as it is now. */
export interface Staging {
  update: string[];
  remove: string[];
}

/**
 * Stages exactly the paths given (from a `git status` just taken, so only those are looked at, not the
 * whole tree again, which on a big repository is most of the cost) and nothing else: a file that
 * appeared after the guards looked is not in the commit. `git update-index` rather than `git add`:
 * add refuses a pathspec that matches nothing (a deletion already staged by `git rm`, `git mv` or a
 * folded commit) and matches every pathspec against every file (seconds for thousands of paths), while
 * update-index looks each path up once; it applies the same clean filters and honours core.fileMode and
 * core.symlinks. The paths go on stdin, NUL-separated: any bytes, any number of them (no command-line
 * limit, so no fallback that would stage paths nobody checked), no glob or pathspec magic.
 */
export async function stageAll(git: Git, staging: Staging): Promise<void> {
  // Removals first: a file where a folder was (or the reverse) is added only once the old entries are gone,
  // and an added path has no entry left whose stat data could make update-index skip the file as unchanged.
  // --force-remove whatever is there: a path below a folder that became a symlink must go, not be followed.
  if (staging.remove.length > 0) await rawBytes(git, ['update-index', '--force-remove', '-z', '--stdin'], nulList(staging.remove));
  // --remove: a listed path with nothing there any more leaves the index; --replace drops an entry in the
  // way of a new one, as git add does (what that drops shows in the staged diff the guards check).
  if (staging.update.length > 0)
    await rawBytes(git, ['update-index', '--add', '--remove', '--replace', '-z', '--stdin'], nulList(staging.update));
}

function nulList(paths: string[]): Buffer {
  const NUL = Buffer.from([0]);
  return Buffer.concat(paths.flatMap((p) => [encodePath(p), NUL]));
}
