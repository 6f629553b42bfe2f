import type { Logger } from 'pino';
import { writeFileAtomic } from '../util/atomic.js';
import { fetchFleet, type FleetView } from './fetch.js';
import type { LeaseObserver } from './leases.js';
import { syncTaskFiles, type SyncPlace } from './sync.js';

/** An idle poll waits up to this many poll intervals (doubling while nothing changes). */
const MAX_BACKOFF = 8;

export interface QueuePollSetup {
  place: SyncPlace;
  remote: string;
  base: string;
  prefix: string;
  pollMs: number;
  observer: LeaseObserver;
  logger: Logger;
  /** Where each poll leaves the observer's view for `fleet status` (.nightshift/fleet.json). */
  viewFile: string;
}

/** What `fleet status` reads from a running daemon: claims as judged on that daemon's own clock. */
export interface ObservedClaims {
  pid: number;
  /** Wall clock of the write, only to tell a stale file (a daemon long gone) from a fresh one. */
  writtenAt: string;
  ttlMs: number;
  claims: Array<{ id: string; value: string; unchangedMs: number; expired: boolean }>;
}

/**
 * The remote queue's heartbeat on each daemon: fetch the queue and the fleet's refs, let the lease
 * observer see every claim, and bring the task files up to date (new tasks appear in tasks/, where the
 * daemon's watcher picks them up; tasks settled elsewhere get their status). Backs off while nothing
 * changes; a fetch that fails (the remote is unreachable) is logged and tried again at the next tick.
 */
export class QueuePoll {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private lastFingerprint: string | undefined;
  private idleTicks = 0;
  private readonly applied = new Map<string, string>();
  /** The last view fetched, for `fleet status` from a running daemon. */
  last: FleetView | undefined;

  constructor(private readonly setup: QueuePollSetup) {}

  /** One poll now (coalesced with one already running). Never throws. */
  poll(): Promise<void> {
    this.running ??= this.once().finally(() => {
      this.running = undefined;
      this.schedule();
    });
    return this.running;
  }

  /** Polls soon, out of turn: a claim attempt found the task settled elsewhere. */
  soon(): void {
    this.idleTicks = 0;
    if (!this.running) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.poll(), 0);
      this.timer.unref();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private async once(): Promise<void> {
    const { setup } = this;
    try {
      const fetched = await fetchFleet(setup.place.git, setup.remote, setup.base, setup.prefix);
      if (fetched.kind === 'failed') {
        setup.logger.warn({ message: fetched.message }, 'cannot fetch the remote queue; claiming waits until it is back');
        return;
      }
      const { view } = fetched;
      this.last = view;
      setup.observer.observe(view.claims);
      await this.writeView();
      this.idleTicks = view.fingerprint === this.lastFingerprint ? this.idleTicks + 1 : 0;
      this.lastFingerprint = view.fingerprint;
      const synced = await syncTaskFiles(setup.place, view, this.applied);
      if (synced.added.length + synced.updated.length > 0) setup.logger.info(synced, 'task files brought up to date from the remote queue');
    } catch (err) {
      setup.logger.warn({ err }, 'polling the remote queue failed');
    }
  }

  private async writeView(): Promise<void> {
    const { observer } = this.setup;
    const view: ObservedClaims = {
      pid: process.pid,
      writtenAt: new Date().toISOString(),
      ttlMs: observer.ttlMs,
      claims: observer
        .all()
        .flatMap((c) =>
          c.kind === 'absent' ? [] : [{ id: c.id, value: c.value, unchangedMs: Math.round(c.ageMs), expired: c.kind === 'expired' }],
        ),
    };
    // Rewritten at every poll and worthless after a reboot: not fsynced.
    await writeFileAtomic(this.setup.viewFile, JSON.stringify(view), { durable: false });
  }

  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    // Claims being watched for expiry need a look at least every quarter of lease_ttl, idle or not.
    const live = this.setup.observer.all().length > 0;
    const factor = live ? 1 : Math.min(2 ** this.idleTicks, MAX_BACKOFF);
    const delay = Math.min(this.setup.pollMs * factor, live ? Math.max(250, this.setup.observer.ttlMs / 4) : Infinity);
    this.timer = setTimeout(() => void this.poll(), delay);
    this.timer.unref();
  }
}
