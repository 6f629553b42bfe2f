import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, relative } from 'node:path';

/** What an executor is told about where things are: only paths outside the user's checkout. */
export interface ExecutorPlaces {
  /** The user's checkout: no variable handed on may name it. */
  root: string;
  worktree: string;
  taskId: string;
  attempt: number;
  /** The per-attempt copies (see run/attemptFiles.ts), never the originals in the checkout. */
  promptFile: string;
  taskFile: string;
}

/**
 * The spellings of the checkout's path a variable could hold: as given and with links resolved (a daemon
 * started from a symlinked folder inherits PWD in the unresolved form).
 */
export function checkoutSpellings(root: string): string[] {
  let real = root;
  try {
    real = realpathSync(root);
  } catch {
    // a checkout that vanished has nothing left to hide
  }
  return [...new Set([root, real])].filter((p) => p.length > 1);
}

/**
 * Whether `value` names the checkout or anything inside it. `/work/app` must not match `/work/app2`, so
 * the path has to end there or go on with something that is not part of a file name.
 */
export function namesCheckout(value: string, spellings: string[]): boolean {
  for (const root of spellings) {
    let at = value.indexOf(root);
    while (at !== -1) {
      const next = value[at + root.length];
      if (next === undefined || !/[A-Za-z0-9._~+-]/.test(next)) return true;
      at = value.indexOf(root, at + 1);
    }
  }
  return false;
}

/**
 * The executor's environment: the user's own (agents need their credentials and tools) minus every
 * variable that would lead it back to the user's checkout, plus where its own things are. An agent that
 * believes PWD (opencode does) must work in the worktree; OLDPWD, INIT_CWD and npm's variables name the
 * folder the daemon was started from. PATH stays, without its entries inside the checkout: those point
 * at the same folders in the worktree instead (`<checkout>/node_modules/.bin` under npx), so the task's
 * own tools are still found there.
 */
export function executorEnv(base: NodeJS.ProcessEnv, places: ExecutorPlaces): NodeJS.ProcessEnv {
  const spellings = checkoutSpellings(places.root);
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(base)) {
    if (value === undefined) continue;
    if (name === 'PATH') env.PATH = pathInWorktree(value, spellings, places.worktree);
    // HOME stays even for a checkout that is the home folder itself: agents find their logins there.
    else if (name === 'HOME' || !namesCheckout(value, spellings)) env[name] = value;
  }
  return {
    ...env,
    PWD: places.worktree,
    NIGHTSHIFT_TASK_ID: places.taskId,
    NIGHTSHIFT_ATTEMPT: String(places.attempt),
    NIGHTSHIFT_PROMPT_FILE: places.promptFile,
    NIGHTSHIFT_TASK_FILE: places.taskFile,
    NIGHTSHIFT_WORKTREE: places.worktree,
  };
}

/** PATH with each entry inside the checkout moved to the same place in the worktree. */
export function pathInWorktree(path: string, spellings: string[], worktree: string): string {
  return path
    .split(delimiter)
    .map((entry) => {
      const inside = spellings
        .map((root) => relative(root, entry))
        .find((rel) => rel === '' || (!rel.startsWith('..') && !isAbsolute(rel)));
      return inside === undefined ? entry : join(worktree, inside);
    })
    .join(delimiter);
}

/**
 * The program to start: a bare name found on the executor's PATH stays as it is; one found only on the
 * daemon's own PATH (a CLI installed in the checkout's node_modules/.bin, reached through npx) is started
 * by its absolute path, so moving PATH away from the checkout never makes an installed executor vanish.
 */
export function resolveProgram(program: string, executorPath: string | undefined, daemonPath: string | undefined): string {
  if (program.includes('/')) return program;
  if (locateProgram(program, executorPath)) return program;
  return locateProgram(program, daemonPath) ?? program;
}

/** Where `program` is on `path`: the first executable file of that name, as execvp would find it. */
export function locateProgram(program: string, path: string | undefined): string | undefined {
  for (const dir of (path ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
