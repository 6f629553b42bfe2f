import type { AgentUsage } from '../exec/agents/types.js';
import type { SpawnOutcome } from '../exec/spawn.js';
import type { StepRequest } from '../exec/stepRequest.js';
import type { Verdict } from './verdict.js';

/** How one task's run ended (runTask.ts), for the scheduler's counts. */
export type TaskRunResult =
  | { kind: 'done'; commit: string }
  | { kind: 'failed'; reason: string }
  | { kind: 'blocked'; reason: string }
  | { kind: 'cancelled' }
  | { kind: 'requeued' }
  /** Someone else claimed it first, or it changed before we could start: not ours to run. */
  | { kind: 'skipped' };

/**
 * What the attempt and each of its steps (executorStep, guardChange, review, publish/land) can end in.
 * Steps import these from here, not from the orchestrator (attempt.ts) that calls them.
 */
export type AttemptOutcome =
  | { kind: 'success'; commit: string; pushed: boolean }
  /** The attempt failed; `detail` (reason plus output tail) goes into the next attempt's prompt. */
  | { kind: 'failure'; reason: string; detail: string; retry: boolean }
  /**
   * The checked commit was made, but pushing or landing it failed (remote unreachable, push refused, base
   * kept moving). Not the task's fault: the commit is kept (on `baseCommit`), and publishing it again needs
   * no executor. `retry` false: another try now would fail the same way.
   */
  | { kind: 'unpublished'; reason: string; commit: string; baseCommit: string; retry: boolean }
  /** The task cannot run as configured (executor missing): no attempt will help until someone acts. */
  | { kind: 'blocked'; reason: string }
  /**
   * Every executor the task may use is parked, until a known time (usage limit) or, when `until` is
   * absent, until the daemon restarts: back to the queue, no attempt used.
   */
  | { kind: 'waiting'; reason: string; until?: Date }
  /** The daemon is stopping: the task goes back to the queue. */
  | { kind: 'interrupted' }
  /** Someone else owns the task now (cancelled, lock taken over): stop quietly. */
  | { kind: 'lost'; why: 'cancelled' | 'claim' };

/** The guards' reading of the executor's change (guardChange.ts). */
export type GuardedChange =
  /** `tree`: the staged change as a tree, written once the guards passed (what the commit will be). */
  | { kind: 'staged'; paths: string[]; tree: string }
  | { kind: 'empty' }
  /** One line per violated rule; the change is not staged when a worktree check failed. */
  | { kind: 'violations'; violations: string[] }
  | { kind: 'refused'; reason: string; retry: boolean };

/** The review gate's answer (review.ts). */
export type ReviewResult =
  | { kind: 'approved'; verdict: Verdict }
  /** Rejected, under min_confidence, or no readable verdict (counted as a reject). */
  | { kind: 'rejected'; reason: string; detail: string }
  | { kind: 'blocked'; reason: string }
  /** The reviewer is parked until a known time (an outage, a limit): the task waits in the queue. */
  | { kind: 'waiting'; reason: string; until: Date }
  /** The reviewer process itself failed (exit code, timeout): the caller reports it like any step. */
  | { kind: 'step-failed'; step: string; outcome: SpawnOutcome; from: number }
  | { kind: 'cancelled' };

/** One executor run inside an attempt, as `daemon status` counts it. */
export interface ExecutorRun {
  executor: string;
  result: 'success' | 'task-failure' | 'infra-failure';
  usage: AgentUsage;
}

/** What the attempt learnt about its executors, filled in as they run (read by runTask afterwards). */
export interface AttemptReport {
  runs: ExecutorRun[];
  /** Commands an agent was refused during the attempt (see run/denied.ts). */
  denied?: string[];
}

/**
 * What a step needs from the attempt to start a process: the attempt's process group handling, cancel
 * checks, deadline and transcript. 'cancelled': the task was cancelled while (or before) it ran.
 */
export interface StepRunner {
  run(req: StepRequest): Promise<SpawnOutcome | 'cancelled'>;
}
