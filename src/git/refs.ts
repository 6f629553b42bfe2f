import type { Git } from './git.js';

/**
 * Refs nightshift reads from a remote or writes outside a task's branch. Each write names the ref in
 * full; values come from git's own output (a reflog, ls-remote), never from a file an executor wrote.
 */

/** The remote's `refs/heads/<branch>`: its commit, undefined when it has none, or unknown when the remote did not answer. */
export type RemoteTip = { kind: 'ok'; commit: string | undefined } | { kind: 'unknown' };

/** One `git ls-remote` (killed after timeoutMs: a slow remote must not hold an attempt). */
export async function remoteTip(git: Git, remote: string, branch: string, timeoutMs: number): Promise<RemoteTip> {
  const ref = `refs/heads/${branch}`;
  const r = await git.status(['ls-remote', remote, ref], timeoutMs);
  if (r.code !== 0) return { kind: 'unknown' };
  // A pattern matches any ref ending in it: only the exact name counts.
  const line = r.stdout.split('\n').find((l) => l.endsWith(`\t${ref}`));
  return { kind: 'ok', commit: line?.split('\t')[0] };
}

/** Points `ref` at `commit` so it stays reachable (no reflog message: a quarantine ref is new). Never throws. */
export async function keepReachable(git: Git, ref: string, commit: string): Promise<boolean> {
  return (await git.status(['update-ref', ref, commit])).code === 0;
}

/** refs/stash set to `commit`, or deleted when there is none (update-ref removes a loose and a packed one). */
export async function setStashRef(git: Git, commit: string | undefined): Promise<void> {
  if (commit) await git.raw(['update-ref', '-m', 'nightshift: restore the stash', 'refs/stash', commit]);
  else await git.status(['update-ref', '-d', 'refs/stash']);
}
