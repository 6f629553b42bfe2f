import type { Logger } from 'pino';
import { claimTask, type ClaimResult } from '../locks/claims.js';
import type { ProgressLog } from '../progress/log.js';
import { readTaskEntry } from '../task/store.js';
import type { Task } from '../task/task.js';
import type { ClaimRefs } from './claimRefs.js';
import type { LeaseObserver, MonotonicClock } from './leases.js';
import { RemoteClaim } from './remoteClaim.js';

/**
 * Where a run gets its claim: chosen once at daemon start. The local queue claims with a lock file in this
 * checkout (locks/claims.ts); the remote queue with a lock file and a claim ref (below).
 */
export interface ClaimStore {
  claim(task: Task): Promise<ClaimResult>;
}

export interface RemoteClaimStoreSetup {
  locksDir: string;
  refs: ClaimRefs;
  observer: LeaseObserver;
  clock: MonotonicClock;
  logger: Logger;
  progress: ProgressLog;
  /** The remote said the task already has a status: bring the task files up to date soon. */
  settledElsewhere: () => void;
}

/**
 * Claims through the remote. A claim another machine holds and renews is left alone; one this daemon has
 * seen unchanged for lease_ttl (LeaseObserver, fed by every poll) is taken over with a compare-and-swap
 * from the stale value. Losing is normal: a debug line, and the scheduler tries again later.
 */
export class RemoteClaimStore implements ClaimStore {
  /** Stale claim values already reported (claim-expired once per value, not at every retry). */
  private readonly reported = new Set<string>();

  constructor(private readonly setup: RemoteClaimStoreSetup) {}

  async claim(task: Task): Promise<ClaimResult> {
    const { setup } = this;
    const local = await claimTask(setup.locksDir, task.id);
    if (local.kind === 'lost-race') return local;
    const seen = setup.observer.state(task.id);
    if (seen.kind === 'live') {
      await local.claim.release();
      return { kind: 'lost-race' };
    }
    const stale = seen.kind === 'expired' ? seen.value : undefined;
    if (seen.kind === 'expired' && !this.reported.has(seen.value)) {
      this.reported.add(seen.value);
      await setup.progress.append(task.id, 'claim-expired', { unchanged_for: `${Math.round(seen.ageMs / 1000)}s` });
    }
    const got = await setup.refs.claim(task.id, stale).catch((err: unknown) => ({ kind: 'unreachable' as const, message: String(err) }));
    switch (got.kind) {
      case 'claimed': {
        setup.observer.observeOne(task.id, got.value);
        if (stale !== undefined) await setup.progress.append(task.id, 'taken-over', { from: stale.slice(0, 7) });
        const claim = new RemoteClaim(local.claim, {
          refs: setup.refs,
          value: got.value,
          ttlMs: setup.observer.ttlMs,
          clock: setup.clock,
          logger: setup.logger,
          readTask: async () => {
            const entry = await readTaskEntry(task.file, task.id).catch(() => undefined);
            return entry?.kind === 'task' ? entry.task : undefined;
          },
        });
        return { kind: 'claimed', claim, tookOver: stale !== undefined };
      }
      case 'taken':
        setup.observer.observeOne(task.id, got.value);
        break;
      case 'settled':
        setup.settledElsewhere();
        break;
      case 'unreachable':
        setup.logger.warn({ task: task.id, message: got.message }, 'cannot reach the remote to claim; trying again later');
        break;
      default: {
        const never: never = got;
        throw new Error(`unexpected claim attempt ${JSON.stringify(never)}`);
      }
    }
    setup.logger.debug({ task: task.id, result: got.kind }, 'claim ref not ours');
    await local.claim.release();
    return { kind: 'lost-race' };
  }
}
