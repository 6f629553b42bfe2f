import { startDaemon, type RunSummary } from '../daemon/start.js';
import type { Output } from './repo.js';
import { killAllGroups } from '../exec/spawn.js';

export interface DaemonStartOptions {
  cwd: string;
  once?: boolean;
  concurrency?: number;
  worktreeRoot?: string;
  /** Print progress lines as they happen (the CLI does; the demo has its own printer). */
  echo?: boolean;
}

/**
 * `daemon start`: runs in the foreground. With --once it drains the queue and exits 1 if any task ended
 * failed or blocked; otherwise it watches tasks/ until SIGINT/SIGTERM (first = graceful, second = now).
 */
export async function runDaemon(opts: DaemonStartOptions, io: Output): Promise<number> {
  const handle = await startDaemon({
    cwd: opts.cwd,
    once: opts.once,
    concurrency: opts.concurrency,
    worktreeRoot: opts.worktreeRoot,
    onProgress: opts.echo === false ? undefined : (line) => io.out(`${line}\n`),
  });
  let signals = 0;
  const onSignal = () => {
    signals++;
    if (signals === 1) {
      io.err('stopping: running attempts are stopped and their tasks requeued (signal again to exit now)\n');
      void handle.stop();
    } else {
      killAllGroups();
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let summary: RunSummary;
  try {
    summary = await handle.done;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  io.out(summaryLine(summary));
  return summary.failed > 0 || summary.blocked > 0 ? 1 : 0;
}

export function summaryLine(s: RunSummary): string {
  const parts = [`${s.done} done`, `${s.failed} failed`, `${s.blocked} blocked`];
  if (s.cancelled) parts.push(`${s.cancelled} cancelled`);
  if (s.waiting) parts.push(`${s.waiting} waiting on unfinished dependencies`);
  if (s.parked) parts.push(`${s.parked} waiting for a parked executor`);
  return `nightshift: ${parts.join(', ')}\n`;
}
