import type { Paths } from '../paths.js';
import type { DaemonEvents } from '../run/events.js';

/** The daemon's public surface: what the CLI and the tests start it with and get back. */

export interface StartOptions {
  cwd: string;
  /** Drain every task that can run, then resolve `done`. */
  once?: boolean;
  concurrency?: number;
  worktreeRoot?: string;
  /** Full rescan interval in watch mode (events are only hints). */
  rescanMs?: number;
  /** Receives each progress.txt line as it is written, from the first (daemon-start) on. */
  onProgress?: (line: string) => void;
  /** Run beside a daemon that already holds .nightshift/daemon.pid instead of refusing to start. */
  allowMultiple?: boolean;
}

export interface StopOptions {
  /** Stop running attempts now instead of giving them the grace period (rules.md stop_grace). */
  force?: boolean;
  /** Overrides rules.md stop_grace for this stop. */
  graceMs?: number;
}

export interface RunSummary {
  done: number;
  failed: number;
  blocked: number;
  cancelled: number;
  /** Tasks still queued that could not run (waiting on something that never finished). */
  waiting: number;
  /** Tasks still queued because every executor they may use is parked (infrastructure failure). */
  parked?: number;
  /** Tasks still queued because a day or run budget is reached. */
  budget?: number;
}

export interface DaemonHandle {
  events: DaemonEvents;
  paths: Paths;
  /** Resolves when the daemon has stopped (with --once: when the queue is drained). */
  done: Promise<RunSummary>;
  /**
   * Graceful stop: no new claims; running attempts get the grace period to finish, then are stopped and
   * their tasks requeued. With force (or called again with force) they are stopped at once.
   */
  stop(opts?: StopOptions): Promise<RunSummary>;
}
