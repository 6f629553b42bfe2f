import type { Logger } from 'pino';
import type { Rules } from '../config/rules.js';
import type { ExecutorHealth } from '../exec/health.js';
import type { Git, GitIdentity } from '../git/git.js';
import type { WorktreePool } from '../git/pool.js';
import type { Paths } from '../paths.js';
import type { ProgressLog } from '../progress/log.js';
import type { Sandbox } from '../sandbox/choose.js';
import type { DaemonEvents } from './events.js';
import type { BudgetKeeper } from '../budget/keeper.js';
import type { ClaimStore } from '../fleet/claimStore.js';

/** Everything a task run needs from the daemon, passed explicitly (no globals, no process.cwd()). */
export interface RunContext {
  paths: Paths;
  rules: Rules;
  scopeBody: string;
  /** The repository itself (root checkout). */
  git: Git;
  /** Who nightshift's commits are by: the repository's identity at daemon start, or nightshift's own. */
  identity: GitIdentity;
  /** Branch tasks start from. */
  base: string;
  progress: ProgressLog;
  logger: Logger;
  events: DaemonEvents;
  /** Aborted when the daemon stops: running executors are stopped and their tasks requeued. */
  stopSignal: AbortSignal;
  /**
   * Aborted as soon as a stop is asked for (before stopSignal, which waits out the grace period): no new
   * attempt or retry starts, a retry waiting out its backoff goes back to the queue at once.
   */
  drainSignal?: AbortSignal;
  ownerId: string;
  /** Where attempts get their worktrees. */
  pool: WorktreePool;
  /** The daemon's concurrency slots, lent out while a run waits out a retry backoff (absent: never lent). */
  slots?: { whileWaiting(id: string, wait: () => Promise<boolean>): Promise<boolean> };
  /** Executors parked after an infrastructure failure; shared by every task run and the scheduler. */
  health: ExecutorHealth;
  /** Spend limits and the ledger (src/budget/); absent: nothing is recorded or checked. */
  budget?: BudgetKeeper;
  /** Where runs get their claims when the queue is remote (fleet/claimStore.ts); absent: lock files only. */
  claims?: ClaimStore;
  /** Where steps run, decided once at start (absent: on the host). */
  sandbox?: Sandbox;
}
