import type { Git } from './git.js';

/**
 * Pushes exactly `commit` to the remote's `refs/heads/<branch>`. Naming the commit, not the local branch,
 * matters: whatever moves the branch after nightshift checked the commit (a process the executor left, the
 * test command, a reviewer) must not decide what is published. The lease makes the push fail rather than
 * overwrite a branch of the same name that someone else pushed; our own earlier push of it (the
 * remote-tracking ref) is what the lease expects.
 */
export async function pushCommit(git: Git, remote: string, branch: string, commit: string): Promise<void> {
  const ref = `refs/heads/${branch}`;
  await git.raw(['push', '--quiet', '--porcelain', `--force-with-lease=${ref}`, remote, `${commit}:${ref}`]);
}

export type LeasePushResult = { kind: 'pushed' } | { kind: 'stale' } | { kind: 'failed'; message: string };

/**
 * Sets the remote's `refs/heads/<branch>` to `commit` only if it still is `expected` (the value just
 * fetched): a compare-and-swap, never a bare --force. `stale` means someone else moved it first.
 */
export async function pushWithLease(git: Git, remote: string, branch: string, commit: string, expected: string): Promise<LeasePushResult> {
  const ref = `refs/heads/${branch}`;
  const r = await git.status(['push', '--porcelain', `--force-with-lease=${ref}:${expected}`, remote, `${commit}:${ref}`]);
  if (r.code === 0) return { kind: 'pushed' };
  if (/\[rejected\] \((stale info|fetch first|non-fast-forward)\)/.test(r.stdout)) return { kind: 'stale' };
  const rejected = r.stdout.split('\n').find((l) => l.startsWith('!'));
  return { kind: 'failed', message: (rejected ?? r.stderr).trim() || `git push exited ${r.code}` };
}
