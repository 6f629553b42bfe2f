import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

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
  /** The checkout's daemon: refuses a second one unless --allow-multiple. */
  pidFile: string;
  /** One status file per running daemon (`<pid>.json`), read by `daemon status` and `daemon stop`. */
  daemons: string;
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
    locks: locksDirFor(root, state),
    logs: join(state, 'logs'),
    daemonLog: join(state, 'daemon.log'),
    pidFile: join(state, 'daemon.pid'),
    daemons: join(state, 'daemons'),
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

/**
 * Claims must be seen by every daemon that reads the same task files. Normally tasks/ belongs to one
 * checkout and the locks live in its .nightshift/. When tasks/ is a symlink, the locks live with the
 * folder it points to: in the .nightshift/ of the checkout that folder belongs to (its `tasks/`), or else
 * (a folder outside every checkout) in the folder's own `.nightshift/locks`. Every daemon sharing the
 * folder thus looks in one place. Dot names are never task files, and the watcher ignores them.
 */
export function locksDirFor(root: string, state: string): string {
  try {
    const real = realpathSync(join(root, 'tasks'));
    if (real !== join(realpathSync(root), 'tasks')) {
      const owner = dirname(real);
      if (basename(real) === 'tasks' && existsSync(join(owner, '.git'))) return join(owner, '.nightshift', 'locks');
      return join(real, '.nightshift', 'locks');
    }
  } catch {
    // no tasks/ yet: nothing to share
  }
  return join(state, 'locks');
}
