import { readBudgetView, runStart, shortFigures } from '../budget/view.js';
import { formatSpend } from '../budget/spend.js';
import { loadTasks } from '../task/store.js';
import type { Output } from './output.js';
import { liveDaemons, showStatus } from './daemonStatus.js';

/**
 * `status --line`: one line for a shell prompt or a tmux status bar, cheap enough to run every few
 * seconds: task counts, spend against the day or run budgets, parked executors and when they come back.
 * Without --line it is `daemon status`.
 *
 *   ns: 2 running, 5 queued, 12 done, 1 failed | $3.20/$20.00 day | claude parked until 05:00
 */
export async function showStatusLine(opts: { cwd: string; line?: boolean; now?: Date }, io: Output): Promise<number> {
  if (!opts.line) return showStatus({ cwd: opts.cwd }, io);
  const now = opts.now ?? new Date();
  const { paths, statuses, pids } = await liveDaemons(opts.cwd);
  const counts = { running: 0, queued: 0, done: 0, failed: 0, blocked: 0 };
  for (const e of await loadTasks(paths.tasks)) {
    if (e.kind === 'task' && e.task.status in counts) counts[e.task.status as keyof typeof counts]++;
  }
  const parts = [
    `${pids.length > 0 ? 'ns' : 'ns (stopped)'}: ${Object.entries(counts)
      .filter(([status, n]) => n > 0 || status === 'running' || status === 'queued')
      .map(([status, n]) => `${n} ${status}`)
      .join(', ')}`,
  ];
  const view = await readBudgetView(paths, now, runStart(statuses));
  const figures = shortFigures(view);
  parts.push(figures.length > 0 ? figures.join(', ') : `${formatSpend(view.today.usd, 'usd')} today`);
  if (view.reached) parts.push('budget reached');
  for (const p of statuses.flatMap((s) => s.parked ?? [])) {
    parts.push(`${p.executor} parked ${p.until ? `until ${clock(new Date(p.until), now)}` : 'until restart'}`);
  }
  io.out(`${parts.join(' | ')}\n`);
  return 0;
}

/** Local HH:MM, with the date when it is not today. */
function clock(at: Date, now: Date): string {
  const hm = `${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}`;
  return at.toDateString() === now.toDateString() ? hm : `${at.getMonth() + 1}/${at.getDate()} ${hm}`;
}
