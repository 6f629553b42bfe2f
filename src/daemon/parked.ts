import { executorChain } from '../exec/executors.js';
import type { RunContext } from '../run/context.js';
import type { Task } from '../task/task.js';
import { shouldReview } from '../run/verdict.js';

/**
 * Whether some executor the task may use (its own, then the fallbacks) is not parked. A task whose
 * executors are all parked stays queued: claiming it would only block it.
 */
export function hasUsableExecutor(ctx: RunContext, task: Task): boolean {
  // A task the review gate will judge cannot finish while its reviewer is parked either.
  const review = ctx.rules.review;
  if (review && shouldReview(review, task) && ctx.health.parkedNow(review.executor)) return false;
  const chain = executorChain(task, ctx.rules);
  return chain.length === 0 || chain.some((name) => !ctx.health.parkedNow(name));
}

/** Announces executors whose parking ended; returns the delay until the next one ends, for a wake-up timer. */
export async function resumeParked(ctx: RunContext): Promise<number | undefined> {
  for (const p of ctx.health.expire()) {
    ctx.logger.info({ executor: p.executor }, 'executor resumed');
    await ctx.progress.append(undefined, 'executor-resumed', { executor: p.executor, was: p.cause });
    ctx.events.emit('executor:resumed', { executor: p.executor });
  }
  const next = ctx.health.nextResume();
  // A little late rather than early: a wake-up before the reset time would find it still parked.
  return next ? Math.max(0, next.getTime() - Date.now()) + 50 : undefined;
}
