import type { OwnedChanges, Status, Task } from '../task/task.js';

/**
 * A task's result as every clone sees it: the message of the commit its status ref points at. Written
 * only by the claim's holder, in the same atomic push that deletes its claim (fenced), so a status on the
 * remote is always the last holder's and never the product of merging task files.
 */
export interface FleetStatus {
  id: string;
  status: Status;
  attempts: number;
  commit?: string;
  branch?: string;
  error?: string;
  cost_usd?: number;
  tokens?: number;
  /** The machine and pid that held the claim. */
  holder: string;
  finished_at?: string;
}

/** Statuses that end a task's run: a status ref is written for these only. */
export const SETTLED: ReadonlySet<Status> = new Set<Status>(['done', 'failed', 'blocked', 'cancelled']);

export function statusMessage(s: FleetStatus): string {
  return `nightshift status ${s.id}: ${s.status}\n\n${JSON.stringify(s)}\n`;
}

/** The record in a status commit's message, or undefined for anything else (a ref someone else pushed). */
export function parseStatusMessage(message: string): FleetStatus | undefined {
  const json = message.slice(message.indexOf('\n\n') + 2).trim();
  let s: Record<string, unknown>;
  try {
    s = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  // Anyone who can push can write a status ref: only well-typed values reach a task file.
  const text = (v: unknown) => (typeof v === 'string' ? v.slice(0, 2000) : undefined);
  const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
  if (typeof s.id !== 'string' || typeof s.status !== 'string' || !SETTLED.has(s.status as Status)) return undefined;
  return {
    id: s.id,
    status: s.status as Status,
    attempts: Number.isInteger(s.attempts) ? (count(s.attempts) ?? 0) : 0,
    commit: typeof s.commit === 'string' && /^[0-9a-f]{4,64}$/.test(s.commit) ? s.commit : undefined,
    branch: text(s.branch),
    error: text(s.error),
    cost_usd: count(s.cost_usd),
    tokens: count(s.tokens),
    holder: text(s.holder) ?? '?',
    finished_at: text(s.finished_at),
  };
}

/** The record for a task as its task file (or the publish about to happen) says it ended. */
export function statusOf(task: Task, holder: string, override: Partial<FleetStatus> = {}): FleetStatus {
  return {
    id: task.id,
    status: task.status,
    attempts: task.attempts,
    commit: task.commit,
    branch: task.branch,
    error: task.error,
    cost_usd: task.costUsd,
    tokens: task.tokens,
    holder,
    finished_at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    ...override,
  };
}

/** The task file keys a status sets in a clone's copy (`nightshift sync`, the daemon's poll). */
export function ownedChangesOf(s: FleetStatus): OwnedChanges {
  return {
    status: s.status,
    attempts: s.attempts,
    commit: s.commit ?? null,
    branch: s.branch ?? null,
    error: s.error ?? null,
    cost_usd: s.cost_usd ?? null,
    tokens: s.tokens ?? null,
    claimed_by: s.holder,
    finished_at: s.finished_at ?? null,
  };
}
