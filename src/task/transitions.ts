import { InternalError } from '../errors.js';
import type { DaemonEvents } from '../run/events.js';
import { utcStamp, type ProgressEvent, type ProgressFields, type ProgressLog } from '../progress/log.js';
import { formatDuration } from '../util/duration.js';
import { updateTask } from './store.js';
import type { OwnedChanges, Status, Task } from './task.js';
import { assertLegal, type Transition } from './transitionTable.js';

/**
 * The task state machine: one method per transition (the legal ones are in transitionTable.ts). Each writes
 * the task file, then appends its progress.txt line, then emits its daemon event, so that the file, the log
 * and the event always agree; nothing else in src/ writes a task's status.
 */

/** Where a transition is told: progress.txt, and the daemon's typed events (a command has none). */
export interface TransitionSinks {
  progress: ProgressLog;
  events?: DaemonEvents;
}

/** A task file as the one who writes it sees it. */
export interface TaskFile {
  /** The task as the last write left it (after a rename: under its new name and id). */
  readonly task: Task;
  /**
   * Writes owned keys when `guard` (by default the writer's own: still ours) accepts the file as it is on
   * disk now; false when it did not.
   */
  write(changes: OwnedChanges, guard?: (onDisk: Task) => boolean): Promise<boolean>;
}

/** A commit that passed every check but is not published yet: kept for the next claim to publish. */
export interface KeptCommit {
  commit: string;
  baseCommit: string;
}

/** Publishing a kept commit is retried: the commit, the task's branch, and the failure that is retried. */
export interface Publishing {
  kept: KeptCommit;
  branch: string;
  error: string;
}

/** How recovery finished a dead run's commit: published (done), or its push failed and it waits in the queue. */
export type Finalization =
  { kind: 'done'; commit: string; branch: string } | { kind: 'requeued'; commit: string; branch: string; reason: string };

/** A task file written under its edit lock when `owns` accepts it as it is on disk (recovery's writes). */
export function guardedTaskFile(locksDir: string, task: Task, owns: (onDisk: Task) => boolean): TaskFile {
  let current = task;
  return {
    get task() {
      return current;
    },
    async write(changes, guard = owns) {
      const result = await updateTask(locksDir, current.file, current.id, (t) => (guard(t) ? changes : undefined));
      if (result.kind === 'updated') current = result.task;
      return result.kind === 'updated';
    },
  };
}

/** The transitions of one task, written through `file`. */
export function taskTransitions(sinks: TransitionSinks, file: TaskFile): TaskTransitions {
  return new TaskTransitions(sinks, file);
}

export class TaskTransitions {
  constructor(
    private readonly sinks: TransitionSinks,
    private readonly file: TaskFile,
  ) {}

  /** queued -> running. The first attempt is counted here: one durable write of the task file fewer per task. */
  async claim(c: { by: string; executor: string; on?: string; branch: string; baseCommit?: string; commit?: string }): Promise<boolean> {
    const task = this.legal('claim', 'running');
    const written = await this.file.write(
      {
        status: 'running',
        attempts: task.attempts + 1,
        claimed_by: c.by,
        started_at: utcStamp(),
        finished_at: null,
        error: null,
        commit: c.commit ?? null,
        branch: c.branch,
        base_commit: c.baseCommit ?? null,
      },
      (t) => t.status === 'queued',
    );
    if (!written) return false;
    await this.log('claimed', { by: c.by, executor: c.executor, on: c.on });
    return true;
  }

  /** An attempt begins; `count` writes its number (the claim counted the first) and the commit it starts from. */
  async startAttempt(a: { attempt: number; of: number; baseCommit: string; publishOnly: boolean; count: boolean }): Promise<boolean> {
    this.legal('startAttempt', 'running');
    if (a.count && !(await this.file.write({ attempts: a.attempt, base_commit: a.baseCommit }))) return false;
    const { attempt } = a;
    const publishOnly = a.publishOnly ? 'yes' : undefined;
    await this.log('attempt-started', { attempt, of: a.of, base: a.baseCommit.slice(0, 7), publish_only: publishOnly });
    this.sinks.events?.emit('task:claimed', { id: this.id, attempt });
    return true;
  }

  async attemptFailed(attempt: number, reason: string): Promise<void> {
    this.legal('attemptFailed', 'running');
    await this.log('attempt-failed', { attempt, reason });
    this.sinks.events?.emit('task:attempt-failed', { id: this.id, attempt, reason });
  }

  /**
   * The next attempt waits out its backoff. `publishing`: only a checked commit's publishing is retried (no
   * attempt spent); the commit is kept in the file first, so that a crash meanwhile still finds it.
   */
  async retryScheduled(r: { attempt: number; delayMs: number; reason?: string; publishing?: Publishing }): Promise<boolean> {
    this.legal('retryScheduled', 'running');
    const p = r.publishing;
    if (p && !(await this.file.write({ ...keptKeys(p.kept), branch: p.branch, error: p.error }))) return false;
    const publishOnly = p ? 'yes' : undefined;
    await this.log('retry-scheduled', { attempt: r.attempt, in: formatDuration(r.delayMs), reason: r.reason, publish_only: publishOnly });
    return true;
  }

  /** `usage`: the task's tokens and cost as progress fields. False when the task was no longer ours. */
  async done(d: { attempt: number; commit: string; branch: string; durationMs: number; usage: ProgressFields }): Promise<boolean> {
    this.legal('done', 'done');
    const { attempt, commit, branch } = d;
    if (!(await this.file.write({ status: 'done', commit, branch, finished_at: utcStamp(), error: null, claimed_by: null }))) return false;
    await this.log('done', { attempt, duration: formatDuration(d.durationMs), commit: commit.slice(0, 7), branch, ...d.usage });
    this.sinks.events?.emit('task:done', { id: this.id, attempt, commit, branch });
    return true;
  }

  /** Out of attempts, or a failure no retry fixes. `kept`: a checked commit that could not be published. */
  async failed(f: { attempt: number; reason: string; branch: string | null; kept?: KeptCommit }): Promise<boolean> {
    this.legal('failed', 'failed');
    const { attempt, reason } = f;
    const changes: OwnedChanges = { ...(f.kept && keptKeys(f.kept)), status: 'failed', error: reason, branch: f.branch };
    if (!(await this.file.write({ ...changes, finished_at: utcStamp(), claimed_by: null }))) return false;
    await this.log('failed', { attempts: attempt, reason });
    this.sinks.events?.emit('task:failed', { id: this.id, attempt, reason });
    return true;
  }

  /**
   * Blocked by something only a person can fix: before the claim (the task is queued), or during `attempt`,
   * which is given back (not the task's fault). Told even when the write found the task no longer ours:
   * the run ends blocked either way.
   */
  async blocked(reason: string, during?: { attempt: number; branch?: string | null }): Promise<void> {
    const status = this.file.task.status;
    if ((during === undefined) !== (status === 'queued')) {
      throw new InternalError(`blocked ${during ? 'during' : 'before'} an attempt of a ${status} task`);
    }
    this.legal('blocked', 'blocked');
    if (during) {
      const changes: OwnedChanges = { status: 'blocked', error: reason, branch: during.branch, attempts: during.attempt - 1 };
      await this.file.write({ ...changes, finished_at: utcStamp(), claimed_by: null });
    } else {
      await this.file.write({ status: 'blocked', error: reason, finished_at: utcStamp() }, (t) => t.status === 'queued');
    }
    await this.log('blocked', { reason });
    this.sinks.events?.emit('task:blocked', { id: this.id, reason });
  }

  /**
   * The daemon is stopping: back to the queue with the attempts the task has left (`givesBack`: stopped
   * before `attempt` began, which is not spent). Told even when the task was no longer ours: the run ends.
   */
  async requeued(r: { attempt: number; givesBack?: boolean; branch?: string | null; error?: string; kept?: KeptCommit }): Promise<void> {
    this.legal('requeued', 'queued');
    const { attempt } = r;
    const changes: OwnedChanges = { ...(r.kept && keptKeys(r.kept)), status: 'queued', attempts: r.givesBack ? attempt - 1 : undefined };
    await this.file.write({ ...changes, branch: r.branch, claimed_by: null, error: r.error });
    await this.log('requeued', { attempt, reason: 'daemon stopping' });
    this.sinks.events?.emit('task:requeued', { id: this.id, reason: 'daemon stopping' });
  }

  /**
   * Every executor the task may use is parked (until `until`, or a restart): back to the queue with the
   * attempt given back; the scheduler claims it again once one is back.
   */
  async waitingForExecutor(w: { attempt: number; reason: string; branch: string | null; until?: Date }): Promise<void> {
    this.legal('waitingForExecutor', 'queued');
    const { attempt, reason } = w;
    await this.file.write({ status: 'queued', error: reason, branch: w.branch, attempts: attempt - 1, claimed_by: null });
    await this.log('requeued', { attempt, reason, until: w.until ? utcStamp(w.until) : 'restart' });
    this.sinks.events?.emit('task:requeued', { id: this.id, reason });
  }

  /**
   * A day or run budget is reached (src/budget/): back to the queue before (or instead of finishing) the
   * attempt, which is given back; the scheduler claims it again once the budget allows.
   */
  async waitingForBudget(w: { attempt: number; reason: string; branch: string | null }): Promise<void> {
    this.legal('waitingForBudget', 'queued');
    const { attempt, reason } = w;
    await this.file.write({ status: 'queued', error: reason, branch: w.branch, attempts: attempt - 1, claimed_by: null });
    await this.log('requeued', { attempt, reason });
    this.sinks.events?.emit('task:requeued', { id: this.id, reason });
  }

  /** `nightshift cancel` wrote the file and its progress line (cancelOnRequest); the run that noticed tells the daemon. */
  cancelNoticed(): void {
    this.legal('cancelled', 'cancelled');
    this.sinks.events?.emit('task:cancelled', { id: this.id });
  }

  /**
   * A dead run's task taken over: back to the queue, or failed once it has used all its attempts. `kept`: a
   * checked commit the dead run was landing, for the next claim to land. False when it was not ours.
   */
  async recovered(r: { then: 'queued' | 'failed'; reason: string; branch?: string | null; kept?: KeptCommit }): Promise<boolean> {
    const dead = this.legal('recovered', r.then);
    const { reason } = r;
    const changes: OwnedChanges = { status: r.then, claimed_by: null, error: reason, branch: r.branch };
    if (!(await this.file.write({ ...changes, ...(r.kept && keptKeys(r.kept)) }))) return false;
    await this.log('recovered', { attempts: dead.attempts, from: dead.claimedBy, then: r.then, publish_only: r.kept ? 'yes' : undefined });
    if (r.then === 'failed') {
      await this.log('failed', { attempts: dead.attempts, reason });
      this.sinks.events?.emit('task:failed', { id: this.id, attempt: dead.attempts, reason });
    }
    return true;
  }

  /** A dead run's checked commit is about to be published for it: the task stays running until finalized. */
  async finalizing(commit: string): Promise<void> {
    const dead = this.legal('recovered', 'running');
    await this.log('recovered', { attempts: dead.attempts, from: dead.claimedBy, then: 'finalize', commit: commit.slice(0, 7) });
  }

  /**
   * A dead run's commit published (done), or its push failed (requeued: the commit is kept and the next claim
   * publishes it without the executor). False when the task was no longer ours.
   */
  async finalized(f: Finalization): Promise<boolean> {
    const dead = this.legal('finalized', f.kind === 'done' ? 'done' : 'queued');
    const { commit, branch } = f;
    const attempt = dead.attempts;
    if (f.kind === 'requeued') {
      const { reason } = f;
      if (!(await this.file.write({ status: 'queued', error: reason, commit, branch, claimed_by: null }))) return false;
      await this.log('requeued', { attempt, reason, publish_only: 'yes' });
      this.sinks.events?.emit('task:requeued', { id: this.id, reason });
      return true;
    }
    if (!(await this.file.write({ status: 'done', commit, branch, finished_at: utcStamp(), error: null, claimed_by: null }))) return false;
    await this.log('done', { attempt, commit: commit.slice(0, 7), branch, recovered: 'yes' });
    this.sinks.events?.emit('task:done', { id: this.id, attempt, commit, branch });
    return true;
  }

  /** The task's id now (a renamed file's run goes on under its new id). */
  get id(): string {
    return this.file.task.id;
  }

  /** Refuses an illegal transition from the status the last write left; returns the task as it was before. */
  private legal(transition: Transition, to: Status): Task {
    const task = this.file.task;
    assertLegal(transition, task.status, to);
    return task;
  }

  private async log(event: ProgressEvent, fields: ProgressFields): Promise<void> {
    await this.sinks.progress.append(this.id, event, fields);
  }
}

function keptKeys(kept: KeptCommit): OwnedChanges {
  return { commit: kept.commit, base_commit: kept.baseCommit };
}
