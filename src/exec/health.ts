import type { InfraCause } from './agents/types.js';

/** An executor the daemon stopped using after an infrastructure failure. */
export interface Parking {
  executor: string;
  cause: InfraCause;
  reason: string;
  /** When it may be used again (a usage limit's reset time); undefined = until the daemon restarts. */
  until?: Date;
}

/**
 * Which executors the daemon may use right now, shared by every task run and the scheduler. An
 * executor that could not run at all (logged out, not installed, out of quota) is parked: the scheduler
 * stops claiming tasks that only it could run, instead of failing them one by one overnight.
 */
export class ExecutorHealth {
  private readonly parked = new Map<string, Parking>();

  /** Parks an executor; returns false when it was already parked at least as long (nothing new to say). */
  park(parking: Parking): boolean {
    const before = this.parked.get(parking.executor);
    if (before && (before.until === undefined || (parking.until !== undefined && parking.until <= before.until))) return false;
    this.parked.set(parking.executor, parking);
    return true;
  }

  /** The parking that applies now, if any (an expired one is not). */
  parkedNow(executor: string, now: Date = new Date()): Parking | undefined {
    const p = this.parked.get(executor);
    if (!p || (p.until !== undefined && p.until <= now)) return undefined;
    return p;
  }

  /** Forgets parkings whose time has come and returns them, for the scheduler to announce. */
  expire(now: Date = new Date()): Parking[] {
    const resumed: Parking[] = [];
    for (const [name, p] of this.parked) {
      if (p.until !== undefined && p.until <= now) {
        this.parked.delete(name);
        resumed.push(p);
      }
    }
    return resumed;
  }

  /** The earliest time a parked executor comes back, for the scheduler's wake-up timer. */
  nextResume(): Date | undefined {
    let next: Date | undefined;
    for (const p of this.parked.values()) if (p.until && (!next || p.until < next)) next = p.until;
    return next;
  }

  all(): Parking[] {
    return [...this.parked.values()];
  }
}
