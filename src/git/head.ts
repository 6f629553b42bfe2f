import type { Git } from './git.js';

/** Where a worktree's HEAD is: its commit (undefined on an unborn branch) and the ref it names ("HEAD" when detached). */
export interface HeadState {
  commit: string | undefined;
  ref: string | undefined;
}

/** One process for both: `rev-parse HEAD --symbolic-full-name HEAD`. */
export async function readHead(wt: Git): Promise<HeadState> {
  const read = await wt.status(['rev-parse', 'HEAD', '--symbolic-full-name', 'HEAD']);
  if (read.code !== 0) return { commit: undefined, ref: undefined };
  const [commit, ref] = read.stdout.split('\n');
  return { commit: commit || undefined, ref: ref || undefined };
}
