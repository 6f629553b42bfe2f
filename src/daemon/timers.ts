/**
 * Every timer the daemon keeps, by name. Each exists so that something is looked at again later without
 * a sleep anywhere: the scheduler books them, and stopping clears them all at once.
 */
export type TimerName =
  /** The safety-net full rescan of tasks/ in watch mode (the watcher only gives hints). */
  | 'rescan'
  /** A file that does not parse, looked at again once it has stopped changing. */
  | 'invalid-settle'
  /** A task whose dependency is missing, looked at again once it has been missing long enough. */
  | 'dependency-settle'
  /** A task held by another process, looked at again a few seconds later. */
  | 'retry-soon'
  /** A parked executor's reset time (a usage limit). */
  | 'resume-parked'
  /** A graceful stop's grace period for running attempts. */
  | 'stop-grace'
  /** A reached day or run budget, looked at again (rules.md may raise it; the day rolls over). */
  | 'budget-recheck';

interface TimerOptions {
  /**
   * Do not keep the process alive for this timer alone. Timers whose callback only matters while
   * something else (a running task, the watcher) keeps the daemon up are unref'd.
   */
  unref?: boolean;
}

interface Repeating {
  everyMs: () => number;
  fn: () => void;
}

/** Named one-shot and repeating timers; clearAll() on stop clears them and ignores any armed later. */
export class Timers {
  private readonly armed = new Map<TimerName, NodeJS.Timeout>();
  private readonly repeating = new Map<TimerName, Repeating>();
  private closed = false;

  isArmed(name: TimerName): boolean {
    return this.armed.has(name);
  }

  /** Arms a one-shot timer unless one by this name is already armed: the earlier deadline stands. */
  once(name: TimerName, ms: number, fn: () => void, opts: TimerOptions = {}): void {
    if (this.armed.has(name)) return;
    this.arm(name, ms, fn, opts);
  }

  /** Arms a one-shot timer, replacing one by this name: the new deadline wins. */
  reschedule(name: TimerName, ms: number, fn: () => void, opts: TimerOptions = {}): void {
    this.clear(name);
    this.arm(name, ms, fn, opts);
  }

  /**
   * Runs fn every everyMs(), read afresh before each wait, so the interval may change between runs
   * (see restart). The next wait starts after fn returns, unless fn cleared the timer.
   */
  repeat(name: TimerName, everyMs: () => number, fn: () => void): void {
    this.clear(name);
    this.repeating.set(name, { everyMs, fn });
    this.armRepeating(name);
  }

  /** A repeating timer waits its (possibly new) interval again from now. */
  restart(name: TimerName): void {
    const timer = this.armed.get(name);
    if (timer === undefined || !this.repeating.has(name)) return;
    clearTimeout(timer);
    this.armed.delete(name);
    this.armRepeating(name);
  }

  clear(name: TimerName): void {
    const timer = this.armed.get(name);
    if (timer !== undefined) clearTimeout(timer);
    this.armed.delete(name);
    this.repeating.delete(name);
  }

  /** On stop: nothing armed fires, and nothing armed from now on will. */
  clearAll(): void {
    this.closed = true;
    for (const timer of this.armed.values()) clearTimeout(timer);
    this.armed.clear();
    this.repeating.clear();
  }

  private armRepeating(name: TimerName): void {
    const r = this.repeating.get(name);
    if (!r) return;
    this.arm(
      name,
      r.everyMs(),
      () => {
        r.fn();
        // Cleared by fn (or replaced by another repeat under this name): that one decides what comes next.
        if (this.repeating.get(name) === r && !this.armed.has(name)) this.armRepeating(name);
      },
      {},
    );
  }

  private arm(name: TimerName, ms: number, fn: () => void, opts: TimerOptions): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.armed.delete(name);
      fn();
    }, ms);
    if (opts.unref) timer.unref();
    this.armed.set(name, timer);
  }
}
