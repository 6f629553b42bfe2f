import type { Timers } from './timers.js';

/**
 * The watcher reports changes; the full rescan is the safety net for events it missed. While nothing
 * changes and nothing runs, it comes at most this many times less often (30 s up to 2 min by default).
 */
const IDLE_RESCAN_BACKOFF = 4;

/** The safety-net rescan's next interval after a quiet full scan: doubled, up to IDLE_RESCAN_BACKOFF times the base. */
export function nextRescanMs(currentMs: number, baseMs: number): number {
  return Math.min(currentMs * 2, baseMs * IDLE_RESCAN_BACKOFF);
}

/**
 * The periodic full rescan in watch mode, and its interval: the base while anything happens, backing off
 * while the queue is quiet (an idle daemon with 10,000 tasks would spend most of its CPU on it).
 */
export class SafetyNetRescan {
  /** The current interval: the base, or longer while idle. */
  private currentMs: number;

  constructor(
    private readonly timers: Timers,
    private readonly baseMs: number,
    private readonly stopping: () => boolean,
  ) {
    this.currentMs = baseMs;
  }

  /** Runs onRescan after each interval from now on, until the daemon stops. */
  start(onRescan: () => void): void {
    this.timers.repeat('rescan', () => this.currentMs, () => {
      onRescan();
      // A stopping daemon books no further rescan.
      if (this.stopping()) this.timers.clear('rescan');
    });
  }

  /** Back to the base interval (something happened); the pending rescan comes no later than that. */
  backToBase(): void {
    if (this.currentMs === this.baseMs) return;
    this.currentMs = this.baseMs;
    this.rearm();
  }

  /**
   * After a full scan: while nothing changes and nothing runs (quiet), the rescan comes less and less
   * often; any change or activity brings it back to the base interval.
   */
  afterFullScan(quiet: boolean): void {
    if (!quiet) {
      this.backToBase();
      return;
    }
    const next = nextRescanMs(this.currentMs, this.baseMs);
    if (next === this.currentMs) return;
    this.currentMs = next;
    // The timer was armed before this scan ran, with the old interval.
    this.rearm();
  }

  /** The pending rescan waits the current interval from now (none while its callback runs or once stopping). */
  private rearm(): void {
    if (!this.timers.isArmed('rescan')) return;
    if (this.stopping()) this.timers.clear('rescan');
    else this.timers.restart('rescan');
  }
}
