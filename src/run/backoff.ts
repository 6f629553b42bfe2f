import type { RunContext } from './context.js';

/** Retries never wait longer than this, however many attempts came before. */
export const MAX_RETRY_BACKOFF_MS = 5 * 60_000;

/**
 * Wait before the attempt after `failedAttempt`: `initialMs` after the first failure, doubling with each
 * one after it, capped at MAX_RETRY_BACKOFF_MS (or at initialMs when that is set higher). A failure that
 * comes from outside (a rate limit, a flaky service) gets time to pass; a task that fails fast does not
 * spin through its attempts.
 */
export function retryBackoffMs(initialMs: number, failedAttempt: number): number {
  const cap = Math.max(MAX_RETRY_BACKOFF_MS, initialMs);
  return Math.min(cap, initialMs * 2 ** Math.min(Math.max(failedAttempt - 1, 0), 30));
}

/** Resolves true after `ms`, or false as soon as `signal` aborts (also when it already has). */
export function waitUnlessAborted(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Waits out a retry backoff of task `id` without holding a concurrency slot: another ready task may run
 * meanwhile, and the run takes a slot back before its next attempt. False: the daemon is stopping.
 */
export function waitOutBackoff(ctx: Pick<RunContext, 'slots' | 'drainSignal'>, id: string, ms: number): Promise<boolean> {
  const wait = () => waitUnlessAborted(ms, ctx.drainSignal);
  return ctx.slots ? ctx.slots.whileWaiting(id, wait) : wait();
}
