import type { BudgetFigure } from '../budget/spend.js';
import { roundUsd } from '../budget/spend.js';
import type { SpendEntry } from '../budget/ledger.js';
import { assessQueue } from '../task/readiness.js';
import type { Task, TaskEntry } from '../task/task.js';
import type { ProgressLine } from './progressLines.js';

/**
 * The morning report: one page of what a night did, built from the task files (what each task is now),
 * progress.txt (what happened when) and the spend ledger (what it cost). Pure: the same inputs give the
 * same report; the task files are the source of truth for every task's figures.
 */
export interface MorningReport {
  window: { since: string; until: string };
  landed: LandedTask[];
  failed: FailedTask[];
  waiting: WaitingTask[];
  spend: {
    total: { usd: number; tokens: number };
    byExecutor: Array<{ executor: string; usd: number; tokens: number; entries: number }>;
    budgets: BudgetFigure[];
    perTask: { usd?: number; tokens?: number };
  };
  pauses: {
    attemptFailures: number;
    retries: number;
    fallbacks: number;
    parked: Array<{ time: string; executor: string; cause: string; until: string }>;
    budgetReached: Array<{ time: string; budget: string; spent: number; limit: number }>;
  };
  slowest: Array<{ id: string; durationMs: number }>;
  mostExpensive: Array<{ id: string; costUsd: number }>;
}

export interface LandedTask {
  id: string;
  title: string;
  branch: string | null;
  commit: string | null;
  durationMs: number | null;
  attempts: number;
  costUsd: number | null;
  tokens: number | null;
}

export interface FailedTask {
  id: string;
  title: string;
  status: 'failed' | 'blocked';
  reason: string;
  attempts: number;
  costUsd: number | null;
  /** The command that puts it back in the queue. */
  requeue: string;
}

export interface WaitingTask {
  id: string;
  title: string;
  why: 'dependency' | 'parked' | 'budget' | 'ready';
  detail: string;
}

export interface ReportInput {
  entries: TaskEntry[];
  progress: ProgressLine[];
  ledger: SpendEntry[];
  since: Date;
  until: Date;
  budgets: BudgetFigure[];
  perTask: { usd?: number; tokens?: number };
  /** Why queued tasks wait, when a day or run budget is reached now. */
  budgetReached?: string;
  /** The executor a task routes to (rules.md), to tell a task that waits for a parked one. */
  executorOf?: (task: Task) => string | undefined;
}

/** How many tasks the slowest and most expensive lists name. */
const TOP = 3;

export function buildReport(input: ReportInput): MorningReport {
  const { since, until } = input;
  const inWindow = (iso: string | undefined) =>
    iso !== undefined && Date.parse(iso) >= since.getTime() && Date.parse(iso) <= until.getTime();
  const lines = input.progress.filter((l) => inWindow(l.time));
  const lastLine = new Map<string, ProgressLine>();
  for (const l of input.progress) if (l.id !== undefined) lastLine.set(l.id, l);
  const tasks = input.entries.flatMap((e) => (e.kind === 'task' ? [e.task] : []));
  // A task belongs to the night when it ended in it (its finished_at, else its last progress line's time).
  const endedInWindow = (t: Task) => inWindow(t.finishedAt ?? lastLine.get(t.id)?.time);
  const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);

  const landed = tasks
    .filter((t) => t.status === 'done' && endedInWindow(t))
    .map((t): LandedTask => ({
      id: t.id,
      title: t.title,
      branch: t.branch ?? null,
      commit: t.commit ?? null,
      durationMs: durationOf(t),
      attempts: t.attempts,
      costUsd: t.costUsd ?? null,
      tokens: t.tokens ?? null,
    }))
    .sort(byId);

  const failed = tasks
    .filter((t): t is Task & { status: 'failed' | 'blocked' } => (t.status === 'failed' || t.status === 'blocked') && endedInWindow(t))
    .map((t) => ({
      id: t.id,
      title: t.title,
      status: t.status,
      reason: t.error ?? `${t.status} (no reason recorded)`,
      attempts: t.attempts,
      costUsd: t.costUsd ?? null,
      requeue: `nightshift requeue ${t.id}`,
    }))
    .sort(byId);

  const readiness = assessQueue(input.entries);
  const parked = parkedExecutors(input.progress, until);
  const waiting = tasks
    .filter((t) => t.status === 'queued')
    .map((t): WaitingTask => {
      const r = readiness.get(t.id);
      const base = { id: t.id, title: t.title };
      if (r?.kind === 'waiting') return { ...base, why: 'dependency', detail: `waits for ${r.on.join(', ')}` };
      if (r?.kind === 'blocked') return { ...base, why: 'dependency', detail: r.reason };
      const executor = input.executorOf?.(t);
      const parkedNow = executor !== undefined ? parked.get(executor) : undefined;
      if (parkedNow)
        return { ...base, why: 'parked', detail: `executor ${executor} is parked (${parkedNow.cause}) ${untilText(parkedNow.until)}` };
      const last = lastLine.get(t.id);
      if (last?.event === 'requeued' && last.fields.until !== undefined && t.error) {
        return { ...base, why: 'parked', detail: `${t.error} (${untilText(last.fields.until)})` };
      }
      if (input.budgetReached) return { ...base, why: 'budget', detail: input.budgetReached };
      if (t.error?.startsWith('budget ')) return { ...base, why: 'budget', detail: t.error };
      return { ...base, why: 'ready', detail: 'ready to run; not claimed yet' };
    })
    .sort(byId);

  const spent = input.ledger.filter((e) => inWindow(e.at));
  const executors = new Map<string, { executor: string; usd: number; tokens: number; entries: number }>();
  for (const e of spent) {
    const name = e.source === 'executor' ? (e.executor ?? 'unknown') : `${e.source}${e.executor ? ` ${e.executor}` : ''}`;
    const row = executors.get(name) ?? { executor: name, usd: 0, tokens: 0, entries: 0 };
    row.usd = roundUsd(row.usd + (e.costUsd ?? 0));
    row.tokens += e.tokens ?? 0;
    row.entries++;
    executors.set(name, row);
  }
  const byExecutor = [...executors.values()].sort((a, b) => b.usd - a.usd || a.executor.localeCompare(b.executor));
  const total = {
    usd: roundUsd(byExecutor.reduce((s, r) => s + r.usd, 0)),
    tokens: byExecutor.reduce((s, r) => s + r.tokens, 0),
  };

  const count = (event: string) => lines.filter((l) => l.event === event).length;
  const pauses = {
    attemptFailures: count('attempt-failed'),
    retries: count('retry-scheduled'),
    fallbacks: count('fallback'),
    parked: lines
      .filter((l) => l.event === 'executor-parked')
      .map((l) => ({ time: l.time, executor: l.fields.executor ?? '?', cause: l.fields.cause ?? '?', until: l.fields.until ?? '?' })),
    budgetReached: lines
      .filter((l) => l.event === 'budget-reached')
      .map((l) => ({ time: l.time, budget: l.fields.budget ?? '?', spent: Number(l.fields.spent), limit: Number(l.fields.limit) })),
  };

  const ended = [...landed, ...failed.map((f) => ({ ...f, durationMs: durationOf(tasks.find((t) => t.id === f.id) as Task) }))];
  const slowest = ended
    .flatMap((t) => (t.durationMs === null ? [] : [{ id: t.id, durationMs: t.durationMs }]))
    .sort((a, b) => b.durationMs - a.durationMs || a.id.localeCompare(b.id))
    .slice(0, TOP);
  const mostExpensive = ended
    .flatMap((t) => (t.costUsd === null || t.costUsd === 0 ? [] : [{ id: t.id, costUsd: t.costUsd }]))
    .sort((a, b) => b.costUsd - a.costUsd || a.id.localeCompare(b.id))
    .slice(0, TOP);

  return {
    window: { since: since.toISOString(), until: until.toISOString() },
    landed,
    failed,
    waiting,
    spend: { total, byExecutor, budgets: input.budgets, perTask: input.perTask },
    pauses,
    slowest,
    mostExpensive,
  };
}

/** From its claim to its end, by the task file; null when either is missing. */
function durationOf(t: Task): number | null {
  if (!t.startedAt || !t.finishedAt) return null;
  const ms = Date.parse(t.finishedAt) - Date.parse(t.startedAt);
  return Number.isNaN(ms) || ms < 0 ? null : ms;
}

/**
 * Executors parked as progress.txt tells it at `now`: parked and neither resumed nor past their reset time
 * since; one parked until a restart stays so until the next daemon-start.
 */
export function parkedExecutors(progress: readonly ProgressLine[], now: Date): Map<string, { cause: string; until: string }> {
  const parked = new Map<string, { cause: string; until: string }>();
  for (const l of progress) {
    if (Date.parse(l.time) > now.getTime()) break;
    if (l.event === 'daemon-start') parked.clear();
    const name = l.fields.executor;
    if (l.event === 'executor-parked' && name) parked.set(name, { cause: l.fields.cause ?? 'unknown', until: l.fields.until ?? 'restart' });
    if (l.event === 'executor-resumed' && name) parked.delete(name);
  }
  for (const [name, p] of parked) if (p.until !== 'restart' && Date.parse(p.until) <= now.getTime()) parked.delete(name);
  return parked;
}

function untilText(until: string): string {
  return until === 'restart' ? 'until the daemon restarts' : `until ${until}`;
}
