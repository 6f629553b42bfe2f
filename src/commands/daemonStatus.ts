import { hostname } from 'node:os';
import { liveDaemonPid } from '../daemon/pidFile.js';
import { noFigures, readDaemonStatuses, type DaemonStatus, type ExecutorFigures } from '../daemon/statusFile.js';
import type { ParkedExecutor } from '../run/events.js';
import { loadTasks } from '../task/store.js';
import { STATUSES, type TaskEntry } from '../task/task.js';
import { formatDuration } from '../util/duration.js';
import type { Output } from './output.js';
import { openRepo } from './repo.js';
import { budgetLines } from './budgetLines.js';
import { readBudgetView, runStart, type BudgetView } from '../budget/view.js';

/** Live daemons of this checkout: their status files, plus the pid file's owner should its file be missing. */
export async function liveDaemons(cwd: string) {
  const paths = await openRepo(cwd);
  const statuses = await readDaemonStatuses(paths);
  const primary = await liveDaemonPid(paths);
  const pids = new Set(statuses.filter((s) => s.host === hostname()).map((s) => s.pid));
  if (primary !== undefined) pids.add(primary);
  return { paths, statuses, pids: [...pids].sort((a, b) => a - b) };
}

export interface StatusReport {
  running: boolean;
  daemons: Array<Pick<DaemonStatus, 'pid' | 'host' | 'startedAt' | 'state' | 'mode' | 'concurrency' | 'primary'>>;
  tasks: Record<string, number>;
  runningTasks: Array<{ id: string; attempt: number; claimedAt: string; elapsedMs: number; daemon: number }>;
  executors: Record<string, ExecutorFigures>;
  parked: Array<ParkedExecutor & { daemon: number }>;
  /** Spend today and against every budget (src/budget/), the ledger's entries left out. */
  budget: Omit<BudgetView, 'entries'>;
}

/** `daemon status`: the daemons, what they run and for how long, counts per status, per-executor figures. */
export async function showStatus(opts: { cwd: string; json?: boolean }, io: Output): Promise<number> {
  const { paths, statuses, pids } = await liveDaemons(opts.cwd);
  const report = buildReport(statuses, pids, await loadTasks(paths.tasks));
  const { today, figures, perTask, reached } = await readBudgetView(paths, new Date(), runStart(statuses));
  report.budget = { today, figures, perTask, reached };
  if (opts.json) {
    io.out(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  }
  if (!report.running) io.out('nightshift daemon: not running\n');
  for (const d of report.daemons) {
    const up = formatDuration(Date.now() - Date.parse(d.startedAt));
    io.out(
      `nightshift daemon: ${d.state} (pid ${d.pid}${d.host !== hostname() ? ` on ${d.host}` : ''}, up ${up}, ${d.mode}, concurrency ${d.concurrency})\n`,
    );
  }
  if (report.runningTasks.length > 0) {
    io.out('running:\n');
    for (const r of report.runningTasks) io.out(`  ${r.id}  attempt ${r.attempt}  ${formatDuration(r.elapsedMs)}\n`);
  }
  const counts = Object.entries(report.tasks)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`);
  io.out(`tasks: ${counts.length > 0 ? counts.join(', ') : 'none'}\n`);
  if (report.parked.length > 0) {
    io.out('parked executors (no new tasks):\n');
    for (const p of report.parked) {
      const until = p.until ? `until ${p.until.replace(/\.\d{3}Z$/, 'Z')}` : 'until the daemon restarts';
      io.out(`  ${p.executor}  ${p.cause}  ${until}: ${p.reason}\n`);
    }
  }
  io.out(budgetLines(report.budget));
  const executors = Object.entries(report.executors);
  if (executors.length > 0) {
    io.out('executors (this run):\n');
    for (const [name, f] of executors) {
      const cost = f.costUsd > 0 ? `  cost $${f.costUsd.toFixed(2)}` : '';
      const tokens = f.tokens > 0 ? `  tokens ${f.tokens}` : '';
      io.out(
        `  ${name}  attempts ${f.attempts}  successes ${f.successes}  task failures ${f.taskFailures}  infra failures ${f.infraFailures}${tokens}${cost}\n`,
      );
    }
  }
  return 0;
}

export function buildReport(statuses: DaemonStatus[], pids: number[], entries: TaskEntry[]): StatusReport {
  const tasks: Record<string, number> = Object.fromEntries([...STATUSES, 'invalid'].map((s) => [s, 0]));
  for (const e of entries) {
    const key = e.kind === 'task' ? e.task.status : 'invalid';
    tasks[key] = (tasks[key] ?? 0) + 1;
  }
  const now = Date.now();
  const executors: Record<string, ExecutorFigures> = {};
  for (const s of statuses) {
    for (const [name, f] of Object.entries(s.executors)) {
      const sum = (executors[name] ??= noFigures());
      for (const key of Object.keys(sum) as Array<keyof ExecutorFigures>) sum[key] += f[key] ?? 0;
    }
  }
  return {
    running: pids.length > 0 || statuses.length > 0,
    daemons: statuses.map(({ pid, host, startedAt, state, mode, concurrency, primary }) => ({
      pid,
      host,
      startedAt,
      state,
      mode,
      concurrency,
      primary,
    })),
    tasks,
    runningTasks: statuses
      .flatMap((s) =>
        s.running.map((r) => ({
          id: r.id,
          attempt: r.attempt,
          claimedAt: r.claimedAt,
          elapsedMs: now - Date.parse(r.claimedAt),
          daemon: s.pid,
        })),
      )
      .sort((a, b) => a.id.localeCompare(b.id)),
    executors,
    parked: statuses.flatMap((s) => (s.parked ?? []).map((p) => ({ ...p, daemon: s.pid }))),
    budget: { today: { since: '', usd: 0, tokens: 0 }, figures: [], perTask: {} },
  };
}
