import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Counts the git processes nightshift starts, per task run. Most of a trivial task's cost is git
 * processes (each one a fork, an exec and a read of the index or the refs), so the count is what a change
 * meant to make a task leaner is measured by: the daemon log has it per attempt, the bench per task.
 *
 * The counter travels with the async context (AsyncLocalStorage) rather than on the Git handle: a task's
 * run opens several handles (the repository, its worktree, the pool's), and helpers open their own.
 */
export class GitProcessCounter {
  processes = 0;
  /** The count since the last call (the first call: since the counter was made). */
  private taken = 0;

  sinceLastLook(): number {
    const n = this.processes - this.taken;
    this.taken = this.processes;
    return n;
  }
}

const current = new AsyncLocalStorage<GitProcessCounter>();

/** Runs `fn` with every git process it starts, directly or in anything it awaits, counted on `counter`. */
export function countGitProcesses<T>(counter: GitProcessCounter, fn: () => Promise<T>): Promise<T> {
  return current.run(counter, fn);
}

/** The counter of the run this code is part of, if any. */
export function currentGitCounter(): GitProcessCounter | undefined {
  return current.getStore();
}

/** Called by each place in src/git/ that spawns git, right before it does. */
export function noteGitProcess(): void {
  const counter = current.getStore();
  if (counter) counter.processes++;
}
