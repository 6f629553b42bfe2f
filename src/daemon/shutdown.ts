import { toError } from '../errors.js';
import { killAllGroups } from '../exec/spawn.js';
import type { RunContext } from '../run/context.js';
import type { PidFileHold } from './pidFile.js';
import { stopLineFields } from './runSummary.js';
import type { StatusFile } from './statusFile.js';
import type { Timers } from './timers.js';
import type { RunSummary, StopOptions } from './types.js';

/** What start-up hands the scheduler to stop with: the run's two signals and the files it holds. */
export interface DaemonControls {
  /** Aborted when running attempts are to stop (after the grace period, or at once when forced). */
  stop: AbortController;
  /** Aborted when no new claims or retries are to start. */
  drain: AbortController;
  status: StatusFile;
  pidHold: PidFileHold;
}

/** What stopping needs from the scheduler. */
export interface Stoppable {
  /** No new scans, claims, retries or rescans from now on. */
  halt(): void;
  /** The ids of the tasks running now (for the log). */
  runningIds(): string[];
  /** Settles once the scan in progress and every task running now have ended. */
  settled(): Promise<void>;
  /** The run's tally, as it stands when asked. */
  summary(): RunSummary;
  /** Stops watching tasks/. */
  closeWatch(): void;
  /** Writes the run's morning report (src/report/). */
  writeReport(): Promise<void>;
}

/**
 * Graceful, then forced: the first stop drains (no new claims; running attempts get the grace period, then
 * are stopped and their tasks requeued), a forced one stops running attempts at once. Then every resource
 * is released in order, each on its own, and `done` resolves with the run's summary.
 */
export class Shutdown {
  readonly done: Promise<RunSummary>;
  private resolveDone!: (summary: RunSummary) => void;
  private finishing: Promise<void> | undefined;

  constructor(
    private readonly ctx: RunContext,
    private readonly controls: DaemonControls,
    private readonly timers: Timers,
    private readonly scheduler: Stoppable,
  ) {
    this.done = new Promise<RunSummary>((resolve) => (this.resolveDone = resolve));
  }

  /**
   * First call: no new claims or retries; running attempts get the grace period, then are stopped (their
   * tasks requeued). A forced call stops them now: SIGKILL to every executor group, no grace.
   */
  async stop(opts: StopOptions = {}): Promise<RunSummary> {
    const { ctx, controls } = this;
    if (!controls.drain.signal.aborted) {
      this.scheduler.halt();
      controls.drain.abort();
      const graceMs = opts.graceMs ?? ctx.rules.stopGraceMs;
      ctx.logger.info({ force: !!opts.force, graceMs, running: this.scheduler.runningIds() }, 'stop requested');
      void controls.status.stopping();
      if (!opts.force) this.timers.reschedule('stop-grace', graceMs, () => controls.stop.abort(), { unref: true });
    }
    if (opts.force && !controls.stop.signal.aborted) {
      this.timers.clear('stop-grace');
      ctx.logger.info({ running: this.scheduler.runningIds() }, 'forced stop');
      controls.stop.abort();
      killAllGroups();
    }
    await this.scheduler.settled();
    await this.finish();
    return this.done;
  }

  /** Releases everything once nothing runs any more; safe to call twice. */
  finish(): Promise<void> {
    this.finishing ??= (async () => {
      this.scheduler.halt();
      this.timers.clearAll();
      const s = this.scheduler.summary();
      // Each release on its own: a full disk or a stuck lock must not keep `done` from resolving (the CLI
      // would hang) or leave the pid and status files behind.
      const steps: Array<() => Promise<unknown>> = [
        () => Promise.resolve().then(() => this.scheduler.closeWatch()),
        () => this.scheduler.writeReport(),
        () => this.ctx.progress.append(undefined, 'daemon-stop', stopLineFields(s)),
        () => this.controls.status.close(),
        () => this.controls.pidHold.release(),
      ];
      for (const step of steps) {
        await step().catch((err: unknown) => this.ctx.logger.error({ err: toError(err) }, 'stopping: a release step failed'));
      }
      this.ctx.logger.info({ summary: s }, 'daemon stopped');
      this.resolveDone({ ...s });
    })();
    return this.finishing;
  }
}
