import { readBudgetView } from '../budget/view.js';
import { UsageError } from '../errors.js';
import { loadRules } from '../config/rules.js';
import { chooseExecutor } from '../exec/executors.js';
import type { Paths } from '../paths.js';
import { loadTasks } from '../task/store.js';
import { parseDuration } from '../util/duration.js';
import { buildReport, type MorningReport } from './build.js';
import { readProgressLines, type ProgressLine } from './progressLines.js';

/** Which night a report covers: `--since 12h`, `--run last` (the default), or a daemon's own run. */
export type ReportWindow = { kind: 'since'; ms: number } | { kind: 'last-run' } | { kind: 'from'; since: Date };

/** The CLI's options as a window; bad values are a UsageError saying how to write them. */
export function reportWindow(opts: { since?: string; run?: string }): ReportWindow {
  if (opts.since !== undefined && opts.run !== undefined) {
    throw new UsageError('give --since or --run, not both', 'nightshift report --since 12h, or nightshift report --run last');
  }
  if (opts.since !== undefined) {
    const ms = parseDuration(opts.since);
    if (ms === undefined) throw new UsageError(`--since ${JSON.stringify(opts.since)} is not a duration`, 'write it like 12h, 90m or 2d');
    return { kind: 'since', ms };
  }
  if (opts.run !== undefined && opts.run !== 'last') {
    throw new UsageError(`--run ${JSON.stringify(opts.run)} is not known`, 'use --run last (the last daemon run), or --since 12h');
  }
  return { kind: 'last-run' };
}

/** Reads the task files, progress.txt and the ledger, and builds the report for the window. */
export async function collectReport(paths: Paths, window: ReportWindow, now = new Date()): Promise<MorningReport> {
  const [entries, progress] = await Promise.all([loadTasks(paths.tasks), readProgressLines(paths.progress)]);
  const { since, until } = resolveWindow(window, progress, now);
  const view = await readBudgetView(paths, now, since);
  const rules = await loadRules(paths.rules).catch(() => undefined);
  return buildReport({
    entries,
    progress,
    ledger: view.entries,
    since,
    until,
    budgets: view.figures,
    perTask: view.perTask,
    budgetReached: view.reached,
    executorOf: rules ? (task) => chooseExecutor(task, rules) : undefined,
  });
}

/** The last run: from the last daemon-start line to the daemon-stop after it (or now, while it runs). */
export function resolveWindow(window: ReportWindow, progress: ProgressLine[], now: Date): { since: Date; until: Date } {
  if (window.kind === 'since') return { since: new Date(now.getTime() - window.ms), until: now };
  if (window.kind === 'from') return { since: window.since, until: now };
  const starts = progress.flatMap((l, i) => (l.event === 'daemon-start' ? [i] : []));
  const start = starts.at(-1);
  if (start === undefined) return { since: new Date(0), until: now };
  const stop = progress.slice(start).find((l) => l.event === 'daemon-stop');
  // progress.txt times are whole seconds: the run ends with the last millisecond of its stop line's second.
  return { since: new Date(progress[start]?.time as string), until: stop ? new Date(Date.parse(stop.time) + 999) : now };
}
