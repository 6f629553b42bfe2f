import { isDeepStrictEqual } from 'node:util';
import type { ProgressLog } from '../progress/log.js';
import { updateTask, type UpdateResult } from '../task/store.js';
import { OWNED_KEYS, type OwnedChanges, type OwnedKey, type OwnedValue, type Task, type TaskEntry } from '../task/task.js';

/**
 * While a task runs, the keys nightshift owns in its file are what the daemon last wrote, whatever the
 * file says now. The executor is handed a copy of its task file, but it can still find the real one
 * (through the shared git dir, `../tasks/<id>.md`) and write `status: done` or `attempts: 0` there.
 * Such values are never believed: the daemon keeps its own, puts them back at its next write (the user's
 * keys and the body untouched) and says so in progress.txt. Only `cancelled` is taken from the file: a
 * person (or `nightshift cancel`) may always stop a task.
 */
export class OwnedKeys {
  private written: Map<OwnedKey, unknown> | undefined;

  /** Without a place to write (table tests), only the pure part below is usable. */
  constructor(private readonly store?: { locksDir: string; progress: ProgressLog }) {}

  /**
   * Writes `changes` to the task file when `guard` accepts it as it is on disk now, putting back any owned
   * key someone else changed, and records what the file holds afterwards.
   */
  async update(
    task: Task,
    changes: OwnedChanges,
    guard: (onDisk: Task) => boolean,
    // How to write: by default the task's file; a run that follows a renamed file passes its own writer.
    writer: (decide: (onDisk: Task) => OwnedChanges | undefined) => Promise<UpdateResult> = (decide) =>
      updateTask(this.need().locksDir, task.file, task.id, decide),
  ): Promise<UpdateResult> {
    const store = this.need();
    let restored: OwnedKey[] = [];
    const result = await writer((onDisk) => {
      if (!guard(onDisk)) return undefined;
      const merged = this.merge(onDisk, changes);
      restored = merged.restored;
      return merged.changes;
    });
    if (result.kind === 'updated') this.record(result.task);
    if (result.kind === 'updated' && restored.length > 0) {
      await store.progress.append(result.task.id, 'task-file-restored', {
        keys: restored.join(','),
        reason: 'changed by someone else while running',
      });
    }
    return result;
  }

  private need(): { locksDir: string; progress: ProgressLog } {
    if (!this.store) throw new Error('OwnedKeys.update needs a store');
    return this.store;
  }

  /** Remembers the owned keys as the daemon's own write left them. */
  record(task: Task): void {
    this.written = new Map(OWNED_KEYS.map((key) => [key, task.frontmatter[key]]));
  }

  /** Owned keys whose value in `onDisk` is not the daemon's (none before the daemon's first write). */
  tampered(onDisk: Task): OwnedKey[] {
    const written = this.written;
    if (!written) return [];
    return OWNED_KEYS.filter((key) => !isDeepStrictEqual(onDisk.frontmatter[key], written.get(key)));
  }

  /**
   * The changes to write over `onDisk`: `changes`, plus every owned key someone else changed put back to
   * the daemon's value. Also returns which keys were put back.
   */
  merge(onDisk: Task, changes: OwnedChanges): { changes: OwnedChanges; restored: OwnedKey[] } {
    const restored = this.tampered(onDisk).filter((key) => changes[key] === undefined);
    if (restored.length === 0) return { changes, restored };
    const merged: OwnedChanges = { ...changes };
    for (const key of restored) merged[key] = asOwnedValue(this.written?.get(key));
    return { changes: merged, restored };
  }
}

/** The file is the daemon's while it runs the task, unless someone cancelled it. */
export function stillRunnable(onDisk: Task): boolean {
  return onDisk.status !== 'cancelled';
}

/** A value read from the daemon's own write, as a value to write again (absent = remove the key). */
function asOwnedValue(value: unknown): OwnedValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number' || typeof value === 'string') return value;
  return typeof value === 'boolean' || typeof value === 'bigint' ? String(value) : JSON.stringify(value);
}

/**
 * The queue as the scheduler must see it: a task this daemon is running is `running`, whatever its file
 * says now (an executor that wrote `status: done` there must not release the tasks that depend on it).
 * The same array when nothing is overridden, so the scheduler's plan cache keeps working.
 */
export function ownRunsAsRunning(entries: TaskEntry[], running: { has(id: string): boolean }): TaskEntry[] {
  let changed = false;
  const view = entries.map((e): TaskEntry => {
    if (e.kind !== 'task' || !running.has(e.task.id) || e.task.status === 'running' || e.task.status === 'cancelled') return e;
    changed = true;
    return { kind: 'task', task: { ...e.task, status: 'running' } };
  });
  return changed ? view : entries;
}
