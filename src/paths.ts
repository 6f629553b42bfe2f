import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';

/** Where everything lives, derived from the repository root. One place, so no module guesses a path. */
export interface Paths {
  root: string;
  rules: string;
  scope: string;
  tasks: string;
  progress: string;
  state: string;
  locks: string;
  logs: string;
  daemonLog: string;
  /** Per-task worktrees: outside the working tree so the project's own tools never see them. */
  worktrees: string;
}

export function pathsFor(root: string, worktreeRoot?: string): Paths {
  const state = join(root, '.nightshift');
  return {
    root,
    rules: join(root, 'rules.md'),
    scope: join(root, 'scope.md'),
    tasks: join(root, 'tasks'),
    progress: join(root, 'progress.txt'),
    state,
    locks: join(state, 'locks'),
    logs: join(state, 'logs'),
    daemonLog: join(state, 'daemon.log'),
    worktrees: worktreeRoot ?? defaultWorktreeRoot(root),
  };
}

/**
 * ~/.cache/nightshift/worktrees/<repo>-<hash>: per user, outside any checkout, survives reboots (unlike /tmp
 * on many systems) and never collides between two checkouts with the same folder name.
 */
export function defaultWorktreeRoot(root: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.NIGHTSHIFT_WORKTREES) return env.NIGHTSHIFT_WORKTREES;
  const cache = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  const hash = createHash('sha256').update(root).digest('hex').slice(0, 10);
  return join(cache, 'nightshift', 'worktrees', `${basename(root)}-${hash}`);
}

export function taskLogDir(paths: Paths, id: string): string {
  return join(paths.logs, id);
}
