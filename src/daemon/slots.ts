/**
 * The daemon's concurrency slots. A run holds one from launch to end, except while it waits out a retry
 * backoff: then its slot is lent to the next ready task, and the run takes one back before its next
 * attempt. Returning runs come before new claims, so a task in backoff is never starved by the queue.
 */
export class ConcurrencySlots {
  /** Runs waiting out a backoff: they hold no slot. */
  private readonly resting = new Set<string>();
  /** Runs whose backoff is over, waiting for a slot to come back. */
  private returning: Array<() => void> = [];

  constructor(
    private readonly concurrency: number,
    /** Runs in progress, resting ones included. */
    private readonly runs: () => number,
    /** A slot was lent: the scheduler looks for a ready task to give it to. */
    private readonly onLent: () => void,
  ) {}

  private inUse(): number {
    return this.runs() - this.resting.size;
  }

  /** Whether a new task may start now. */
  canStart(): boolean {
    return this.returning.length === 0 && this.inUse() < this.concurrency;
  }

  /**
   * Runs `wait` (true = waited it out, false = the daemon is stopping) without holding a slot, then takes one
   * back, waiting for it if every slot is busy. A stopping run takes none back: it only requeues its task.
   */
  async whileWaiting(id: string, wait: () => Promise<boolean>): Promise<boolean> {
    this.resting.add(id);
    try {
      this.onLent();
      if (!(await wait())) return false;
      while (this.inUse() >= this.concurrency) await new Promise<void>((resolve) => this.returning.push(resolve));
      return true;
    } finally {
      this.resting.delete(id);
    }
  }

  /** A run ended: runs coming back from a backoff look again for a free slot, in the order they asked. */
  freed(): void {
    const waiting = this.returning;
    this.returning = [];
    for (const resolve of waiting) resolve();
  }
}
