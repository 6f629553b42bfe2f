import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { isValidId } from '../task/id.js';
import { InternalError, TaskError } from '../errors.js';
import { noteGitProcess } from './count.js';
import { withRepoLock } from './repoLock.js';
import { identityConfig, type GitIdentity } from './identity.js';

export type { GitIdentity } from './identity.js';

/**
 * Every git call nightshift makes goes through here. Arguments are arrays (never a shell string), and
 * every value that came from a file is either a validated task id or sits after `--end-of-options`/`--`.
 */
export interface Git {
  readonly dir: string;
  raw(args: string[]): Promise<string>;
  /** Like raw, but returns the exit code instead of throwing on a non-zero one (killed after timeoutMs). */
  status(args: string[], timeoutMs?: number): Promise<{ code: number; stdout: string; stderr: string }>;
}

const GIT_ENV = { GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };

/**
 * Prepended to every git call nightshift makes. An executor can write the shared config and hooks dir:
 * nightshift's own commands must run none of its hooks (core.hooksPath=/dev/null finds no hook, the
 * reference-transaction one included), sign nothing (a gpgsign it set would fail every later commit), and
 * start no fsmonitor or ext:: transport command. Other keys that run commands (filters, sshCommand) are
 * restored from the snapshot before nightshift's next git command (see run/sharedState.ts).
 */
export const SAFE_CONFIG = [
  'core.hooksPath=/dev/null',
  'core.fsmonitor=false',
  'commit.gpgSign=false',
  'tag.gpgSign=false',
  'protocol.ext.allow=never',
].flatMap((c) => ['-c', c]);

/**
 * Runs git directly with child_process: an attempt makes a dozen git calls, and a wrapper that waits
 * 50 ms after every call that prints nothing (simple-git does, to be sure its output is complete) cost
 * a quarter of a second per task. stdin is closed, so git never waits for input; the user's environment
 * is passed on (their git must honour GIT_SSH_COMMAND, credential helpers and the like).
 */
export function openGit(dir: string, options: { identity?: GitIdentity; env?: Record<string, string> } = {}): Git {
  const prefix = options.identity ? identityConfig(options.identity) : [];
  const status = (args: string[], timeoutMs?: number) => runGit(dir, [...SAFE_CONFIG, ...prefix, ...args], timeoutMs, options.env);
  return {
    dir,
    raw: async (args) => {
      const r = await status(args);
      if (r.code !== 0) throw new Error(r.stderr || `git ${args[0] ?? ''} exited ${r.code}`);
      return r.stdout;
    },
    status,
  };
}

function runGit(
  cwd: string,
  args: string[],
  timeoutMs?: number,
  extraEnv?: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  noteGitProcess();
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd,
      env: { ...process.env, ...extraEnv, ...GIT_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    // Not installed, or the folder is gone: an error, as a failed spawn of git always was.
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({
        // Killed by a signal: the shell's convention, so callers see a failure with a number.
        code: code ?? 128 + (signal ? constants.signals[signal] : 0),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

export async function repoRoot(cwd: string): Promise<string | undefined> {
  const { code, stdout } = await openGit(cwd).status(['rev-parse', '--show-toplevel']);
  return code === 0 ? stdout.trim() : undefined;
}

export async function currentBranch(git: Git): Promise<string | undefined> {
  const { code, stdout } = await git.status(['symbolic-ref', '--short', '-q', 'HEAD']);
  return code === 0 && stdout.trim() ? stdout.trim() : undefined;
}

/** The commit a ref names, or undefined if it names none. */
export async function resolveCommit(git: Git, ref: string): Promise<string | undefined> {
  const { code, stdout } = await git.status(['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]);
  return code === 0 ? stdout.trim() : undefined;
}

export function taskBranch(id: string): string {
  if (!isValidId(id)) throw new InternalError(`refusing to build a branch name from invalid id ${JSON.stringify(id)}`);
  return `nightshift/${id}`;
}

export async function deleteBranch(git: Git, branch: string): Promise<void> {
  await git.status(['branch', '-D', '--', branch]);
}

/** Deletes a branch left at its base (no commit on it); the branch for `branch:` (null: none left). */
export async function dropEmptyBranch(git: Git, branch: string, baseCommit: string): Promise<string | null> {
  const at = await resolveCommit(git, `refs/heads/${branch}`);
  if (at === undefined) return null;
  if (at !== baseCommit) return branch;
  await deleteBranch(git, branch);
  return null;
}

export async function headCommit(git: Git): Promise<string> {
  return (await git.raw(['rev-parse', '--verify', 'HEAD'])).trim();
}

export async function isAncestor(git: Git, ancestor: string, descendant: string): Promise<boolean> {
  const { code } = await git.status(['merge-base', '--is-ancestor', ancestor, descendant]);
  return code === 0;
}

/**
 * Soft-resets the executor's own commits onto `base`, keeping their changes in the index and worktree.
 * `head` is the worktree's HEAD, when the caller has just read it.
 */
export async function foldCommitsOnto(git: Git, base: string, head?: string): Promise<void> {
  const at = head ?? (await headCommit(git));
  if (at === base) return;
  if (!(await isAncestor(git, base, at))) {
    throw new TaskError('the executor rewrote history: the base commit is no longer an ancestor of HEAD', true);
  }
  await git.raw(['reset', '--soft', base]);
}

export async function remoteExists(git: Git, remote: string): Promise<boolean> {
  const { code } = await git.status(['remote', 'get-url', '--', remote]);
  return code === 0;
}

/**
 * Combines several commits into one merge commit without a worktree (git >= 2.38 merge-tree). Returns
 * undefined when they conflict. Used to start a task on top of all its not-yet-landed dependencies.
 */
export async function mergeCommits(git: Git, commits: string[], message: string): Promise<string | undefined> {
  let current = commits[0] as string;
  for (const next of commits.slice(1)) {
    const merged = await git.status(['merge-tree', '--write-tree', '--no-messages', current, next]);
    if (merged.code !== 0) return undefined;
    const tree = merged.stdout.split('\n')[0]?.trim() as string;
    current = (await git.raw(['commit-tree', tree, '-p', current, '-p', next, '-m', message])).trim();
  }
  return current;
}

export type FetchResult = { kind: 'ok'; commit: string } | { kind: 'missing' } | { kind: 'failed'; message: string };

/**
 * Fetches `base` from the remote into its remote-tracking ref and returns the commit fetched. Fetches in one
 * process run one at a time, and a fetch that lost a ref lock to another process is tried again: both update
 * refs/remotes/<remote>/<base>. --no-write-fetch-head leaves the user's FETCH_HEAD alone.
 */
export async function fetchBase(git: Git, remote: string, base: string): Promise<FetchResult> {
  const tracking = `refs/remotes/${remote}/${base}`;
  // Across processes too: two daemons fetching into one repository fight over the same ref locks.
  return serialisedFetch(() =>
    withRepoLock(git, async (): Promise<FetchResult> => {
      let message = '';
      for (let tries = 0; tries < 3; tries++) {
        const r = await git.status(['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', remote, `+refs/heads/${base}:${tracking}`]);
        if (r.code === 0) {
          const commit = await resolveCommit(git, tracking);
          return commit ? { kind: 'ok', commit } : { kind: 'missing' };
        }
        if (/couldn't find remote ref/.test(r.stderr)) return { kind: 'missing' };
        message = r.stderr.trim() || `git fetch exited ${r.code}`;
        if (!/cannot lock ref|unable to update local ref|\.lock/.test(r.stderr)) break;
      }
      return { kind: 'failed', message };
    }),
  );
}

let fetchQueue: Promise<unknown> = Promise.resolve();
function serialisedFetch<T>(fn: () => Promise<T>): Promise<T> {
  const next = fetchQueue.then(fn, fn);
  fetchQueue = next.catch(() => undefined);
  return next;
}

export type RebaseResult = { kind: 'rebased'; head: string } | { kind: 'conflict'; paths: string[] } | { kind: 'failed'; message: string };

/**
 * Replays the worktree's commits after `upstream` (the task's own: the commit it started from is
 * `upstream`) on top of `onto`. Options the user may have configured to
 * change what a rebase does (autostash, autosquash, update-refs, rebase-merges) are turned off, and so is the
 * pre-rebase hook: this is nightshift moving its own commit. On a conflict the rebase is aborted, leaving
 * the branch as it was, and the conflicting paths are returned.
 */
export async function rebaseOnto(git: Git, onto: string, upstream: string): Promise<RebaseResult> {
  const r = await git.status([
    'rebase',
    '--quiet',
    '--no-verify',
    '--no-autostash',
    '--no-autosquash',
    '--no-update-refs',
    '--no-rebase-merges',
    '--onto',
    onto,
    upstream,
  ]);
  if (r.code === 0) return { kind: 'rebased', head: await headCommit(git) };
  const unmerged = await git.status(['diff', '--name-only', '--diff-filter=U', '-z']);
  const paths = unmerged.stdout.split('\0').filter(Boolean);
  await git.status(['rebase', '--abort']);
  if (paths.length > 0) return { kind: 'conflict', paths: [...new Set(paths)] };
  return { kind: 'failed', message: (r.stderr || r.stdout).trim() || `git rebase exited ${r.code}` };
}

/** Moves `ref` from `from` to `to` only if it still is `from` (git checks under the ref's lock). */
export async function moveRef(git: Git, ref: string, to: string, from: string): Promise<boolean> {
  const { code } = await git.status(['update-ref', '-m', 'nightshift: landed', ref, to, from]);
  return code === 0;
}

/** Points a branch at a commit, creating or moving it (for keeping a commit a retry would otherwise drop). */
export async function setBranch(git: Git, branch: string, commit: string): Promise<void> {
  await git.raw(['update-ref', '-m', 'nightshift: kept', `refs/heads/${branch}`, commit]);
}
