import { basename } from 'node:path';
import { describeSandbox } from '../sandbox/choose.js';
import { toError } from '../errors.js';
import { TaskCache } from '../task/cache.js';
import type { Task, TaskEntry } from '../task/task.js';
import { assessQueue, readyInOrder, type Readiness } from '../task/readiness.js';
import { runTask } from '../run/runTask.js';
import { ownRunsAsRunning } from '../run/ownedKeys.js';
import type { RunContext } from '../run/context.js';
import { sweepDeadClaims } from './recover.js';
import { blockedInBulk } from '../task/transitionsUnclaimed.js';
import { FileEdits } from './fileEdits.js';
import { hasUsableExecutor, resumeParked } from './parked.js';
import type { DaemonHandle, RunSummary, StartOptions } from './types.js';
import { Timers } from './timers.js';
import { TaskWatch } from './taskWatch.js';
import { InvalidFileReports } from './invalidFiles.js';
import { DependencyWait } from './dependencyWait.js';
import { recoverLeftRunning, tidyWorktrees } from './leftovers.js';
import { countRecovered, countRun, emptySummary } from './runSummary.js';
import { Shutdown, type DaemonControls } from './shutdown.js';
import { ConcurrencySlots } from './slots.js';
import { RunReports } from '../report/trigger.js';
import { ClaimGate } from '../budget/claimGate.js';

// The tests know the rescan's backoff by this module's name.
export { nextRescanMs } from './taskWatch.js';

/**
 * A task another process holds (or held when it died, and its lock cannot be judged dead yet) is looked
 * at again this long after; see retrySoon().
 */
const RETRY_SOON_MS = 3000;

/**
 * Decides what runs when: scans tasks/ (on start, on watcher hints, on a timer, after each task), reports
 * invalid files once, recovers tasks left running by dead processes, blocks what can never run, and
 * starts ready tasks while slots are free. Scans never overlap.
 */
export class Scheduler {
  private readonly running = new Map<string, Promise<void>>();
  private readonly summary: RunSummary = emptySummary();
  /** Tasks we tried to run but did not get (claimed elsewhere), by the text we saw: not retried until it changes. */
  private readonly skipped = new Map<string, string>();
  private scanning: Promise<void> | undefined;
  private rescanRequested = false;
  /** What the next scan looks at: every file (a full scan), or only these file names (watcher hints). */
  private fullScanDue = true;
  private changedNames = new Set<string>();
  private stopping = false;
  private readonly timers = new Timers();
  /** Watch mode only. */
  private watch: TaskWatch | undefined;
  /** What the last scan (full or not) saw: a full rescan that finds the same found nothing new. */
  private lastEntries: TaskEntry[] | undefined;
  /** Dead claims on settled tasks are swept on the first scan and on each full rescan. */
  private swept = false;
  private readonly shutdown: Shutdown;
  /** The morning report, written when the queue empties and when the daemon stops. */
  private readonly reports: RunReports;
  /** Holds claims while a day or run budget is reached. */
  private readonly budgetGate: ClaimGate;

  /** Parsed task files between scans: only files whose stat changed are read again. */
  private readonly tasks: TaskCache;
  /** Reports cancels, requeues, deletions and renames made by editing task files. */
  private readonly edits: FileEdits;
  /** The last plan, and the entries it was made from. */
  private plan: { entries: TaskEntry[]; readiness: Map<string, Readiness>; ready: Task[] } | undefined;
  private readonly invalid: InvalidFileReports;
  private readonly dependencies: DependencyWait;
  /** Lent out while a run waits out a retry backoff (see slots.ts). */
  private readonly slots: ConcurrencySlots;

  constructor(
    private readonly ctx: RunContext,
    private readonly opts: StartOptions & { concurrency: number },
    private readonly controls: DaemonControls,
  ) {
    this.tasks = new TaskCache(ctx.paths.tasks);
    this.slots = new ConcurrencySlots(
      opts.concurrency,
      () => this.running.size,
      () => this.scanSoon(),
    );
    // Task runs reach the slots through their context: a run in retry backoff lends its slot.
    ctx.slots = this.slots;
    this.edits = new FileEdits(ctx, (name) => this.tasks.inodeOf(name));
    this.invalid = new InvalidFileReports(ctx, opts.once ? undefined : (ms) => this.timers.once('invalid-settle', ms, () => this.kick()));
    this.dependencies = new DependencyWait((ms) => this.timers.once('dependency-settle', ms, () => this.kick()));
    this.reports = new RunReports(ctx);
    this.budgetGate = new ClaimGate(ctx.budget, {
      schedule: (ms, fn) => this.timers.reschedule('budget-recheck', ms, fn, { unref: true }),
      resume: () => this.kick(),
      waits: () => !this.opts.once && !this.stopping,
    });
    this.shutdown = new Shutdown(ctx, controls, this.timers, {
      halt: () => (this.stopping = true),
      runningIds: () => [...this.running.keys()],
      settled: async () => {
        await this.scanning;
        await Promise.allSettled([...this.running.values()]);
      },
      summary: () => this.summary,
      closeWatch: () => this.watch?.close(),
      writeReport: () => this.reports.stopping(),
    });
  }

  async start(): Promise<DaemonHandle> {
    const { ctx } = this;
    await ctx.progress.append(undefined, 'daemon-start', {
      pid: process.pid,
      mode: this.opts.once ? 'once' : 'watch',
      concurrency: this.opts.concurrency,
      base: ctx.base,
      ...(ctx.sandbox && { sandbox: describeSandbox(ctx.sandbox) }),
    });
    ctx.logger.info({ root: ctx.paths.root, concurrency: this.opts.concurrency, once: !!this.opts.once }, 'daemon started');
    if (ctx.sandbox?.kind === 'none') ctx.logger.warn({ why: ctx.sandbox.why }, 'steps run without a sandbox');
    if (!this.opts.once) {
      const setup = { tasksDir: ctx.paths.tasks, logger: ctx.logger, timers: this.timers, baseMs: this.opts.rescanMs ?? 30_000 };
      this.watch = new TaskWatch(setup, {
        changed: (name) => this.kick(name),
        rescan: () => {
          // A claim lost to a process that has died since is worth another try on the full rescan.
          this.skipped.clear();
          this.swept = false;
          this.kick();
        },
        stopping: () => this.stopping,
      });
      this.watch.start();
    }
    await tidyWorktrees(ctx, this.opts.concurrency);
    this.kick();
    return {
      events: ctx.events,
      paths: ctx.paths,
      done: this.shutdown.done,
      stop: (opts) => this.shutdown.stop(opts),
    };
  }

  /**
   * Asks for a scan: a full one, or with a file name one that looks only at that file (and takes the
   * others as last seen). Scans never overlap; requests during one coalesce into one more.
   */
  private kick(changedName?: string): void {
    if (changedName === undefined) this.fullScanDue = true;
    else this.changedNames.add(changedName);
    this.scanSoon();
  }

  private scanSoon(): void {
    if (this.stopping) return;
    if (this.scanning) {
      this.rescanRequested = true;
      return;
    }
    this.scanning = this.scan()
      .catch((err: unknown) => {
        // The files it was to look at may not have been looked at: the next scan looks at all of them.
        this.fullScanDue = true;
        this.ctx.logger.error({ err: toError(err) }, 'scan failed');
      })
      .finally(() => {
        this.scanning = undefined;
        if (this.rescanRequested) {
          this.rescanRequested = false;
          this.scanSoon();
        } else this.maybeFinish();
      });
  }

  private async scan(): Promise<void> {
    const { ctx } = this;
    this.scheduleResume(await resumeParked(ctx));
    const full = this.fullScanDue || !!this.opts.once;
    const changed = this.changedNames;
    this.fullScanDue = false;
    this.changedNames = new Set();
    const entries = full ? await this.tasks.scan() : await this.tasks.refresh(changed);
    // The cache hands back the very same array when no file changed since the last look of any kind.
    if (full) this.watch?.afterFullScan(entries === this.lastEntries && this.running.size === 0);
    this.lastEntries = entries;
    await this.invalid.report(entries);

    await this.edits.report(entries, this.running);

    // Left running by a process that is gone: take it back before planning.
    await recoverLeftRunning(ctx, entries, this.running, (task, result) => {
      if (result !== 'held') this.rescanFile(task.file);
      else this.retrySoon();
      countRecovered(this.summary, result);
    });

    if (!this.swept) {
      this.swept = true;
      await sweepDeadClaims(ctx, entries);
    }

    // The cache hands out the same array while no file changed, and the plan is a function of it alone.
    const view = ownRunsAsRunning(entries, this.running);
    if (this.plan?.entries !== view) {
      const readiness = assessQueue(view);
      this.plan = { entries: view, readiness, ready: readyInOrder(view, readiness) };
    }
    const { readiness } = this.plan;
    const toBlock = this.dependencies.toBlockNow(entries, readiness, this.running, !this.opts.once);
    // Their blocked lines and task:blocked events are written by blockedInBulk.
    for (const { task } of await blockedInBulk(ctx.paths.locks, ctx, toBlock)) {
      this.summary.blocked++;
      this.rescanFile(task.file);
    }
    this.summary.waiting = [...readiness.values()].filter((r) => r.kind === 'waiting').length;
    this.summary.parked = 0;

    const budgetHolds = await this.budgetGate.holds(this.plan.ready, this.running);
    this.summary.budget = this.budgetGate.held || undefined;
    for (const task of this.plan.ready) {
      if (budgetHolds || this.stopping || !this.slots.canStart()) break;
      if (this.running.has(task.id) || this.skipped.get(task.id) === task.text) continue;
      if (!hasUsableExecutor(ctx, task)) {
        this.summary.parked++;
        continue;
      }
      this.launch(task);
    }
  }

  /** This scan changed the file: look at it again once the scan is over. */
  private rescanFile(file: string): void {
    this.changedNames.add(basename(file));
    this.rescanRequested = true;
  }

  /**
   * A task another process holds (or held when it died, and its lock cannot be judged dead yet) is looked
   * at again a few seconds later rather than at the next full rescan. Cheap: one read of tasks/.
   */
  private retrySoon(): void {
    if (this.stopping) return;
    const retry = () => {
      this.skipped.clear();
      this.kick();
    };
    this.timers.once('retry-soon', RETRY_SOON_MS, retry, { unref: true });
  }

  /** Wakes the scheduler when a parked executor's reset time comes. */
  private scheduleResume(delayMs: number | undefined): void {
    this.timers.clear('resume-parked');
    // --once drains what can run now; it does not wait hours for a usage limit to reset.
    if (delayMs === undefined || this.opts.once || this.stopping) return;
    // setTimeout's limit is about 24.8 days; a longer wait just wakes up early and schedules again.
    this.timers.reschedule('resume-parked', Math.min(delayMs, 2 ** 31 - 1), () => this.kick(), { unref: true });
  }

  private launch(task: Task): void {
    // A hard budget (budget.hard) stops running attempts as the daemon's stop would, without using an attempt.
    const hard = this.ctx.budget?.hardStopSignal;
    const ctx = hard ? { ...this.ctx, stopSignal: AbortSignal.any([this.ctx.stopSignal, hard]) } : this.ctx;
    const run = runTask(ctx, task)
      .then((result) => {
        if (result.kind === 'skipped') {
          this.skipped.set(task.id, task.text);
          this.retrySoon();
        } else this.skipped.delete(task.id);
        countRun(this.summary, result);
      })
      .catch((err: unknown) => this.ctx.logger.error({ err: toError(err), task: task.id }, 'task run crashed'))
      .finally(() => {
        this.running.delete(task.id);
        this.slots.freed();
        this.controls.status.taskEnded(task.id);
        // The run rewrote its own task file; every other file is as the last scan left it (or the watcher says).
        this.kick(basename(task.file));
        this.maybeFinish();
      });
    this.running.set(task.id, run);
  }

  private maybeFinish(): void {
    if (this.scanning || this.running.size > 0) return;
    if (this.stopping || this.opts.once) void this.shutdown.finish();
    else {
      this.ctx.events.emit('idle');
      this.reports.queueEmptied();
    }
  }
}
