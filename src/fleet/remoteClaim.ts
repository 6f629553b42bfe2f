import type { Logger } from 'pino';
import type { Claim } from '../locks/claims.js';
import type { PushFence } from '../locks/fence.js';
import type { Task } from '../task/task.js';
import { claimRef, statusRef, type ClaimRefs } from './claimRefs.js';
import type { MonotonicClock } from './leases.js';
import { lsRemote, messageCommit, REMOTE_TIMEOUT_MS, type RefUpdate } from './refs.js';
import { SETTLED, statusMessage, statusOf, type FleetStatus } from './status.js';

export interface RemoteClaimSetup {
  refs: ClaimRefs;
  /** The claim ref's value we pushed. */
  value: string;
  ttlMs: number;
  clock: MonotonicClock;
  logger: Logger;
  /** The task as its file says now (for the status written at release), or undefined when it is gone. */
  readTask: () => Promise<Task | undefined>;
}

type State = 'held' | 'lost' | 'settled';

/**
 * A task claimed through the remote: this checkout's lock file (so other daemons of this clone, `cancel`
 * and recovery work as in the local queue) plus the claim ref on the remote. The holder renews the ref
 * every quarter of lease_ttl with the previous value as the lease. A renewal refused means someone took
 * the claim over; renewals that cannot reach the remote for a whole lease_ttl (on our own clock, counted
 * from the last renewal that went through) mean others may have: the claim is given up either way, the
 * executor is stopped (isHeld() goes false, and the run's file and steps watch it) and nothing is written.
 */
export class RemoteClaim implements Claim {
  readonly id: string;
  private state: State = 'held';
  private value: string;
  /** When the last renewal that went through was started. */
  private renewedAt: number;
  private readonly timer: NodeJS.Timeout;
  /** The renewal or fenced push in flight: they must not overlap, each moves or leases the ref. */
  private busy: Promise<unknown> = Promise.resolve();
  private publishing = false;

  constructor(
    private readonly local: Claim,
    private readonly setup: RemoteClaimSetup,
  ) {
    this.id = local.id;
    this.value = setup.value;
    this.renewedAt = setup.clock();
    this.timer = setInterval(() => void this.renewSoon(), Math.max(250, Math.floor(setup.ttlMs / 4)));
    this.timer.unref();
  }

  isHeld(): boolean {
    this.giveUpIfExpired();
    return this.state !== 'lost' && this.local.isHeld();
  }

  async verify(): Promise<boolean> {
    this.giveUpIfExpired();
    return this.state !== 'lost' && (await this.local.verify());
  }

  setExecutorGroup(pgid: number | undefined): Promise<void> {
    return this.local.setExecutorGroup(pgid);
  }

  setWorktree(path: string | undefined): Promise<void> {
    return this.local.setWorktree(path);
  }

  recordCommit(commit: string): Promise<void> {
    return this.local.recordCommit(commit);
  }

  /**
   * The publishing push's extra refs: our claim ref deleted with a lease at the value we hold, and the
   * task's done status. Renewals wait until settle() (the lease must be the value the push carries).
   */
  async fence(publish: { attempt: number; branch: string; commit: string }): Promise<PushFence> {
    await this.busy;
    this.publishing = true;
    const task = await this.setup.readTask();
    const done: FleetStatus = task
      ? statusOf(task, this.holder(), {
          status: 'done',
          attempts: publish.attempt,
          commit: publish.commit,
          branch: publish.branch,
          error: undefined,
        })
      : { id: this.id, status: 'done', attempts: publish.attempt, commit: publish.commit, branch: publish.branch, holder: this.holder() };
    const status = await messageCommit(this.gitOf(), statusMessage(done));
    const held = this.value;
    const ref = claimRef(this.setup.refs.refs, this.id);
    return {
      leases: [`--force-with-lease=${ref}:${held}`],
      refspecs: [`:${ref}`, `+${status}:${statusRef(this.setup.refs.refs, this.id)}`],
      settle: async (pushed) => {
        this.publishing = false;
        if (pushed) {
          this.state = 'settled';
          clearInterval(this.timer);
          return;
        }
        // Refused or no answer: was it our claim? Read it back (a base that moved is not a lost claim).
        const back = await lsRemote(this.gitOf(), this.setup.refs.refs.remote, [ref]);
        if (back.kind === 'ok' && back.refs.get(ref) !== held) this.lose('the claim ref moved: taken over');
      },
    };
  }

  /**
   * Ends the claim. A task that ended failed, blocked or cancelled (or done without a publishing push)
   * gets its status ref in the same atomic push that deletes the claim; a task going back to the queue
   * just loses its claim. A claim we no longer hold is left alone.
   */
  async release(): Promise<void> {
    clearInterval(this.timer);
    try {
      await this.busy;
      this.giveUpIfExpired();
      if (this.state !== 'held') return;
      this.state = 'settled';
      const task = await this.setup.readTask();
      const also: RefUpdate[] = [];
      if (task && SETTLED.has(task.status)) {
        const status = await messageCommit(this.gitOf(), statusMessage(statusOf(task, this.holder())));
        also.push({ ref: statusRef(this.setup.refs.refs, this.id), to: status });
      }
      const released = await this.setup.refs.release(this.id, this.value, also);
      if (released.kind !== 'pushed') this.setup.logger.warn({ task: this.id, result: released }, 'could not release the claim ref');
    } catch (err) {
      this.setup.logger.warn({ task: this.id, err }, 'could not release the claim ref; it expires after lease_ttl');
    } finally {
      await this.local.release();
    }
  }

  private renewSoon(): Promise<unknown> {
    if (this.state !== 'held' || this.publishing) return this.busy;
    this.busy = this.busy
      .then(() => this.renew())
      .catch((err: unknown) => this.setup.logger.warn({ task: this.id, err }, 'renewal failed'));
    return this.busy;
  }

  private async renew(): Promise<void> {
    if (this.state !== 'held' || this.publishing) return;
    const started = this.setup.clock();
    // A black-holed remote must not hold the renewal (and release) longer than half a lease.
    const r = await this.setup.refs.renew(this.id, this.value, Math.max(1000, Math.min(REMOTE_TIMEOUT_MS, this.setup.ttlMs / 2)));
    if (this.state !== 'held') return;
    switch (r.kind) {
      case 'renewed':
        this.value = r.value;
        this.renewedAt = started;
        return;
      case 'lost':
        this.lose('the renewal was refused: the claim was taken over');
        return;
      case 'unreachable':
        this.setup.logger.warn({ task: this.id, message: r.message }, 'cannot reach the remote to renew the claim');
        this.giveUpIfExpired();
        return;
      default: {
        const never: never = r;
        throw new Error(`unexpected renewal ${JSON.stringify(never)}`);
      }
    }
  }

  /** Past lease_ttl since the last renewal that went through, others may have taken the claim over. */
  private giveUpIfExpired(): void {
    if (this.state === 'held' && !this.publishing && this.setup.clock() - this.renewedAt >= this.setup.ttlMs) {
      this.lose('no renewal reached the remote for lease_ttl');
    }
  }

  private lose(why: string): void {
    if (this.state !== 'held') return;
    this.state = 'lost';
    clearInterval(this.timer);
    this.setup.logger.warn({ task: this.id, why }, 'claim lost; stopping without publishing');
  }

  private holder(): string {
    return `${this.setup.refs.holder.machine}:${this.setup.refs.holder.pid}`;
  }

  private gitOf() {
    return this.setup.refs.git;
  }
}
