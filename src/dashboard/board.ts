import { listed, type ListedTask } from '../commands/list.js';
import type { StatusReport } from '../commands/daemonStatus.js';
import { chooseExecutor } from '../exec/executors.js';
import type { Rules } from '../config/rules.js';
import type { Paths } from '../paths.js';
import { assessQueue, type Readiness } from '../task/readiness.js';
import type { TaskEntry } from '../task/task.js';

/** The board's columns, left to right: `waiting` holds queued tasks that cannot start yet. */
export const COLUMNS = ['draft', 'queued', 'running', 'waiting', 'done', 'failed', 'blocked', 'cancelled', 'invalid'] as const;
export type Column = (typeof COLUMNS)[number];

/**
 * Cards rendered per column. A queue of 10,000 tasks is not 10,000 cards: the page would take seconds to
 * lay out and scroll. The count stays exact; search narrows a column down to what is wanted.
 */
export const CARDS_PER_COLUMN = 30;

export interface BoardFilter {
  /** Words that must all appear in the id, title, executor or kind (case-insensitive). */
  q?: string;
  column?: string;
}

export interface Card extends ListedTask {
  column: Column;
  executor: string | null;
  /** Why a waiting task waits: its unfinished dependencies, or its executor being parked. */
  waitingOn: string | null;
  costUsd: number | null;
}

export interface RunningCard {
  id: string;
  title: string;
  executor: string | null;
  attempt: number;
  startedAt: string;
  timeoutMs: number;
  daemon: number;
}

export interface Board {
  total: number;
  counts: Record<Column, number>;
  spend: { costUsd: number; tokens: number };
  columns: Array<{ name: Column; total: number; cards: Card[] }>;
  running: RunningCard[];
  parked: StatusReport['parked'];
  daemons: StatusReport['daemons'];
}

/** What the board is made of: what is on disk now, read by the caller. */
export interface BoardInput {
  paths: Paths;
  entries: TaskEntry[];
  rules: Rules;
  status: Pick<StatusReport, 'daemons' | 'parked' | 'runningTasks'>;
  /** assessQueue(entries), when the caller kept it (it is most of the board's cost on a large queue). */
  readiness?: Map<string, Readiness>;
}

/** Sorts every task file into its column and keeps the cards the filter asks for. Pure. */
export function buildBoard(input: BoardInput, filter: BoardFilter = {}): Board {
  const { entries, rules, status } = input;
  const readiness = input.readiness ?? assessQueue(entries);
  const parked = new Map(status.parked.map((p) => [p.executor, p]));
  const words = (filter.q ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  const counts = Object.fromEntries(COLUMNS.map((c) => [c, 0])) as Record<Column, number>;
  const columns = COLUMNS.map((name) => ({ name, total: 0, cards: [] as Card[] }));
  const byName = new Map(columns.map((c) => [c.name, c]));
  const spend = { costUsd: 0, tokens: 0 };
  const running: RunningCard[] = [];
  const claimed = new Map(status.runningTasks.map((r) => [r.id, r]));

  for (const entry of entries) {
    const task = entry.kind === 'task' ? entry.task : undefined;
    const executor = task ? (chooseExecutor(task, rules) ?? null) : null;
    let column: Column = task ? task.status : 'invalid';
    let waitingOn: string | null = null;
    if (task?.status === 'queued') {
      const ready = readiness.get(task.id);
      const park = executor ? parked.get(executor) : undefined;
      if (ready?.kind === 'waiting') waitingOn = `waits for ${ready.on.join(', ')}`;
      else if (ready?.kind === 'blocked') waitingOn = `cannot start: ${ready.reason}`;
      else if (park) waitingOn = `executor ${park.executor} parked (${park.cause})`;
      if (waitingOn) column = 'waiting';
    }
    counts[column]++;
    spend.costUsd += task?.costUsd ?? 0;
    spend.tokens += task?.tokens ?? 0;
    if (task?.status === 'running') {
      const claim = claimed.get(task.id);
      running.push({
        id: task.id,
        title: task.title,
        executor,
        attempt: claim?.attempt ?? task.attempts,
        startedAt: claim?.claimedAt ?? task.startedAt ?? new Date().toISOString(),
        timeoutMs: task.timeoutMs ?? rules.timeoutMs,
        daemon: claim?.daemon ?? 0,
      });
    }
    if (filter.column && filter.column !== column) continue;
    if (!matches(entry, executor, words)) continue;
    const col = byName.get(column) as (typeof columns)[number];
    col.total++;
    // Only the cards shown are built: 10,000 path computations cost more than the rest of the board.
    if (col.cards.length < CARDS_PER_COLUMN)
      col.cards.push({ ...listed(input.paths, entry), column, executor, waitingOn, costUsd: task?.costUsd ?? null });
  }
  spend.costUsd = Math.round(spend.costUsd * 1e6) / 1e6;
  return { total: entries.length, counts, spend, columns, running, parked: status.parked, daemons: status.daemons };
}

function matches(entry: TaskEntry, executor: string | null, words: string[]): boolean {
  if (words.length === 0) return true;
  const fields =
    entry.kind === 'task'
      ? [entry.task.id, entry.task.title, executor, entry.task.kind, entry.task.error]
      : [entry.invalid.id, entry.invalid.reason];
  const text = fields.filter(Boolean).join(' ').toLowerCase();
  return words.every((w) => text.includes(w));
}
