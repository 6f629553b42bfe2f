import { UsageError } from '../errors.js';
import type { Paths } from '../paths.js';
import { idProblem } from '../task/id.js';
import { loadTasks } from '../task/store.js';
import type { Task, TaskEntry } from '../task/task.js';

/** The tasks a command names by id (show, logs, requeue, cancel): checked, found, and required valid. */

/** Validates an id from the command line before it goes near the file system or git. */
export function checkId(id: string): string {
  const problem = idProblem(id);
  if (problem) throw new UsageError(`bad task id: ${problem}`, 'task ids are file names in tasks/ without .md; nightshift list shows them');
  return id;
}

export async function findEntry(paths: Paths, id: string): Promise<TaskEntry> {
  return entryFor(await loadTasks(paths.tasks, [checkId(id)]), id);
}

/** The entry for `id` in an already-loaded folder, so a command naming many tasks reads tasks/ once. */
export function entryFor(entries: TaskEntry[], id: string): TaskEntry {
  checkId(id);
  const entry = entries.find((e) => (e.kind === 'task' ? e.task.id : e.invalid.id) === id);
  if (!entry) throw new UsageError(`no task "${id}" in tasks/`, 'nightshift list shows the tasks there are');
  return entry;
}

export function requireValid(entry: TaskEntry): Task {
  if (entry.kind === 'invalid') {
    throw new UsageError(
      `task ${entry.invalid.id} is invalid: ${entry.invalid.reason}`,
      `fix ${entry.invalid.file}; nightshift never rewrites a file it cannot parse`,
    );
  }
  return entry.task;
}
