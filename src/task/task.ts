/** The task model: what a parsed, validated task file holds. */
export const STATUSES = ['queued', 'running', 'done', 'failed', 'blocked', 'cancelled', 'draft'] as const;
export type Status = (typeof STATUSES)[number];

/** Keys nightshift writes. Every other key belongs to the user and is never rewritten. */
export const OWNED_KEYS = [
  'status',
  'attempts',
  'claimed_by',
  'started_at',
  'finished_at',
  'base_commit',
  'branch',
  'commit',
  'error',
  'cost_usd',
  'tokens',
] as const;
export type OwnedKey = (typeof OWNED_KEYS)[number];
export type OwnedValue = string | number | null;
/** A change to the owned keys: a value sets the key, null removes it. */
export type OwnedChanges = Partial<Record<OwnedKey, OwnedValue>>;

export interface Task {
  id: string;
  /** Absolute path of the task file. */
  file: string;
  title: string;
  status: Status;
  priority: number;
  dependsOn: string[];
  kind?: string;
  executor?: string;
  files?: string[];
  skills?: string[];
  timeoutMs?: number;
  maxAttempts?: number;
  run?: string;
  /** Lowers rules.md's max_changed_lines for this task. */
  maxChangedLines?: number;
  /** The base commit the plan was written against: a change to `files` since then blocks the task. */
  plannedAt?: string;
  attempts: number;
  claimedBy?: string;
  startedAt?: string;
  finishedAt?: string;
  baseCommit?: string;
  branch?: string;
  commit?: string;
  error?: string;
  costUsd?: number;
  tokens?: number;
  /** Every frontmatter key as parsed, user keys included. */
  frontmatter: Record<string, unknown>;
  /** The markdown body after the frontmatter, byte for byte. */
  body: string;
  /** The exact file text this task was parsed from (for compare-before-write). */
  text: string;
}

export interface InvalidTask {
  id: string;
  file: string;
  reason: string;
}

export type TaskEntry = { kind: 'task'; task: Task } | { kind: 'invalid'; invalid: InvalidTask };
