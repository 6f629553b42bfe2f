import type { Task } from '../task/task.js';
import type { BudgetKeeper } from './keeper.js';

/** While a budget holds the queue, how often it is looked at again (rules.md may have raised it). */
const BUDGET_RECHECK_MS = 2000;

/**
 * The scheduler's check before any claim: a reached day or run budget holds every ready task in the
 * queue. Looked at again every few seconds (rules.md may raise it) and when the budget day ends, and the
 * scheduler is woken once it no longer holds; --once does not wait.
 */
export class ClaimGate {
  /** Ready tasks the last check held back (for the run's summary). */
  held = 0;

  constructor(
    private readonly budget: BudgetKeeper | undefined,
    private readonly wake: { schedule(ms: number, fn: () => void): void; resume(): void; waits: () => boolean },
  ) {}

  /** True when nothing may be claimed now. */
  async holds(ready: readonly Task[], running: ReadonlyMap<string, unknown>): Promise<boolean> {
    const waiting = ready.filter((t) => !running.has(t.id)).length;
    const hit = waiting > 0 ? await this.budget?.reached() : undefined;
    this.held = hit ? waiting : 0;
    if (hit) this.recheck();
    return hit !== undefined;
  }

  private recheck(): void {
    const budget = this.budget;
    if (!budget || !this.wake.waits()) return;
    const dayEndsMs = Math.max(0, budget.nextDayStart().getTime() - Date.now());
    this.wake.schedule(Math.min(BUDGET_RECHECK_MS, dayEndsMs), () => {
      void budget.reached().then((hit) => (hit ? this.recheck() : this.wake.resume()));
    });
  }
}
