import lockfile from 'proper-lockfile';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasCode } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { pidAlive } from './pids.js';
import type { PushFence } from './fence.js';

/** Who holds a claim. Written inside the lock directory so another process (cancel, recovery) can find the executor. */
export interface LockOwner {
  host: string;
  pid: number;
  /** Process group of the running executor, once there is one. */
  pgid?: number;
  startedAt: string;
  /**
   * The commit nightshift made for the task (after guards, tests and review passed). Recovery finalizes
   * only this commit: a trailer alone proves nothing, since the executor could write one itself.
   */
  commit?: string;
  /** The worktree the current attempt runs in (pooled, so not derivable from the id): for recovery. */
  worktree?: string;
}

export interface Claim {
  readonly id: string;
  /** False once the heartbeat or verify() found the lock taken over by someone else: stop quietly. */
  isHeld(): boolean;
  /**
   * Looks at the lock on disk now (not at the last 5 s refresh): still our directory with our owner file.
   * Called right before publishing (commit, push, final status) to keep the fencing window to milliseconds.
   */
  verify(): Promise<boolean>;
  setExecutorGroup(pgid: number | undefined): Promise<void>;
  /** Records the worktree the attempt runs in, for recovery to stop what a dead owner left running there. */
  setWorktree(path: string | undefined): Promise<void>;
  /** Records nightshift's own commit for the task, for crash recovery to finalize (see LockOwner.commit). */
  recordCommit(commit: string): Promise<void>;
  release(): Promise<void>;
  /**
   * Remote queue only (fleet/remoteClaim.ts): the refs a push that publishes `commit` carries so that it
   * lands only while this claim holds, writing the task's done status in the same atomic push. Absent for
   * a local claim.
   */
  fence?(publish: { attempt: number; branch: string; commit: string }): Promise<PushFence>;
}

/** `tookOver`: the lock was a dead holder's, removed and claimed anew (what it left may still be around). */
export type ClaimResult = { kind: 'claimed'; claim: Claim; tookOver?: boolean } | { kind: 'lost-race' };

// A claim's holder touches its owner file every UPDATE ms; an owner on another host that has not done so
// for STALE ms is taken for dead. (On this host the pid says so at once.) The claim is a plain mkdir, not
// proper-lockfile: that checks the directory's mtime for takeovers, and writing the owner file inside
// changes it, so every claim held past one refresh would look compromised.
const STALE_MS = 30_000;
const UPDATE_MS = 5_000;
const OWNER_FILE = 'owner.json';
const ORPHAN_MS = 10_000;
/** An owner file means nothing after a reboot (its process is gone): no fsync, several writes per task. */
const NOT_DURABLE = { durable: false };

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
 * A held lock is dead when its owner is a process on this host that no longer exists; when its owner is
 * on another host and nobody has refreshed it for STALE_MS; or when it has no owner file and has not been
 * touched for ORPHAN_MS (a process killed between creating the lock and writing its owner, or between
 * removing its owner and the lock: a live claimant writes its owner within milliseconds of the mkdir).
 */
async function looksDead(locksDir: string, id: string): Promise<boolean> {
  const owner = await readLockOwner(locksDir, id);
  // Our own pid on a lock we do not hold: a previous life of this pid (a restarted container, where the
  // daemon is pid 1 again) left it. Asking the kernel would say "alive" for ever.
  if (owner && owner.host === hostname() && owner.pid === process.pid) return !heldHere.has(lockDir(locksDir, id));
  if (owner && owner.host === hostname()) return !pidAlive(owner.pid);
  try {
    // The owner's heartbeat touches its owner file; a lock without one is judged by the directory.
    const age = Date.now() - (await stat(owner ? join(lockDir(locksDir, id), OWNER_FILE) : lockDir(locksDir, id))).mtimeMs;
    return age > (owner ? STALE_MS : ORPHAN_MS);
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
    // Dead, and only takeovers remove a lock that is not theirs: whatever is inside goes (the owner file, or
    // the temp file of an owner write cut short by a kill).
    await removeLockDir(locksDir, id);
    const claimed = await tryClaim(locksDir, id);
    return claimed.kind === 'claimed' ? { ...claimed, tookOver: true } : claimed;
  } finally {
    await release().catch(() => undefined);
  }
}

/** Lock directories this process holds now (several in-process daemons share one pid). */
const heldHere = new Set<string>();

async function tryClaim(locksDir: string, id: string): Promise<ClaimResult> {
  await mkdir(locksDir, { recursive: true });
  const dir = lockDir(locksDir, id);
  const ownerFile = join(dir, OWNER_FILE);
  const owner: LockOwner = { host: hostname(), pid: process.pid, startedAt: new Date().toISOString() };
  // The lock appears whole: made under a temp name with its owner file inside, then renamed into place.
  // A rename onto an existing lock (never empty) fails, so of two claimants exactly one wins, and no kill
  // can leave a lock without an owner to judge it by.
  const temp = join(locksDir, `.${id}.lock.${process.pid}.${randomBytes(4).toString('hex')}`);
  await mkdir(temp);
  try {
    await writeFile(join(temp, OWNER_FILE), JSON.stringify(owner));
    await rename(temp, dir);
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    if (hasCode(err, 'EEXIST') || hasCode(err, 'ENOTEMPTY')) return { kind: 'lost-race' };
    throw err;
  }
  let held = true;
  let released = false;
  heldHere.add(dir);
  const verify = async (): Promise<boolean> => {
    if (!held || released) return false;
    let now: LockOwner | undefined;
    try {
      now = await readLockOwner(locksDir, id);
    } catch {
      // A read that failed (EMFILE, EIO) is no news: only a missing or different owner file means a takeover.
      return held && !released;
    }
    const ours = now?.pid === owner.pid && now.host === owner.host && now.startedAt === owner.startedAt;
    // Once taken over (we stalled past STALE_MS and a process on another host judged us dead), never again ours.
    if (!ours) held = false;
    return ours;
  };
  // The heartbeat: other hosts judge the lock by the owner file's age. It also notices a takeover.
  const heartbeat = setInterval(() => {
    void verify()
      .then((ours) => (ours ? utimes(ownerFile, new Date(), new Date()) : undefined))
      .catch(() => undefined);
  }, UPDATE_MS);
  heartbeat.unref();
  return {
    kind: 'claimed',
    claim: {
      id,
      isHeld: () => held && !released,
      verify,
      async setExecutorGroup(pgid) {
        owner.pgid = pgid;
        if (held && !released) await writeFileAtomic(ownerFile, JSON.stringify(owner), NOT_DURABLE);
      },
      async setWorktree(path) {
        owner.worktree = path;
        if (held && !released) await writeFileAtomic(ownerFile, JSON.stringify(owner), NOT_DURABLE);
      },
      async recordCommit(commit) {
        owner.commit = commit;
        if (held && !released) await writeFileAtomic(ownerFile, JSON.stringify(owner), NOT_DURABLE);
      },
      async release() {
        if (released) return;
        clearInterval(heartbeat);
        const ours = await verify();
        released = true;
        heldHere.delete(dir);
        if (ours) await removeLockDir(locksDir, id);
      },
    },
  };
}

/**
 * Removes a lock directory by first renaming it away: a claimant may put a fresh lock in place the moment
 * the path is free, and a recursive delete of the path itself could then empty the newcomer's lock.
 */
async function removeLockDir(locksDir: string, id: string): Promise<void> {
  const away = join(locksDir, `.${id}.lock.gone.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    await rename(lockDir(locksDir, id), away);
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return;
    throw err;
  }
  await rm(away, { recursive: true, force: true });
}

/**
 * Removes what a process killed in the instant of making or removing a lock left: the temp directories of
 * tryClaim and removeLockDir (dot names, ignored by everything else), when the process that made them is no
 * longer alive. Returns how many went.
 */
export async function removeAbandonedLockTemps(locksDir: string): Promise<number> {
  let removed = 0;
  for (const name of await readdir(locksDir).catch(() => [] as string[])) {
    const pid = /^\..+\.lock\.(?:gone\.)?(\d+)\.[0-9a-f]{8}$/.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid || pidAlive(Number(pid))) continue;
    await rm(join(locksDir, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

/** Whether some live process holds the task's claim lock. */
export async function isClaimed(locksDir: string, id: string): Promise<boolean> {
  try {
    await stat(lockDir(locksDir, id));
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return false;
    throw err;
  }
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
