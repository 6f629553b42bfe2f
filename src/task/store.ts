import { open, readdir, lstat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { hasCode } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { withEditLock } from '../state/locks.js';
import { MAX_TASK_BYTES, parseTask, tooBig } from './parse.js';
import { updateTaskText } from './update.js';
import type { InvalidTask, OwnedChanges, Task, TaskEntry } from './task.js';

const TASK_EXTENSIONS = ['.md', '.markdown'];

/** The id a file name stands for, or undefined when the file is not a task file at all. */
export function idFromFileName(name: string): string | undefined {
  if (name.startsWith('.')) return undefined; // temp files of atomic writers, editor swap files
  if (/^readme\.(md|markdown)$/i.test(name)) return undefined; // a note about the queue, not a task
  const ext = TASK_EXTENSIONS.find((e) => name.endsWith(e));
  return ext ? name.slice(0, -ext.length) : undefined;
}

/** Reads one task file without ever loading more than the size limit. */
export async function readTaskEntry(file: string, id: string): Promise<TaskEntry> {
  let handle;
  try {
    const info = await lstat(file);
    if (info.isSymbolicLink()) return invalid(id, file, 'the task file is a symlink; nightshift rewrites task files in place, so copy the file instead');
    if (!info.isFile()) return invalid(id, file, 'not a regular file');
    if (info.size > MAX_TASK_BYTES) return invalid(id, file, tooBig(info.size));
    handle = await open(file, 'r');
    const buffer = Buffer.alloc(MAX_TASK_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > MAX_TASK_BYTES) return invalid(id, file, tooBig(bytesRead));
    const result = parseTask(id, file, buffer.subarray(0, bytesRead));
    return result.kind === 'ok' ? { kind: 'task', task: result.task } : invalid(id, file, result.reason);
  } finally {
    await handle?.close();
  }
}

/** Every task file in tasks/, valid or not, sorted by file name. Duplicate ids make both files invalid. */
export async function loadTasks(tasksDir: string): Promise<TaskEntry[]> {
  let names: string[];
  try {
    names = await readdir(tasksDir);
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return [];
    throw err;
  }
  names.sort();
  const byId = new Map<string, string[]>();
  for (const name of names) {
    const id = idFromFileName(name);
    if (id === undefined) continue;
    byId.set(id, [...(byId.get(id) ?? []), name]);
  }
  const entries: TaskEntry[] = [];
  for (const name of names) {
    const id = idFromFileName(name);
    if (id === undefined) continue;
    const file = join(tasksDir, name);
    const twins = (byId.get(id) ?? []).filter((n) => n !== name);
    if (twins.length > 0) {
      entries.push(invalid(id, file, `duplicate id "${id}": ${twins.map((t) => relative(tasksDir, join(tasksDir, t))).join(', ')} has the same id; rename one of them`));
      continue;
    }
    try {
      entries.push(await readTaskEntry(file, id));
    } catch (err) {
      // Deleted or renamed between readdir and read: it is simply not there any more.
      if (hasCode(err, 'ENOENT')) continue;
      entries.push(invalid(id, file, `cannot read the file: ${(err as Error).message}`));
    }
  }
  return entries;
}

export type UpdateResult = { kind: 'updated'; task: Task } | { kind: 'unchanged'; task: Task } | { kind: 'gone' } | { kind: 'invalid'; reason: string };

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
    return { kind: 'updated', task: reread.task };
  });
}

function invalid(id: string, file: string, reason: string): TaskEntry {
  const value: InvalidTask = { id, file, reason };
  return { kind: 'invalid', invalid: value };
}
