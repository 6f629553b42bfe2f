import lockfile from 'proper-lockfile';
import { hostname } from 'node:os';
import { mkdir, readFile, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { hasCode, toError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { pidAlive } from './pids.js';

/** Who holds a claim. Written inside the lock directory so another process (cancel, recovery) can find the executor. */
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
  /**
   * Looks at the lock on disk now (not at the last 5 s refresh): still our directory with our owner file.
   * Called right before publishing (commit, push, final status) to keep the fencing window to milliseconds.
   */
  verify(): Promise<boolean>;
  setExecutorGroup(pgid: number | undefined): Promise<void>;
  release(): Promise<void>;
}

export type ClaimResult = { kind: 'claimed'; claim: Claim } | { kind: 'lost-race' };

// proper-lockfile refreshes the lock's mtime every UPDATE ms; a lock not refreshed for STALE ms is treated as
// left over from a dead process and may be taken over.
const STALE_MS = 30_000;
const UPDATE_MS = 5_000;
const OWNER_FILE = 'owner.json';

export function ownerId(): string {
  return `${hostname()}:${process.pid}`;
}

const lockDir = (locksDir: string, id: string) => join(locksDir, `${id}.lock`);

/**
 * Claims a task for the whole of its run. The lock is a directory under the locks folder (never in tasks/,
 * where the user and the watcher live); mkdir is atomic, so of two claimants exactly one wins. The owner
 * file lives inside the lock directory, so it always describes that directory and no other: a takeover
 * can never judge a fresh lock by a dead owner's file.
 */
export async function claimTask(locksDir: string, id: string): Promise<ClaimResult> {
  const first = await tryClaim(locksDir, id);
  if (first.kind === 'claimed') return first;
  if (!(await looksDead(locksDir, id))) return first;
  return takeOver(locksDir, id);
}

/**
 * A held lock is dead when its owner is a process on this host that no longer exists, or (owner on another
 * host, or no owner file yet) when nobody has refreshed it for STALE_MS.
 */
async function looksDead(locksDir: string, id: string): Promise<boolean> {
  const owner = await readLockOwner(locksDir, id);
  if (owner && owner.host === hostname()) return !pidAlive(owner.pid);
  try {
    return (await stat(lockDir(locksDir, id))).mtimeMs < Date.now() - STALE_MS;
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return true;
    throw err;
  }
}

/**
 * Removing a dead lock and claiming it is check-then-act: two recoverers could both see it dead and the
 * slower one would remove the faster one's fresh lock. Takeovers therefore run one at a time under a short
 * per-task mutex, and re-check inside it. A plain claimant never removes anything, so it needs no mutex.
 */
async function takeOver(locksDir: string, id: string): Promise<ClaimResult> {
  const target = join(locksDir, `${id}.takeover`);
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(target, {
      realpath: false,
      lockfilePath: `${target}.lock`,
      stale: 10_000,
      retries: { retries: 20, minTimeout: 20, maxTimeout: 200 },
    });
  } catch (err) {
    if (hasCode(err, 'ELOCKED')) return { kind: 'lost-race' };
    throw err;
  }
  try {
    const again = await tryClaim(locksDir, id);
    if (again.kind === 'claimed' || !(await looksDead(locksDir, id))) return again;
    await rm(join(lockDir(locksDir, id), OWNER_FILE), { force: true });
    try {
      // rmdir, not rm -r: anything else inside means someone is using it.
      await rmdir(lockDir(locksDir, id));
    } catch (err) {
      if (!hasCode(err, 'ENOENT')) return { kind: 'lost-race' };
    }
    return await tryClaim(locksDir, id);
  } finally {
    await release().catch(() => undefined);
  }
}

async function tryClaim(locksDir: string, id: string): Promise<ClaimResult> {
  await mkdir(locksDir, { recursive: true });
  const target = join(locksDir, id);
  const dir = lockDir(locksDir, id);
  const ownerFile = join(dir, OWNER_FILE);
  let held = true;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(target, {
      realpath: false,
      lockfilePath: dir,
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
    // ENOTEMPTY: proper-lockfile found the lock stale by age and could not rmdir it because an owner file
    // is inside; whether it is really dead is for takeOver() to decide.
    if (hasCode(err, 'ELOCKED') || hasCode(err, 'ENOTEMPTY')) return { kind: 'lost-race' };
    throw err;
  }
  const owner: LockOwner = { host: hostname(), pid: process.pid, startedAt: new Date().toISOString() };
  try {
    await writeFileAtomic(ownerFile, JSON.stringify(owner));
  } catch (err) {
    await release().catch(() => undefined);
    throw err;
  }
  let released = false;
  return {
    kind: 'claimed',
    claim: {
      id,
      isHeld: () => held && !released,
      async verify() {
        if (!held || released) return false;
        const now = await readLockOwner(locksDir, id).catch(() => undefined);
        return now?.pid === owner.pid && now.host === owner.host && now.startedAt === owner.startedAt;
      },
      async setExecutorGroup(pgid) {
        owner.pgid = pgid;
        if (held && !released) await writeFileAtomic(ownerFile, JSON.stringify(owner));
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
  if (!(await lockfile.check(join(locksDir, id), { realpath: false, lockfilePath: lockDir(locksDir, id), stale: STALE_MS }))) return false;
  return !(await looksDead(locksDir, id));
}

export async function readLockOwner(locksDir: string, id: string): Promise<LockOwner | undefined> {
  try {
    return JSON.parse(await readFile(join(lockDir(locksDir, id), OWNER_FILE), 'utf8')) as LockOwner;
  } catch (err) {
    if (hasCode(err, 'ENOENT') || hasCode(err, 'ENOTDIR') || err instanceof SyntaxError) return undefined;
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
