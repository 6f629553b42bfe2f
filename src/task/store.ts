import { hasCode } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { withEditLock } from '../locks/claims.js';
import { parseTask } from './parse.js';
import { updateTaskText } from './update.js';
import { TaskCache } from './cache.js';
import { readTaskEntry } from './read.js';
import type { OwnedChanges, Task, TaskEntry } from './task.js';

export { idFromFileName } from './fileName.js';
export { readTaskEntry } from './read.js';

/**
 * Every task file in tasks/, valid or not, sorted by file name. Duplicate ids make both files invalid.
 * With `ids`, only the files of those ids are read (a command about one task need not parse 10,000).
 */
export async function loadTasks(tasksDir: string, ids?: Iterable<string>): Promise<TaskEntry[]> {
  return new TaskCache(tasksDir).scan(ids === undefined ? undefined : new Set(ids));
}

export type UpdateResult =
  { kind: 'updated'; task: Task } | { kind: 'unchanged'; task: Task } | { kind: 'gone' } | { kind: 'invalid'; reason: string };

/**
 * Read-modify-write of one task file under its edit lock. `decide` sees the task as it is on disk now
 * (another process may have changed it) and returns the owned keys to change, or undefined to leave it.
 * A file that no longer parses is never written.
 */
export async function updateTask(
  locksDir: string,
  file: string,
  id: string,
  decide: (task: Task) => OwnedChanges | undefined,
  /** Runs still under the edit lock once the file is written (a progress line that must not trail a scan). */
  onWritten?: (before: Task, after: Task) => Promise<void>,
): Promise<UpdateResult> {
  return withEditLock(locksDir, id, async () => {
    let entry: TaskEntry;
    try {
      entry = await readTaskEntry(file, id);
    } catch (err) {
      if (hasCode(err, 'ENOENT')) return { kind: 'gone' };
      throw err;
    }
    if (entry.kind === 'invalid') return { kind: 'invalid', reason: entry.invalid.reason };
    const changes = decide(entry.task);
    if (!changes) return { kind: 'unchanged', task: entry.task };
    const text = updateTaskText(entry.task.text, changes);
    await writeFileAtomic(file, text);
    const reread = parseTask(id, file, Buffer.from(text, 'utf8'));
    if (reread.kind !== 'ok') return { kind: 'invalid', reason: reread.reason };
    await onWritten?.(entry.task, reread.task);
    return { kind: 'updated', task: reread.task };
  });
}
