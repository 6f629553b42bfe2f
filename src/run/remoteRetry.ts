import { retryBackoffMs } from './backoff.js';

/**
 * Retries after the remote could not be reached or refused a push, within one claim. Not the task's
 * fault, so they spend no attempt; but an unreachable remote must not keep a task (and a slot) for ever:
 * after MAX_REMOTE_RETRIES the task ends (blocked before the executor ran, failed with its verified commit
 * kept after). With the default 2s retry_backoff the waits add up to about 8.5 minutes.
 */
export const MAX_REMOTE_RETRIES = 8;

export class RemoteRetries {
  private used = 0;

  constructor(private readonly initialMs: number) {}

  /** The wait before the next try, or undefined when the retries are used up. */
  next(): number | undefined {
    if (this.used >= MAX_REMOTE_RETRIES) return undefined;
    this.used++;
    return retryBackoffMs(this.initialMs, this.used);
  }
}
