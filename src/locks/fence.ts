/**
 * What a publishing push must carry besides its own ref when the queue is remote: a lease on the task's
 * claim ref at the value its holder holds, plus the status it writes (see fleet/remoteClaim.ts). All go in
 * one `git push --atomic`, so a holder that lost its claim publishes nothing at all.
 */
export interface PushFence {
  /** --force-with-lease=... options. */
  leases: string[];
  refspecs: string[];
  /** Told whether the push went through (always called, also when the push threw). */
  settle(pushed: boolean): Promise<void>;
}
