import { randomBytes } from 'node:crypto';
import type { Git } from '../git/git.js';
import { isValidId } from '../task/id.js';
import { InternalError } from '../errors.js';
import { lsRemote, messageCommit, pushAtomic, type PushOutcome, type RefUpdate } from './refs.js';

/** Where a fleet's refs live on the remote: `<prefix>claims/<id>` and `<prefix>status/<id>`. */
export interface FleetRefs {
  remote: string;
  /** `refs/nightshift/` by default; `refs/heads/nightshift-fleet/` for forges that refuse custom refs. */
  prefix: string;
}

export function claimRef(refs: FleetRefs, id: string): string {
  if (!isValidId(id)) throw new InternalError(`refusing to build a claim ref from invalid id ${JSON.stringify(id)}`);
  return `${refs.prefix}claims/${id}`;
}

export function statusRef(refs: FleetRefs, id: string): string {
  if (!isValidId(id)) throw new InternalError(`refusing to build a status ref from invalid id ${JSON.stringify(id)}`);
  return `${refs.prefix}status/${id}`;
}

/** Who pushes a claim: written into each claim commit, so `fleet status` can say who holds what. */
export interface Holder {
  machine: string;
  pid: number;
}

/**
 * `claimed`: the ref holds our commit (read back after the push). `taken`: someone else's claim is there
 * (or won the race). `settled`: the task already has a status on the remote; nothing to run. `unreachable`:
 * the remote did not answer, nothing is known.
 */
export type ClaimAttempt =
  { kind: 'claimed'; value: string } | { kind: 'taken'; value?: string } | { kind: 'settled' } | { kind: 'unreachable'; message: string };

export type RenewResult = { kind: 'renewed'; value: string } | { kind: 'lost' } | { kind: 'unreachable'; message: string };

/**
 * Claims as compare-and-swap refs on the remote. Each push carries a lease: absent for a new claim, the
 * stale value for a takeover, our previous value for a renewal. Every claim commit is new (machine, pid,
 * counter, nonce), so a push can never be answered "up to date" for a commit another pusher put there.
 */
export class ClaimRefs {
  private counter = 0;

  constructor(
    readonly git: Git,
    readonly refs: FleetRefs,
    readonly holder: Holder,
  ) {}

  /** A fresh claim commit for `id`. */
  async claimCommit(id: string, what: 'claim' | 'renew' | 'takeover' | 'fence'): Promise<string> {
    this.counter++;
    const lines = [
      `nightshift ${what} ${id}`,
      '',
      `machine: ${this.holder.machine}`,
      `pid: ${this.holder.pid}`,
      `attempt: ${this.counter}`,
      `nonce: ${randomBytes(8).toString('hex')}`,
    ];
    return messageCommit(this.git, lines.join('\n'));
  }

  /** A new claim where none is (`expected` undefined), or a takeover of a claim seen stale at `expected`. */
  async claim(id: string, expected?: string): Promise<ClaimAttempt> {
    const ref = claimRef(this.refs, id);
    const value = await this.claimCommit(id, expected === undefined ? 'claim' : 'takeover');
    const pushed = await pushAtomic(this.git, this.refs.remote, [{ ref, to: value, expect: expected ?? null }]);
    if (pushed.kind === 'failed') return { kind: 'unreachable', message: pushed.message };
    // Read back either way, with the status ref in the same round trip: a push whose answer was lost may
    // have landed, and a task settled by its last holder (status written, claim deleted in one push) must
    // not run again.
    const back = await lsRemote(this.git, this.refs.remote, [ref, statusRef(this.refs, id)]);
    if (back.kind === 'failed') return { kind: 'unreachable', message: back.message };
    const now = back.refs.get(ref);
    if (now !== value) return { kind: 'taken', value: now };
    if (back.refs.has(statusRef(this.refs, id))) {
      await this.release(id, value);
      return { kind: 'settled' };
    }
    return { kind: 'claimed', value };
  }

  /** Moves our claim to a fresh commit, only if it still holds `held`. A push slower than `timeoutMs` is unreachable. */
  async renew(id: string, held: string, timeoutMs?: number): Promise<RenewResult> {
    const value = await this.claimCommit(id, 'renew');
    const pushed = await pushAtomic(this.git, this.refs.remote, [{ ref: claimRef(this.refs, id), to: value, expect: held }], timeoutMs);
    return renewal(pushed, value);
  }

  /** Deletes our claim, only if it still holds `held` (a claim taken over is left to its new holder). */
  async release(id: string, held: string, also: RefUpdate[] = []): Promise<PushOutcome> {
    return pushAtomic(this.git, this.refs.remote, [...also, { ref: claimRef(this.refs, id), to: null, expect: held }]);
  }
}

function renewal(pushed: PushOutcome, value: string): RenewResult {
  switch (pushed.kind) {
    case 'pushed':
      return { kind: 'renewed', value };
    case 'rejected':
      return { kind: 'lost' };
    case 'failed':
      return { kind: 'unreachable', message: pushed.message };
    default: {
      const never: never = pushed;
      throw new Error(`unexpected push outcome ${JSON.stringify(never)}`);
    }
  }
}
