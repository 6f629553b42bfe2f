import type { AgentOptions } from '../exec/agents/types.js';
import type { NotifySink } from './notifyRules.js';

/**
 * What rules.md resolves to: every setting present, defaults filled in. The frontmatter the user writes
 * (every key optional, YAML spelling) is read into this by rules.ts.
 */

export type PushMode = 'none' | 'branch' | 'land';

/** A custom executor from rules.md: an argv template, run without a shell. */
export interface CommandExecutor {
  command: string[];
}

/** When the review gate runs: on every task, never, or on tasks of some kinds. */
export type ReviewWhen = { kind: 'always' } | { kind: 'never' } | { kind: 'kinds'; kinds: string[] };

/** rules.md `review:` resolved: a reviewer executor judges the diff after guards and tests pass. */
export interface ReviewRules {
  executor: string;
  when: ReviewWhen;
  /** An approval with a lower confidence counts as a rejection. */
  minConfidence: number;
}

/** rules.md `plan:` resolved. planner/reviewer undefined = rules.md's executor (the planner's, for the reviewer). */
export interface PlanRules {
  planner?: string;
  reviewer?: string;
  /** Both the planner's and the reviewer's confidence must reach this for a task to be ready. */
  minConfidence: number;
  /** ... and they may differ by at most this much (far apart: a person looks). */
  maxSpread: number;
  /** Ready tasks are queued at once, as with `plan --queue`. */
  autoQueue: boolean;
}

export function defaultPlanRules(): PlanRules {
  return { minConfidence: 0.8, maxSpread: 0.3, autoQueue: false };
}

/** rules.md `budget:` resolved; see src/budget/. Limits absent from rules.md are absent here. */
export interface BudgetRules {
  limits: Partial<Record<'per_task_usd' | 'per_day_usd' | 'per_run_usd' | 'per_task_tokens' | 'per_day_tokens', number>>;
  /** Where a budget day starts, in minutes after local midnight (`day_starts: "06:00"` = 360). */
  dayStartsMinutes: number;
  /** A reached day or run budget also stops running attempts (requeued without using an attempt). */
  hard: boolean;
}

/** rules.md's remote-queue keys resolved (see config/queueRules.ts and docs/fleet.md). */
export interface QueueRules {
  /** local: lock files in this checkout (the default). remote: claims as refs on the remote, for a fleet. */
  mode: 'local' | 'remote';
  /** A claim not renewed for this long, on the observer's own clock, may be taken over. */
  leaseTtlMs: number;
  /** How often an idle daemon fetches the queue and its refs (backing off while nothing changes). */
  pollMs: number;
  /** Where claims and statuses live on the remote. */
  refPrefix: string;
}

/** Where steps run: inside bubblewrap where it works (auto), always (bwrap: refuse to start without it), or never. */
export type SandboxMode = 'auto' | 'bwrap' | 'none';

/** rules.md frontmatter after validation, every default filled in. */
export interface Rules {
  /** Branch tasks start from; undefined = the branch checked out in the working tree. */
  base?: string;
  concurrency: number;
  executor?: string;
  routes: Record<string, string>;
  fallback: string[];
  setup?: string;
  test?: string;
  timeoutMs: number;
  stallTimeoutMs: number;
  testTimeoutMs: number;
  maxAttempts: number;
  /** Wait before the first retry; doubles per attempt, capped at MAX_RETRY_BACKOFF_MS. */
  retryBackoffMs: number;
  /** On a graceful stop, how long running attempts may go on before they are stopped and requeued. */
  stopGraceMs: number;
  push: PushMode;
  remote: string;
  protect: string[];
  tests: string[];
  /** Most added plus deleted lines one task's change may have; undefined = no limit. */
  maxChangedLines?: number;
  /** No file in a change may be larger (checked before anything is staged). */
  maxFileSize: number;
  review?: ReviewRules;
  plan: PlanRules;
  executors: Record<string, CommandExecutor>;
  /** Settings for the built-in agents (`executors: { claude: { model, args } }`); absent = none. */
  agents: Record<string, AgentOptions>;
  /**
   * Whether ignored files (node_modules, build output) stay in a pooled worktree from one task to the next,
   * so `setup` can be cheap. Off by default: each task then starts from exactly the committed tree.
   */
  keepIgnored: boolean;
  /** Spend limits; undefined = no `budget:` in rules.md (spend is still recorded in the ledger). */
  budget?: BudgetRules;
  /** Where events are sent (rules.md `notify:`); empty = nowhere. */
  notify: NotifySink[];
  queue: QueueRules;
  sandbox: SandboxMode;
  /** `none`: shell and command executors, setup and test run without network (agents keep their API). */
  sandboxNetwork: 'on' | 'none';
  /** More environment variables let into the sandbox (names, or prefixes ending in `*`). */
  sandboxEnv: string[];
  /** The markdown body: rules handed to every executor. */
  body: string;
}

export const DEFAULT_RULES: Rules = {
  concurrency: 3,
  routes: {},
  fallback: [],
  timeoutMs: 30 * 60_000,
  stallTimeoutMs: 10 * 60_000,
  testTimeoutMs: 15 * 60_000,
  maxAttempts: 3,
  retryBackoffMs: 2000,
  stopGraceMs: 10_000,
  push: 'none',
  remote: 'origin',
  protect: [],
  tests: [],
  maxFileSize: 5 * 1024 * 1024,
  plan: defaultPlanRules(),
  executors: {},
  agents: {},
  keepIgnored: false,
  notify: [],
  queue: { mode: 'local', leaseTtlMs: 2 * 60_000, pollMs: 30_000, refPrefix: 'refs/nightshift/' },
  sandbox: 'auto',
  sandboxNetwork: 'on',
  sandboxEnv: [],
  body: '',
};

export const DEFAULT_MIN_CONFIDENCE = 0.7;

/**
 * A fresh copy of the defaults: a spread alone would share DEFAULT_RULES' maps and lists, and the routes
 * one parse fills in would then leak into every later parse in the same process.
 */
export function defaultRules(body: string): Rules {
  return {
    ...DEFAULT_RULES,
    routes: {},
    fallback: [],
    protect: [],
    tests: [],
    executors: {},
    agents: {},
    plan: defaultPlanRules(),
    notify: [],
    queue: { ...DEFAULT_RULES.queue },
    sandboxEnv: [],
    body,
  };
}
