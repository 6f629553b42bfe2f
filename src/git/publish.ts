import type { Git } from './git.js';
import type { PushFence } from '../locks/fence.js';

export type { PushFence } from '../locks/fence.js';

/** The push arguments before the remote and after it, with a fence's refs in the same atomic push. */
function fenced(options: string[], specs: string[], fence?: PushFence): { before: string[]; after: string[] } {
  if (!fence) return { before: options, after: specs };
  return { before: [...options, '--atomic', ...fence.leases], after: [...specs, ...fence.refspecs] };
}

/**
 * Pushes exactly `commit` to the remote's `refs/heads/<branch>`. Naming the commit, not the local branch,
 * matters: whatever moves the branch after nightshift checked the commit (a process the executor left, the
 * test command, a reviewer) must not decide what is published. The lease makes the push fail rather than
 * overwrite a branch of the same name that someone else pushed; our own earlier push of it (the
 * remote-tracking ref) is what the lease expects.
 */
export async function pushCommit(git: Git, remote: string, branch: string, commit: string, fence?: PushFence): Promise<void> {
  const ref = `refs/heads/${branch}`;
  const { before, after } = fenced(['--quiet', '--porcelain', `--force-with-lease=${ref}`], [`${commit}:${ref}`], fence);
  let pushed = false;
  try {
    await git.raw(['push', ...before, remote, ...after]);
    pushed = true;
  } finally {
    await fence?.settle(pushed);
  }
}

export type LeasePushResult = { kind: 'pushed' } | { kind: 'stale' } | { kind: 'failed'; message: string };

/**
 * Sets the remote's `refs/heads/<branch>` to `commit` only if it still is `expected` (the value just
 * fetched): a compare-and-swap, never a bare --force. `stale` means someone else moved it first.
 */
export async function pushWithLease(
  git: Git,
  remote: string,
  branch: string,
  commit: string,
  expected: string,
  fence?: PushFence,
): Promise<LeasePushResult> {
  const ref = `refs/heads/${branch}`;
  const { before, after } = fenced(['--porcelain', `--force-with-lease=${ref}:${expected}`], [`${commit}:${ref}`], fence);
  let r: { code: number; stdout: string; stderr: string } | undefined;
  try {
    r = await git.status(['push', ...before, remote, ...after]);
  } finally {
    await fence?.settle(r?.code === 0);
  }
  if (r.code === 0) return { kind: 'pushed' };
  if (/\[rejected\] \((stale info|fetch first|non-fast-forward)\)/.test(r.stdout)) return { kind: 'stale' };
  const rejected = r.stdout.split('\n').find((l) => l.startsWith('!'));
  return { kind: 'failed', message: (rejected ?? r.stderr).trim() || `git push exited ${r.code}` };
}
