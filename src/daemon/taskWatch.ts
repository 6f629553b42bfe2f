import type { Logger } from 'pino';
import { idFromFileName } from '../task/fileName.js';
import type { Timers } from './timers.js';
import { DirWatcher } from './watchDir.js';

/**
 * The watcher reports changes; the full rescan is the safety net for events it missed. While nothing
 * changes and nothing runs, it comes at most this many times less often (30 s up to 2 min by default).
 */
const IDLE_RESCAN_BACKOFF = 4;

/** The safety-net rescan's next interval after a quiet full scan: doubled, up to IDLE_RESCAN_BACKOFF times the base. */
export function nextRescanMs(currentMs: number, baseMs: number): number {
  return Math.min(currentMs * 2, baseMs * IDLE_RESCAN_BACKOFF);
}

/** What the scheduler does on news from tasks/. */
export interface TaskWatchHooks {
  /** A file changed (its name), or something did (undefined): scan it, or everything. */
  changed(name: string | undefined): void;
  /** The safety-net full rescan is due. */
  rescan(): void;
  /** The daemon is stopping: no further rescan is booked. */
  stopping(): boolean;
}

/**
 * How the scheduler hears of changes in tasks/ in watch mode. Watch events are hints that something
 * changed; the periodic full rescan is what guarantees no task is missed (dropped events, a full inotify
 * table). Its interval is the base while anything happens, and backs off while the queue is quiet (an idle
 * daemon with 10,000 tasks would spend most of its CPU on it).
 */
export class TaskWatch {
  /** The rescan's current interval: the base, or longer while idle. */
  private currentMs: number;
  private readonly baseMs: number;
  private readonly timers: Timers;
  private readonly watcher: DirWatcher;

  constructor(
    setup: { tasksDir: string; logger: Logger; timers: Timers; baseMs: number },
    private readonly hooks: TaskWatchHooks,
  ) {
    this.timers = setup.timers;
    this.baseMs = setup.baseMs;
    this.currentMs = setup.baseMs;
    this.watcher = new DirWatcher(
      setup.tasksDir,
      (name) => {
        this.backToBase();
        if (name === undefined) hooks.changed(undefined);
        // Temp files of atomic writers and a shared folder's .nightshift/ locks are never tasks.
        else if (idFromFileName(name) !== undefined) hooks.changed(name);
      },
      (err) => setup.logger.warn({ err }, 'watcher error; relying on rescans'),
    );
  }

  /** Starts watching, and the rescan after each interval from now on, until the daemon stops. */
  start(): void {
    this.watcher.check();
    this.timers.repeat(
      'rescan',
      () => this.currentMs,
      () => {
        // The folder may have been removed and re-created since: watch the new one.
        this.watcher.check();
        this.hooks.rescan();
        // A stopping daemon books no further rescan.
        if (this.hooks.stopping()) this.timers.clear('rescan');
      },
    );
  }

  close(): void {
    this.watcher.close();
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
    if (this.hooks.stopping()) this.timers.clear('rescan');
    else this.timers.restart('rescan');
  }
}
