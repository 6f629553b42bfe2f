import type { RunContext } from '../run/context.js';
import { blockedInBulk, type ToBlock } from '../task/transitionsUnclaimed.js';

export type { ToBlock };

/**
 * Marks queued tasks blocked, all in one batch (see blockedInBulk). Returns those that were blocked, after
 * their `blocked` lines were written and their `task:blocked` events emitted.
 */
export async function blockTasks(ctx: RunContext, items: ToBlock[]): Promise<ToBlock[]> {
  return blockedInBulk(ctx.paths.locks, { progress: ctx.progress, events: ctx.events }, items);
}
