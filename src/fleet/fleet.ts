import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import type { Paths } from '../paths.js';
import type { RunContext } from '../run/context.js';
import { hasCode } from '../errors.js';
import { createFileExclusive } from '../util/atomic.js';
import { ClaimRefs } from './claimRefs.js';
import { RemoteClaimStore } from './claimStore.js';
import { LeaseObserver, monotonicMs, type MonotonicClock } from './leases.js';
import { QueuePoll } from './queuePoll.js';

/** The remote queue of one daemon: its claim store (for runTask) and its poll (stopped with the daemon). */
export interface Fleet {
  store: RemoteClaimStore;
  poll: QueuePoll;
}

/**
 * Sets up `queue: remote` for a daemon, once at start: the first poll runs before the scheduler's first
 * scan, so the queue's task files are there to be seen.
 */
export async function openFleet(ctx: RunContext, clock: MonotonicClock = monotonicMs): Promise<Fleet> {
  const { queue, remote } = ctx.rules;
  const machine = await machineId(ctx.paths);
  const refs = new ClaimRefs(ctx.git, { remote, prefix: queue.refPrefix }, { machine, pid: process.pid });
  const observer = new LeaseObserver(queue.leaseTtlMs, clock);
  const poll = new QueuePoll({
    place: { git: ctx.git, root: ctx.paths.root, tasksDir: ctx.paths.tasks, locksDir: ctx.paths.locks },
    remote,
    base: ctx.base,
    prefix: queue.refPrefix,
    pollMs: queue.pollMs,
    observer,
    logger: ctx.logger.child({ fleet: machine }),
    viewFile: fleetViewFile(ctx.paths),
  });
  const store = new RemoteClaimStore({
    locksDir: ctx.paths.locks,
    refs,
    observer,
    clock,
    logger: ctx.logger,
    progress: ctx.progress,
    settledElsewhere: () => poll.soon(),
  });
  await poll.poll();
  return { store, poll };
}

/** The running daemon's view of the claims (see QueuePoll), for `fleet status`. */
export function fleetViewFile(paths: Paths): string {
  return join(paths.state, 'fleet.json');
}

/**
 * This clone's name in the fleet: host name plus a random suffix made once and kept in .nightshift/, so
 * two clones on one host (or two hosts of one name) are told apart across restarts.
 */
export async function machineId(paths: Paths): Promise<string> {
  const file = join(paths.state, 'machine-id');
  const made = `${
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 40) || 'host'
  }-${randomBytes(3).toString('hex')}`;
  await createFileExclusive(file, `${made}\n`);
  try {
    const id = (await readFile(file, 'utf8')).trim();
    return /^[A-Za-z0-9._-]{1,64}$/.test(id) ? id : made;
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return made;
    throw err;
  }
}
