import type { SpawnOutcome } from '../exec/spawn.js';
import { formatDuration } from '../util/duration.js';

const OVER_DEADLINE = new WeakMap<SpawnOutcome, AttemptDeadline>();

/**
 * `timeout` bounds the whole attempt: setup, executors, tests, review and land's retest share one
 * deadline. Each step gets what is left, or its own smaller limit (test_timeout). Without this, every
 * step could take the full timeout and an attempt could run five times as long as the user allowed.
 */
export class AttemptDeadline {
  private readonly at: number;

  constructor(
    readonly totalMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.at = now() + totalMs;
  }

  remainingMs(): number {
    return Math.max(0, this.at - this.now());
  }

  /** The limit a step runs under, and whether it is the attempt's deadline rather than its own. */
  limitFor(stepMs: number): { timeoutMs: number; byDeadline: boolean } {
    const left = this.remainingMs();
    return stepMs < left ? { timeoutMs: stepMs, byDeadline: false } : { timeoutMs: left, byDeadline: true };
  }

  /** What a step that cannot start any more returns: its time is up before it began. */
  static expired(): SpawnOutcome {
    return { kind: 'timed-out', limit: 'timeout', afterMs: 0, durationMs: 0 };
  }

  /** Records that `outcome` timed out on this deadline, not on a limit of the step's own. */
  mark(outcome: SpawnOutcome): SpawnOutcome {
    OVER_DEADLINE.set(outcome, this);
    return outcome;
  }

  /** The deadline a step's outcome ran out on, if it did. */
  static over(outcome: SpawnOutcome): AttemptDeadline | undefined {
    return OVER_DEADLINE.get(outcome);
  }

  reason(step: string): string {
    return `attempt timed out after ${formatDuration(this.totalMs)} in ${step}`;
  }
}
