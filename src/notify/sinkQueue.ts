import { MAX_NOTIFY_BACKOFF_MS, type NotifySink } from '../config/notifyRules.js';
import { deliver, type Delivery } from './deliver.js';
import type { NotifyEvent } from './event.js';
import type { Message } from './message.js';

/** What a sink's queue tells its owner: each failed try, and each message given up on. */
export interface SinkReports {
  failed(sink: NotifySink, reason: string, attempt: number): void;
  delivered(sink: NotifySink, d: Delivery): void;
  dropped(sink: NotifySink, events: number, reason: string): void;
}

/**
 * One sink's outbox. Messages go out one at a time, in order, each retried with a doubling backoff; a
 * digest sink gathers events for its window first. Nothing here is awaited by the daemon: a sink that
 * hangs or fails only ever delays its own later messages.
 */
export class SinkQueue {
  private readonly pending: Message[] = [];
  private window: NotifyEvent[] | undefined;
  private windowTimer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  /** Set when the daemon has stopped waiting: no more tries, no more backoff. */
  private closed = false;
  private wake: (() => void) | undefined;
  /** Aborts a delivery in flight when flush() stops waiting: a hung webhook must not keep the process alive. */
  private readonly stop = new AbortController();
  /** Events not delivered: given up on after the retries, or still queued when the flush ran out of time. */
  lost = 0;

  constructor(
    readonly sink: NotifySink,
    private readonly cwd: string,
    private readonly reports: SinkReports,
  ) {}

  add(event: NotifyEvent): void {
    if (this.closed) {
      this.lost++;
      return;
    }
    if (this.sink.digestMs === undefined) {
      this.pending.push({ kind: 'event', event });
      this.pump();
      return;
    }
    if (!this.window) {
      this.window = [];
      // unref: a window still open must not keep a stopped daemon's process alive (flush() sends it).
      this.windowTimer = setTimeout(() => this.closeWindow(), this.sink.digestMs).unref();
    }
    this.window.push(event);
  }

  /**
   * Sends what is gathered now and waits for the outbox to empty, at most until `deadline` (ms since the
   * epoch). What is still queued then is counted lost. Returns the number lost over the sink's life.
   */
  async flush(deadline: number): Promise<number> {
    this.closeWindow();
    const left = deadline - Date.now();
    if (this.draining && left > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.draining, new Promise<void>((r) => (timer = setTimeout(r, left)))]);
      clearTimeout(timer);
    }
    this.closed = true;
    this.wake?.();
    this.stop.abort();
    for (const m of this.pending.splice(0)) this.lost += size(m);
    return this.lost;
  }

  private closeWindow(): void {
    clearTimeout(this.windowTimer);
    this.windowTimer = undefined;
    const events = this.window;
    this.window = undefined;
    if (events && events.length > 0) {
      this.pending.push({ kind: 'digest', events });
      this.pump();
    }
  }

  private pump(): void {
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
      if (this.pending.length > 0 && !this.closed) this.pump();
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0 && !this.closed) {
      const m = this.pending[0] as Message;
      const why = await this.send(m);
      // flush() may have counted it already when it gave up waiting.
      if (this.pending[0] !== m) continue;
      this.pending.shift();
      if (why !== undefined) {
        this.lost += size(m);
        this.reports.dropped(this.sink, size(m), why);
      }
    }
  }

  /** undefined = delivered; otherwise the last reason, after every retry. */
  private async send(m: Message): Promise<string | undefined> {
    let reason = 'not tried';
    for (let attempt = 0; attempt <= this.sink.retries && !this.closed; attempt++) {
      if (attempt > 0) await this.backoff(attempt);
      if (this.closed) break;
      const d = await deliver(this.sink.target, m, { timeoutMs: this.sink.timeoutMs, cwd: this.cwd, signal: this.stop.signal });
      if (d.ok) {
        this.reports.delivered(this.sink, d);
        return undefined;
      }
      reason = d.reason;
      this.reports.failed(this.sink, d.reason, attempt + 1);
    }
    return reason;
  }

  /** Waits before retry n (1, 2, ...): backoff, doubling, capped; flush() cuts it short. */
  private backoff(retry: number): Promise<void> {
    const ms = Math.min(this.sink.backoffMs * 2 ** (retry - 1), MAX_NOTIFY_BACKOFF_MS);
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}

function size(m: Message): number {
  return m.kind === 'event' ? 1 : m.events.length;
}
