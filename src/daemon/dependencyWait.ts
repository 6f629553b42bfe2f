import type { Readiness } from '../queue/plan.js';

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
  mayStillCome(id: string): boolean {
    const now = Date.now();
    const since = this.since.get(id) ?? now;
    this.since.set(id, since);
    const left = since + DEPENDENCY_SETTLE_MS - now;
    if (left <= 0) return false;
    this.wakeIn(left + 50);
    return true;
  }

  /** Tasks no longer waiting on a missing or unparsable dependency start from scratch if it happens again. */
  forgetSettled(readiness: Map<string, Readiness>): void {
    for (const id of this.since.keys()) {
      const r = readiness.get(id);
      if (r?.kind !== 'blocked' || !r.provisional) this.since.delete(id);
    }
  }
}
