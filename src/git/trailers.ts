import type { Git } from './git.js';

/** The trailer every task commit carries (see the contract): `Nightshift-Task: <id>`. */
export const TASK_TRAILER = 'Nightshift-Task';

/** A commit's parents and the values of its Nightshift-Task trailers, in one `git log`; undefined when it is no commit. */
export async function taskTrailers(git: Git, commit: string): Promise<{ parents: string[]; tasks: string[] } | undefined> {
  const out = await git.status(['log', '-1', `--format=%P%x00%(trailers:key=${TASK_TRAILER},valueonly)`, '--end-of-options', commit]);
  if (out.code !== 0) return undefined;
  const [parents = '', trailer = ''] = out.stdout.split('\0');
  return {
    parents: parents.trim().split(' ').filter(Boolean),
    tasks: trailer
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean),
  };
}
