import lockfile from 'proper-lockfile';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { hasCode } from '../errors.js';

// As for task claims: the lock's mtime is refreshed every UPDATE ms while a task lands (its retest can take
// minutes); a lock left unrefreshed for STALE ms belonged to a dead process and may be taken over.
const STALE_MS = 30_000;
const UPDATE_MS = 5_000;
/** How often a waiting lander looks again at a lock another process holds. */
const POLL_MS = 200;
/** Task claim locks live in the same folder as <id>.lock; no task id starts with "_", so none can be this one. */
const LOCK_NAME = '_land';

export type LandLockResult<T> = { kind: 'ran'; value: T } | { kind: 'aborted' };

/** One queue per locks folder (per repository): landings in this process, first come first served. */
const queues = new Map<string, Promise<unknown>>();

/**
 * Runs `fn` while this task is the only one landing on the repository: first in line in this process (an
 * in-order queue), then holder of `.nightshift/locks/_land.lock` against other daemons sharing the queue.
 * Gives up waiting (aborted) when `signal` fires; once `fn` runs it is up to `fn` to watch the signal.
 */
export async function withLandLock<T>(locksDir: string, signal: AbortSignal, fn: () => Promise<T>): Promise<LandLockResult<T>> {
  const previous = queues.get(locksDir) ?? Promise.resolve();
  const mine = previous.then(() => runLocked(locksDir, signal, fn));
  const tail = mine.catch(() => undefined);
  queues.set(locksDir, tail);
  try {
    return await mine;
  } finally {
    if (queues.get(locksDir) === tail) queues.delete(locksDir);
  }
}

async function runLocked<T>(locksDir: string, signal: AbortSignal, fn: () => Promise<T>): Promise<LandLockResult<T>> {
  await mkdir(locksDir, { recursive: true });
  const target = join(locksDir, LOCK_NAME);
  let release: (() => Promise<void>) | undefined;
  while (!release) {
    if (signal.aborted) return { kind: 'aborted' };
    try {
      release = await lockfile.lock(target, {
        realpath: false,
        lockfilePath: `${target}.lock`,
        stale: STALE_MS,
        update: UPDATE_MS,
        retries: 0,
        // Taken over after we stalled past STALE_MS. Nothing to stop: the push to base is a compare-and-swap
        // (lease), so two landers at once cost a retry round, never a lost commit. Without a handler
        // proper-lockfile would throw from a timer and kill the daemon.
        onCompromised: () => undefined,
      });
    } catch (err) {
      if (!hasCode(err, 'ELOCKED')) throw err;
      // Another daemon is landing: normal, wait for it.
      await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
    }
  }
  try {
    return { kind: 'ran', value: await fn() };
  } finally {
    await release().catch(() => undefined);
  }
}
