import { UsageError } from '../errors.js';
import { repoRoot } from '../git/git.js';
import { pathsFor, type Paths } from '../paths.js';
import { idProblem } from '../task/id.js';
import { loadTasks, updateTask } from '../task/store.js';
import type { OwnedChanges, Task, TaskEntry } from '../task/task.js';

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

export type Transition = { kind: 'changed'; from: Task } | { kind: 'refused'; status: string };

/**
 * Changes one task's owned keys under its edit lock, deciding on the file as it is now (the daemon may
 * have moved it on). Says what it was before, or which status made `decide` refuse.
 */
export async function transition(paths: Paths, task: Task, decide: (now: Task) => OwnedChanges | undefined): Promise<Transition> {
  let before: Task | undefined;
  const result = await updateTask(paths.locks, task.file, task.id, (now) => {
    const changes = decide(now);
    if (changes) before = now;
    return changes;
  });
  if (result.kind === 'updated' && before) return { kind: 'changed', from: before };
  return { kind: 'refused', status: result.kind === 'updated' || result.kind === 'unchanged' ? result.task.status : 'unreadable' };
}

export function requireValid(entry: TaskEntry): Task {
  if (entry.kind === 'invalid') {
    throw new UsageError(`task ${entry.invalid.id} is invalid: ${entry.invalid.reason}`, `fix ${entry.invalid.file}; nightshift never rewrites a file it cannot parse`);
  }
  return entry.task;
}
