import { UsageError } from '../errors.js';
import { repoRoot } from '../git/git.js';
import { pathsFor, type Paths } from '../paths.js';
import { idProblem } from '../task/id.js';
import { loadTasks } from '../task/store.js';
import type { Task, TaskEntry } from '../task/task.js';

/** Output sink for commands, so tests and the CLI share one code path. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export async function openRepo(cwd: string): Promise<Paths> {
  const root = await repoRoot(cwd);
  if (!root) throw new UsageError(`${cwd} is not inside a git repository`, 'cd into your project, or run git init first');
  return pathsFor(root);
}

/** Validates an id from the command line before it goes near the file system or git. */
export function checkId(id: string): string {
  const problem = idProblem(id);
  if (problem) throw new UsageError(`bad task id: ${problem}`, 'task ids are file names in tasks/ without .md; nightshift list shows them');
  return id;
}

export async function findEntry(paths: Paths, id: string): Promise<{ entry: TaskEntry; entries: TaskEntry[] }> {
  checkId(id);
  const entries = await loadTasks(paths.tasks);
  const entry = entries.find((e) => (e.kind === 'task' ? e.task.id : e.invalid.id) === id);
  if (!entry) throw new UsageError(`no task "${id}" in tasks/`, 'nightshift list shows the tasks there are');
  return { entry, entries };
}

export function requireValid(entry: TaskEntry): Task {
  if (entry.kind === 'invalid') {
    throw new UsageError(`task ${entry.invalid.id} is invalid: ${entry.invalid.reason}`, `fix ${entry.invalid.file}; nightshift never rewrites a file it cannot parse`);
  }
  return entry.task;
}
