import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { NotifyEventName, NotifySink } from '../config/notifyRules.js';
import type { RunSummary } from '../daemon/types.js';
import type { ProgressLog } from '../progress/log.js';
import type { DaemonEvents } from '../run/events.js';
import { secretMasker, type Masker } from '../util/secrets.js';
import { listen, type EventDetails, type NotifyEvent } from './event.js';
import { maskEvent } from './message.js';
import { SinkQueue, type SinkReports } from './sinkQueue.js';

/** On stop, undelivered messages get this long to go out: a dead webhook must not hold the daemon's exit. */
export const FLUSH_MS = 5000;

export interface NotifierDeps {
  root: string;
  progress: ProgressLog;
  logger: Logger;
  /** --once: the queue is drained when the daemon stops, so that is when queue-empty is said. */
  once?: boolean;
  mask?: Masker;
}

/**
 * Sends the daemon's events to rules.md's `notify:` sinks. Listening costs the daemon one function call
 * per event: every delivery runs on its own sink's queue and is never awaited by a task. A sink's trouble
 * is written to progress.txt once (`notified ... result=failing`), not once per event.
 */
export class Notifier {
  private readonly queues: SinkQueue[];
  private readonly mask: Masker;
  /** Sinks whose last try failed (daemon.log says when they recover). */
  private readonly failing = new Set<NotifySink>();
  /** Sinks whose trouble progress.txt has been told about: once each. */
  private readonly logged = new Set<NotifySink>();
  private listener: { workSinceEmpty(): boolean } | undefined;
  private readonly host = hostname();

  constructor(
    sinks: NotifySink[],
    private readonly deps: NotifierDeps,
  ) {
    this.mask = deps.mask ?? secretMasker();
    const reports: SinkReports = {
      failed: (sink, reason, attempt) => this.failed(sink, reason, attempt),
      delivered: (sink, d) => {
        if (this.failing.delete(sink)) deps.logger.info({ sink: sink.label, ms: d.ms }, 'notify: sink delivers again');
      },
      dropped: (sink, events, reason) =>
        deps.logger.warn({ sink: sink.label, events, reason: this.mask(reason) }, 'notify: gave up on a message after its retries'),
    };
    this.queues = sinks.map((s) => new SinkQueue(s, deps.root, reports));
  }

  /** Starts listening to a daemon's events. */
  attach(events: DaemonEvents): this {
    this.listener = listen(events, (name, details) => this.emit(name, details));
    return this;
  }

  /** Queues an event for every sink that asked for it; returns at once. */
  emit(name: NotifyEventName, details: EventDetails = {}): void {
    const wanted = this.queues.filter((q) => q.sink.on.includes(name));
    if (wanted.length === 0) return;
    const event: NotifyEvent = maskEvent(
      { event: name, time: new Date().toISOString(), repo: this.deps.root, host: this.host, ...details },
      this.mask,
    );
    for (const q of wanted) q.add(event);
  }

  /**
   * The daemon stopped: says so (and, after --once, that the queue is empty), sends every open digest, and
   * waits for the sinks, at most `flushMs`. A sink that lost events gets one more progress.txt line.
   */
  async stopped(summary: RunSummary, flushMs = FLUSH_MS): Promise<void> {
    if (this.deps.once && this.listener?.workSinceEmpty()) this.emit('queue-empty');
    this.emit('daemon-stopped', { summary });
    const deadline = Date.now() + flushMs;
    const lost = await Promise.all(this.queues.map((q) => q.flush(deadline)));
    for (const [i, q] of this.queues.entries()) {
      const n = lost[i] ?? 0;
      if (n === 0) continue;
      await this.deps.progress.append(undefined, 'notified', { sink: q.sink.label, result: 'lost', events: n }).catch(() => undefined);
    }
  }

  private failed(sink: NotifySink, reason: string, attempt: number): void {
    const masked = this.mask(reason);
    this.deps.logger.debug({ sink: sink.label, attempt, reason: masked }, 'notify: delivery failed');
    if (this.failing.has(sink)) return;
    this.failing.add(sink);
    this.deps.logger.warn({ sink: sink.label, reason: masked }, 'notify: sink failing; retrying with backoff');
    // Once per sink: a dead webhook on a night of 500 tasks is one line, not 500.
    if (this.logged.has(sink)) return;
    this.logged.add(sink);
    void this.deps.progress.append(undefined, 'notified', { sink: sink.label, result: 'failing', reason: masked }).catch(() => undefined);
  }
}
