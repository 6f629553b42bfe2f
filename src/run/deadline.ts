import type { SpawnOutcome } from '../exec/spawn.js';
import { formatDuration } from '../util/duration.js';

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

  reason(step: string): string {
    return `attempt timed out after ${formatDuration(this.totalMs)} in ${step}`;
  }
}
