import { startDaemon, type DaemonHandle, type RunSummary } from '../daemon/start.js';
import type { Output } from './output.js';
import { killAllGroups } from '../exec/spawn.js';
import { toError, UsageError } from '../errors.js';
import type { DashboardHandle } from '../dashboard/server.js';
import { openRepo } from './repo.js';

export interface DaemonStartOptions {
  cwd: string;
  once?: boolean;
  concurrency?: number;
  worktreeRoot?: string;
  allowMultiple?: boolean;
  /** Print progress lines as they happen (the CLI does; the demo has its own printer). */
  echo?: boolean;
  /** This process is the background daemon `--detach` started: tell the parent over IPC once it runs. */
  detachedChild?: boolean;
  /** Serve the dashboard from this process too, for as long as the daemon runs (true: the default port). */
  dashboard?: boolean | number;
}

/** A stop that has not finished this long after the forced one is cut short (a hung git, a stuck disk). */
const FORCED_EXIT_MS = 15_000;

/** What the detached daemon tells the process that started it. */
export type DetachMessage =
  { kind: 'ready'; pid: number; dashboard?: string } | { kind: 'error'; message: string; hint?: string; usage: boolean };

/**
 * `daemon start`: runs in the foreground. With --once it drains the queue and exits 1 if any task ended
 * failed or blocked; otherwise it watches tasks/ until stopped. SIGINT/SIGTERM = graceful stop (running
 * attempts get rules.md's stop_grace, then are stopped and requeued); a second one, or SIGUSR2 (what
 * `daemon stop --force` sends), = stop now.
 */
export async function runDaemon(opts: DaemonStartOptions, io: Output): Promise<number> {
  let handle: DaemonHandle;
  let dashboard: DashboardHandle | undefined;
  try {
    // Before the daemon: a port in use is a usage error, and no task has been claimed yet.
    if (opts.dashboard !== undefined && opts.dashboard !== false) {
      const port = opts.dashboard === true ? undefined : opts.dashboard;
      dashboard = await (await import('./dashboard.js')).openDashboard(await openRepo(opts.cwd), { port }, io);
    }
    handle = await startDaemon({
      cwd: opts.cwd,
      once: opts.once,
      concurrency: opts.concurrency,
      worktreeRoot: opts.worktreeRoot,
      allowMultiple: opts.allowMultiple,
      onProgress: opts.echo === false || opts.detachedChild ? undefined : (line) => io.out(`${line}\n`),
    });
  } catch (err) {
    await dashboard?.close();
    if (opts.detachedChild) {
      const e = toError(err);
      tellParent({
        kind: 'error',
        message: e.message,
        hint: err instanceof UsageError ? err.hint : undefined,
        usage: err instanceof UsageError,
      });
    }
    throw err;
  }
  if (opts.detachedChild) tellParent({ kind: 'ready', pid: process.pid, dashboard: dashboard?.url });

  let stops = 0;
  const stopNow = () => {
    stops = Math.max(stops, 2);
    io.err('stopping now: running attempts are stopped and their tasks requeued\n');
    void handle.stop({ force: true });
    setTimeout(() => {
      killAllGroups();
      process.exit(130);
    }, FORCED_EXIT_MS).unref();
  };
  const onStop = () => {
    stops++;
    if (stops > 1) return stopNow();
    io.err(
      'stopping: no new tasks; running attempts may finish within the grace period, then are stopped and requeued (signal again to stop now)\n',
    );
    void handle.stop();
  };
  process.on('SIGINT', onStop);
  process.on('SIGTERM', onStop);
  process.on('SIGUSR2', stopNow);
  let summary: RunSummary;
  try {
    summary = await handle.done;
  } finally {
    process.off('SIGINT', onStop);
    process.off('SIGTERM', onStop);
    process.off('SIGUSR2', stopNow);
    await dashboard?.close();
  }
  io.out(summaryLine(summary));
  // A task left waiting for a parked executor did not get done either: scripts must not read that as success.
  return summary.failed > 0 || summary.blocked > 0 || (summary.parked ?? 0) > 0 || (summary.budget ?? 0) > 0 ? 1 : 0;
}

function tellParent(message: DetachMessage): void {
  if (!process.send) return;
  process.send(message, () => process.disconnect?.());
}

export function summaryLine(s: RunSummary): string {
  const parts = [`${s.done} done`, `${s.failed} failed`, `${s.blocked} blocked`];
  if (s.cancelled) parts.push(`${s.cancelled} cancelled`);
  if (s.waiting) parts.push(`${s.waiting} waiting on unfinished dependencies`);
  if (s.parked) parts.push(`${s.parked} waiting for a parked executor`);
  if (s.budget) parts.push(`${s.budget} waiting for the budget`);
  return `nightshift: ${parts.join(', ')}\n`;
}
