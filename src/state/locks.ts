import lockfile from 'proper-lockfile';
import { hostname } from 'node:os';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { hasCode, toError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';

/** Who holds a claim. Written beside the lock so another process (cancel, recovery) can find the executor. */
export interface LockOwner {
  host: string;
  pid: number;
  /** Process group of the running executor, once there is one. */
  pgid?: number;
  startedAt: string;
}

export interface Claim {
  readonly id: string;
  /** False once proper-lockfile reports the lock compromised (stale-taken by someone else): stop quietly. */
  isHeld(): boolean;
  setExecutorGroup(pgid: number | undefined): Promise<void>;
  release(): Promise<void>;
}

export type ClaimResult = { kind: 'claimed'; claim: Claim } | { kind: 'lost-race' };

// proper-lockfile refreshes the lock's mtime every UPDATE ms; a lock not refreshed for STALE ms is treated as
// left over from a dead process and may be taken over.
const STALE_MS = 30_000;
const UPDATE_MS = 5_000;

export function ownerId(): string {
  return `${hostname()}:${process.pid}`;
}

/**
 * Claims a task for the whole of its run. The lock is a directory under .nightshift/locks (never in tasks/,
 * where the user and the watcher live); mkdir is atomic, so of two claimants exactly one wins.
 */
export async function claimTask(locksDir: string, id: string): Promise<ClaimResult> {
  const first = await tryClaim(locksDir, id);
  if (first.kind === 'claimed') return first;
  // A lock whose owner died on this host moments ago is not stale by age yet; its pid tells us now.
  const owner = await readLockOwner(locksDir, id);
  if (!owner || owner.host !== hostname() || pidAlive(owner.pid)) return first;
  await rm(join(locksDir, `${id}.lock`), { recursive: true, force: true });
  return tryClaim(locksDir, id);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return !hasCode(err, 'ESRCH');
  }
}

async function tryClaim(locksDir: string, id: string): Promise<ClaimResult> {
  await mkdir(locksDir, { recursive: true });
  const target = join(locksDir, id);
  const ownerFile = join(locksDir, `${id}.owner.json`);
  let held = true;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(target, {
      realpath: false,
      lockfilePath: `${target}.lock`,
      stale: STALE_MS,
      update: UPDATE_MS,
      retries: 0,
      onCompromised: () => {
        // Another process took the lock over (we were stalled past STALE_MS). Fencing: from now on this
        // process may not commit, push or write a final status for the task.
        held = false;
      },
    });
  } catch (err) {
    if (hasCode(err, 'ELOCKED')) return { kind: 'lost-race' };
    throw err;
  }
  const owner: LockOwner = { host: hostname(), pid: process.pid, startedAt: new Date().toISOString() };
  await writeFileAtomic(ownerFile, JSON.stringify(owner));
  let released = false;
  return {
    kind: 'claimed',
    claim: {
      id,
      isHeld: () => held && !released,
      async setExecutorGroup(pgid) {
        owner.pgid = pgid;
        if (held) await writeFileAtomic(ownerFile, JSON.stringify(owner));
      },
      async release() {
        if (released) return;
        released = true;
        if (held) {
          await rm(ownerFile, { force: true });
          await release().catch((err: unknown) => {
            if (!hasCode(err, 'ERELEASED') && !hasCode(err, 'ENOTACQUIRED')) throw toError(err);
          });
        }
      },
    },
  };
}

/** Whether some live process holds the task's claim lock (a fresh lock dir). */
export async function isClaimed(locksDir: string, id: string): Promise<boolean> {
  return lockfile.check(join(locksDir, id), { realpath: false, lockfilePath: join(locksDir, `${id}.lock`), stale: STALE_MS });
}

export async function readLockOwner(locksDir: string, id: string): Promise<LockOwner | undefined> {
  try {
    return JSON.parse(await readFile(join(locksDir, `${id}.owner.json`), 'utf8')) as LockOwner;
  } catch (err) {
    if (hasCode(err, 'ENOENT') || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/**
 * Serialises read-modify-write of one task file across processes (daemon, `requeue`, `cancel`). Held for
 * milliseconds; waits for a holder rather than failing.
 */
export async function withEditLock<T>(locksDir: string, id: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(locksDir, { recursive: true });
  const target = join(locksDir, `${id}.edit`);
  const release = await lockfile.lock(target, {
    realpath: false,
    lockfilePath: `${target}.lock`,
    stale: 10_000,
    retries: { retries: 100, minTimeout: 10, maxTimeout: 200, factor: 1.5 },
  });
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}
