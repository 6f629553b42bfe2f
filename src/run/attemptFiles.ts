import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Beside the pool's slots under the worktree root, outside the user's checkout: one folder per slot,
 * emptied at each attempt (the slot's lease makes the attempt its only user). Starts with `_` like the
 * slots, so it is never taken for a task's worktree.
 */
export const ATTEMPT_FILES_DIR = '_attempt-files';

/**
 * What the executor is handed instead of the files in the user's checkout. The task file and the prompts
 * there are the daemon's and the user's: an executor given their paths could edit its own status or learn
 * where the checkout is. It gets copies; nothing reads them back.
 */
export interface AttemptFiles {
  dir: string;
  /** A copy of the task file as the attempt started. */
  taskFile: string;
  /** Where `name` is (or will be) in the folder. */
  path(name: string): string;
  /** Writes `text` as `name` in the folder and returns its path (a prompt the executor reads). */
  expose(name: string, text: string): Promise<string>;
}

export function attemptFilesDir(worktree: string): string {
  return join(dirname(worktree), ATTEMPT_FILES_DIR, basename(worktree));
}

/** Empties the slot's folder and puts the task file's copy in it. */
export async function prepareAttemptFiles(worktree: string, taskId: string, taskText: string): Promise<AttemptFiles> {
  const dir = attemptFilesDir(worktree);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const expose = async (name: string, text: string): Promise<string> => {
    const file = join(dir, name);
    await rm(file, { force: true });
    await writeFile(file, text, { mode: 0o600 });
    return file;
  };
  const taskFile = await expose(`${taskId}.md`, taskText);
  // Read-only: a reminder that writing it changes nothing (the executor could chmod it, to no effect).
  await chmod(taskFile, 0o400);
  return { dir, taskFile, path: (name) => join(dir, name), expose };
}
