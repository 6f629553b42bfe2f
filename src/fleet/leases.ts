/**
 * Judges claims expired on this machine's own monotonic clock. A claim is a ref; its holder renews it by
 * moving it to a new commit. An observer that has seen the same value for `lease_ttl` takes the claim for
 * dead. No wall clock is read (a commit's date, another machine's clock): a machine whose clock runs ahead
 * or behind judges exactly as one whose clock is right, and a claim first seen now gets a full ttl.
 */

/** Milliseconds on a clock that never jumps (not the wall clock). */
export type MonotonicClock = () => number;

export const monotonicMs: MonotonicClock = () => performance.now();

export type LeaseState =
  { kind: 'absent' } | { kind: 'live'; value: string; ageMs: number } | { kind: 'expired'; value: string; ageMs: number };

export class LeaseObserver {
  /** Each claim's value and when this observer first saw it hold that value. */
  private readonly seen = new Map<string, { value: string; since: number }>();

  constructor(
    readonly ttlMs: number,
    private readonly now: MonotonicClock = monotonicMs,
  ) {}

  /** Records a complete look at the claims (id to value): changed values restart their clock, gone ones go. */
  observe(claims: Map<string, string>): void {
    const at = this.now();
    for (const id of [...this.seen.keys()]) if (!claims.has(id)) this.seen.delete(id);
    for (const [id, value] of claims) this.note(id, value, at);
  }

  /** One claim seen (a read-back, our own push): only its clock is affected. Undefined: seen absent. */
  observeOne(id: string, value: string | undefined): void {
    if (value === undefined) this.seen.delete(id);
    else this.note(id, value, this.now());
  }

  state(id: string): LeaseState {
    const s = this.seen.get(id);
    if (!s) return { kind: 'absent' };
    const ageMs = this.now() - s.since;
    return ageMs >= this.ttlMs ? { kind: 'expired', value: s.value, ageMs } : { kind: 'live', value: s.value, ageMs };
  }

  /** Every claim as last seen, for `fleet status`. */
  all(): Array<{ id: string } & LeaseState> {
    return [...this.seen.keys()].map((id) => ({ id, ...this.state(id) }));
  }

  private note(id: string, value: string, at: number): void {
    if (this.seen.get(id)?.value !== value) this.seen.set(id, { value, since: at });
  }
}
