import { basename } from 'node:path';
import { toError } from '../errors.js';
import { TaskCache } from '../task/cache.js';
import { idFromFileName } from '../task/fileName.js';
import { DirWatcher } from './watchDir.js';
import type { Task, TaskEntry } from '../task/task.js';
import { assessQueue, readyInOrder, type Readiness } from '../queue/plan.js';
import { runTask, type TaskRunResult } from '../run/runTask.js';
import { ownRunsAsRunning } from '../run/ownedKeys.js';
import type { RunContext } from '../run/context.js';
import { isClaimed } from '../state/locks.js';
import { recoverTask, sweepDeadClaims } from './recover.js';
import { blockTasks, type ToBlock } from './blockTasks.js';
import { isLiveRun } from '../task/follow.js';
import { FileEdits } from './fileEdits.js';
import { removeAbandonedWorktrees } from '../git/git.js';
import { killAllGroups } from '../exec/spawn.js';
import type { PidFileHold } from './pidFile.js';
import type { StatusFile } from './statusFile.js';
import { hasUsableExecutor, resumeParked } from './parked.js';
import type { DaemonHandle, RunSummary, StartOptions, StopOptions } from './types.js';
import { Timers } from './timers.js';
import { SafetyNetRescan } from './rescan.js';
import { InvalidFileReports } from './invalidFiles.js';
import { DependencyWait } from './dependencyWait.js';

// The tests know the rescan's backoff by this module's name.
export { nextRescanMs } from './rescan.js';

/**
 * A task another process holds (or held when it died, and its lock cannot be judged dead yet) is looked
 * at again this long after; see retrySoon().
 */
const RETRY_SOON_MS = 3000;

export interface SchedulerControls {
  stop: AbortController;
  drain: AbortController;
  status: StatusFile;
  pidHold: PidFileHold;
}

/**
 * Decides what runs when: scans tasks/ (on start, on watcher hints, on a timer, after each task), reports
 * invalid files once, recovers tasks left running by dead processes, blocks what can never run, and
 * starts ready tasks while slots are free. Scans never overlap.
 */
export class Scheduler {
  private readonly running = new Map<string, Promise<void>>();
  private readonly summary: RunSummary = { done: 0, failed: 0, blocked: 0, cancelled: 0, waiting: 0 };
  /** Tasks we tried to run but did not get (claimed elsewhere), by the text we saw: not retried until it changes. */
  private readonly skipped = new Map<string, string>();
  private scanning: Promise<void> | undefined;
  private rescanRequested = false;
  /** What the next scan looks at: every file (a full scan), or only these file names (watcher hints). */
  private fullScanDue = true;
  private changedNames = new Set<string>();
  private stopping = false;
  private watcher: DirWatcher | undefined;
  private readonly timers = new Timers();
  private readonly rescan: SafetyNetRescan;
  /** What the last scan (full or not) saw: a full rescan that finds the same found nothing new. */
  private lastEntries: TaskEntry[] | undefined;
  /** Dead claims on settled tasks are swept on the first scan and on each full rescan. */
  private swept = false;
  private resolveDone!: (summary: RunSummary) => void;
  private readonly done = new Promise<RunSummary>((resolve) => (this.resolveDone = resolve));

  /** Parsed task files between scans: only files whose stat changed are read again. */
  private readonly tasks: TaskCache;
  /** Reports cancels, requeues, deletions and renames made by editing task files. */
  private readonly edits: FileEdits;
  /** The last plan, and the entries it was made from. */
  private plan: { entries: TaskEntry[]; readiness: Map<string, Readiness>; ready: Task[] } | undefined;
  private readonly invalid: InvalidFileReports;
  private readonly dependencies: DependencyWait;

  constructor(
    private readonly ctx: RunContext,
    private readonly opts: StartOptions & { concurrency: number },
    private readonly controls: SchedulerControls,
  ) {
    this.tasks = new TaskCache(ctx.paths.tasks);
    this.edits = new FileEdits(ctx, (name) => this.tasks.inodeOf(name));
    this.rescan = new SafetyNetRescan(this.timers, opts.rescanMs ?? 30_000, () => this.stopping);
    const watch = !opts.once;
    this.invalid = new InvalidFileReports(ctx, watch ? (ms) => this.timers.once('invalid-settle', ms, () => this.kick()) : undefined);
    this.dependencies = new DependencyWait((ms) => this.timers.once('dependency-settle', ms, () => this.kick()));
  }

  async start(): Promise<DaemonHandle> {
    const { ctx } = this;
    await ctx.progress.append(undefined, 'daemon-start', {
      pid: process.pid,
      mode: this.opts.once ? 'once' : 'watch',
      concurrency: this.opts.concurrency,
      base: ctx.base,
    });
    ctx.logger.info({ root: ctx.paths.root, concurrency: this.opts.concurrency, once: !!this.opts.once }, 'daemon started');
    if (!this.opts.once) {
      // Watch events are hints that something changed; the periodic full rescan is what guarantees no
      // task is missed (dropped events, a full inotify table).
      this.watcher = new DirWatcher(
        this.ctx.paths.tasks,
        (name) => {
          this.rescan.backToBase();
          if (name === undefined) this.kick();
          // Temp files of atomic writers and a shared folder's .nightshift/ locks are never tasks.
          else if (idFromFileName(name) !== undefined) this.kick(name);
        },
        (err) => ctx.logger.warn({ err }, 'watcher error; relying on rescans'),
      );
      this.watcher.check();
      this.rescan.start(() => {
        // A claim lost to a process that has died since is worth another try on the full rescan.
        this.skipped.clear();
        this.swept = false;
        this.watcher?.check();
        this.kick();
      });
    }
    try {
      const removed = await removeAbandonedWorktrees(ctx.git, ctx.paths.worktrees);
      if (removed.length > 0) ctx.logger.info({ removed }, 'removed worktrees a killed git worktree add left locked');
      // The pool is kept for this run (up to its concurrency); what a dead run left running there is stopped.
      const pool = await ctx.pool.tidy(this.opts.concurrency);
      if (pool.removed.length > 0 || pool.orphans > 0) ctx.logger.info(pool, 'tidied the worktree pool');
    } catch (err) {
      ctx.logger.warn({ err: toError(err) }, 'could not look for abandoned worktrees');
    }
    this.kick();
    return {
      events: ctx.events,
      paths: ctx.paths,
      done: this.done,
      stop: (opts) => this.stop(opts),
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
    if (full && !this.opts.once) this.rescan.afterFullScan(entries === this.lastEntries && this.running.size === 0);
    this.lastEntries = entries;
    await this.invalid.report(entries);

    await this.edits.report(entries, this.running);

    // Left running by a process that is gone: take it back before planning.
    for (const e of entries) {
      if (e.kind === 'task' && e.task.status === 'running' && !this.running.has(e.task.id)) {
        // Our own run under another name (the file was renamed while it runs): never recovered from ourselves.
        if (isLiveRun(e.task)) continue;
        // A live process (another daemon on this queue) runs it: nothing to recover, and nothing to look at
        // again soon; with daemons sharing a queue that would mean a rescan every few seconds all night.
        if (await isClaimed(ctx.paths.locks, e.task.id).catch(() => false)) continue;
        const result = await recoverTask(ctx, e.task);
        if (result !== 'held') this.rescanFile(e.task.file);
        else this.retrySoon();
        if (result === 'failed') this.summary.failed++;
        if (result === 'finalized') this.summary.done++;
      }
    }

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
    this.dependencies.forgetSettled(readiness);
    const toBlock: ToBlock[] = [];
    for (const e of entries) {
      if (e.kind !== 'task') continue;
      const r = readiness.get(e.task.id);
      if (r?.kind !== 'blocked' || this.running.has(e.task.id)) continue;
      if (r.provisional && !this.opts.once && this.dependencies.mayStillCome(e.task.id)) continue;
      toBlock.push({ task: e.task, reason: r.reason });
    }
    for (const { task, reason } of await blockTasks(ctx, toBlock)) {
      this.summary.blocked++;
      this.rescanFile(task.file);
      ctx.events.emit('task:blocked', { id: task.id, reason });
    }
    this.summary.waiting = [...readiness.values()].filter((r) => r.kind === 'waiting').length;
    this.summary.parked = 0;

    for (const task of this.plan.ready) {
      if (this.stopping || this.running.size >= this.opts.concurrency) break;
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
    this.timers.once(
      'retry-soon',
      RETRY_SOON_MS,
      () => {
        this.skipped.clear();
        this.kick();
      },
      { unref: true },
    );
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
    const run = runTask(this.ctx, task)
      .then((result) => {
        if (result.kind === 'skipped') {
          this.skipped.set(task.id, task.text);
          this.retrySoon();
        }
        else this.skipped.delete(task.id);
        this.count(result);
      })
      .catch((err: unknown) => this.ctx.logger.error({ err: toError(err), task: task.id }, 'task run crashed'))
      .finally(() => {
        this.running.delete(task.id);
        this.controls.status.taskEnded(task.id);
        // The run rewrote its own task file; every other file is as the last scan left it (or the watcher says).
        this.kick(basename(task.file));
        this.maybeFinish();
      });
    this.running.set(task.id, run);
  }

  private count(result: TaskRunResult): void {
    switch (result.kind) {
      case 'done':
        this.summary.done++;
        break;
      case 'failed':
        this.summary.failed++;
        break;
      case 'blocked':
        this.summary.blocked++;
        break;
      case 'cancelled':
        this.summary.cancelled++;
        break;
      case 'requeued':
      case 'skipped':
        break;
      default: {
        const never: never = result;
        throw new Error(`unexpected result ${JSON.stringify(never)}`);
      }
    }
  }

  private maybeFinish(): void {
    if (this.scanning || this.running.size > 0) return;
    if (this.stopping || this.opts.once) void this.finish();
    else this.ctx.events.emit('idle');
  }

  private finishing: Promise<void> | undefined;
  private finish(): Promise<void> {
    this.finishing ??= (async () => {
      this.stopping = true;
      this.timers.clearAll();
      const s = this.summary;
      // Each release on its own: a full disk or a stuck lock must not keep `done` from resolving (the CLI
      // would hang) or leave the pid and status files behind.
      const steps: Array<() => Promise<unknown>> = [
        async () => this.watcher?.close(),
        () => this.ctx.progress.append(undefined, 'daemon-stop', { done: s.done, failed: s.failed, blocked: s.blocked, cancelled: s.cancelled, waiting: s.waiting, parked: s.parked || undefined }),
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

  /**
   * First call: no new claims or retries; running attempts get the grace period, then are stopped (their
   * tasks requeued). A forced call stops them now: SIGKILL to every executor group, no grace.
   */
  async stop(opts: StopOptions = {}): Promise<RunSummary> {
    const { ctx } = this;
    if (!this.controls.drain.signal.aborted) {
      this.stopping = true;
      this.controls.drain.abort();
      const graceMs = opts.graceMs ?? ctx.rules.stopGraceMs;
      ctx.logger.info({ force: !!opts.force, graceMs, running: [...this.running.keys()] }, 'stop requested');
      void this.controls.status.stopping();
      if (!opts.force) this.timers.reschedule('stop-grace', graceMs, () => this.controls.stop.abort(), { unref: true });
    }
    if (opts.force && !this.controls.stop.signal.aborted) {
      this.timers.clear('stop-grace');
      ctx.logger.info({ running: [...this.running.keys()] }, 'forced stop');
      this.controls.stop.abort();
      killAllGroups();
    }
    await this.scanning;
    await Promise.allSettled([...this.running.values()]);
    await this.finish();
    return this.done;
  }
}
