import type { AgentOptions } from '../exec/agents/types.js';

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
  executors: Record<string, CommandExecutor>;
  /** Settings for the built-in agents (`executors: { claude: { model, args } }`); absent = none. */
  agents: Record<string, AgentOptions>;
  /**
   * Whether ignored files (node_modules, build output) stay in a pooled worktree from one task to the next,
   * so `setup` can be cheap. Off by default: each task then starts from exactly the committed tree.
   */
  keepIgnored: boolean;
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
  executors: {},
  agents: {},
  keepIgnored: false,
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
  return { ...DEFAULT_RULES, routes: {}, fallback: [], protect: [], tests: [], executors: {}, agents: {}, sandboxEnv: [], body };
}
