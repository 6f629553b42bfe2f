import type { Readiness } from '../task/readiness.js';
import type { TaskEntry } from '../task/task.js';
import type { ToBlock } from '../task/transitionsUnclaimed.js';

/**
 * In watch mode a task whose dependency is missing or does not parse is blocked only once that has lasted
 * this long: a planner writing several files may write the dependency a moment after the task needing it.
 */
export const DEPENDENCY_SETTLE_MS = 5000;

/**
 * The missing-dependency wait: remembers when each task was first seen waiting on a missing or unparsable
 * dependency, and says whether it is still too early to block it for that.
 */
export class DependencyWait {
  /** When each task was first seen waiting on a missing or unparsable dependency. */
  private readonly since = new Map<string, number>();

  /** @param wakeIn books a scan in this many milliseconds, unless one is booked already. */
  constructor(private readonly wakeIn: (ms: number) => void) {}

  /**
   * True while a task's missing or unparsable dependency has lasted less than DEPENDENCY_SETTLE_MS; a
   * scan is booked for when it will have.
   */
  private mayStillCome(id: string): boolean {
    const now = Date.now();
    const since = this.since.get(id) ?? now;
    this.since.set(id, since);
    const left = since + DEPENDENCY_SETTLE_MS - now;
    if (left <= 0) return false;
    this.wakeIn(left + 50);
    return true;
  }

  /** Tasks no longer waiting on a missing or unparsable dependency start from scratch if it happens again. */
  private forgetSettled(readiness: Map<string, Readiness>): void {
    for (const id of this.since.keys()) {
      const r = readiness.get(id);
      if (r?.kind !== 'blocked' || !r.provisional) this.since.delete(id);
    }
  }

  /**
   * The tasks that can never run, to block now: not one that runs, nor (in watch mode, `wait`) one whose
   * missing or unparsable dependency may still be written.
   */
  toBlockNow(entries: TaskEntry[], readiness: Map<string, Readiness>, running: ReadonlyMap<string, unknown>, wait: boolean): ToBlock[] {
    this.forgetSettled(readiness);
    const toBlock: ToBlock[] = [];
    for (const e of entries) {
      if (e.kind !== 'task') continue;
      const r = readiness.get(e.task.id);
      if (r?.kind !== 'blocked' || running.has(e.task.id)) continue;
      if (r.provisional && wait && this.mayStillCome(e.task.id)) continue;
      toBlock.push({ task: e.task, reason: r.reason });
    }
    return toBlock;
  }
}
