import { fetchBase, isAncestor, mergeCommits, resolveCommit, type Git } from '../git/git.js';
import { oneLine } from '../errors.js';
import { loadTasks } from '../task/store.js';
import type { Task } from '../task/task.js';
import type { RunContext } from './context.js';

export type StartPoint = { kind: 'ok'; commit: string; on: string[] } | { kind: 'blocked'; reason: string };
/** With push: land, the remote's base could not be fetched: nothing may start before it can. */
type Unreachable = { kind: 'unreachable'; reason: string };

/**
 * Where an attempt of `task` starts. With push: land the remote's base is the truth (tasks land there, and
 * the local base may lag behind the user's checkout), so it is fetched first and the remote-tracking ref
 * is used; dependencies that landed are then simply part of it. Otherwise the local base branch.
 */
export async function taskStart(ctx: RunContext, task: Task): Promise<StartPoint | Unreachable> {
  const head = await baseHead(ctx, task.id);
  if (head.kind !== 'ok') return head;
  return startPoint(ctx.git, ctx.base, head.commit, task, ctx.paths.tasks);
}

async function baseHead(
  ctx: RunContext,
  id: string,
): Promise<{ kind: 'ok'; commit: string } | { kind: 'blocked'; reason: string } | Unreachable> {
  const local = `refs/heads/${ctx.base}`;
  if (ctx.rules.push === 'land') {
    const { remote } = ctx.rules;
    const fetched = await fetchBase(ctx.git, remote, ctx.base);
    if (fetched.kind === 'ok') return fetched;
    if (fetched.kind === 'missing') {
      return {
        kind: 'blocked',
        reason: `push: land needs branch ${ctx.base} on ${remote}; push it once (git push ${remote} ${ctx.base}), then requeue`,
      };
    }
    // No executor starts on a base it could not land on: its work would wait for the remote anyway, and
    // the local base may hold the user's unpushed commits.
    ctx.logger.warn({ task: id, remote, base: ctx.base }, `fetching ${remote}/${ctx.base} failed: ${oneLine(fetched.message, 200)}`);
    return {
      kind: 'unreachable',
      reason: `cannot reach ${remote}: fetching ${remote}/${ctx.base} failed: ${oneLine(fetched.message, 200)}`,
    };
  }
  const commit = await resolveCommit(ctx.git, local);
  return commit ? { kind: 'ok', commit } : { kind: 'blocked', reason: `base branch ${ctx.base} does not exist; set base: in rules.md` };
}

/**
 * Where a task's branch starts: the base branch, stacked on the commits of its dependencies that have not
 * reached base yet (with push: branch nothing lands by itself, and a dependent task needs its
 * dependency's code). Several such dependencies are merged; a conflict between them blocks the task.
 */
export async function startPoint(git: Git, base: string, baseCommit: string, task: Task, tasksDir: string): Promise<StartPoint> {
  const pending: string[] = [];
  const names: string[] = [];
  const entries = task.dependsOn.length > 0 ? await loadTasks(tasksDir, task.dependsOn) : [];
  for (const dep of task.dependsOn) {
    const entry = entries.find((e) => e.kind === 'task' && e.task.id === dep);
    const commit = entry?.kind === 'task' ? entry.task.commit : undefined;
    if (!commit || !(await resolveCommit(git, commit))) continue;
    if (await isAncestor(git, commit, baseCommit)) continue; // already in base
    if (pending.some((c) => c === commit)) continue;
    pending.push(commit);
    names.push(dep);
  }
  if (pending.length === 0) return { kind: 'ok', commit: baseCommit, on: [] };
  // Dependencies stacked on each other: the newest one already contains the others.
  const tips: string[] = [];
  for (const c of pending) {
    let contained = false;
    for (const other of pending) if (other !== c && (await isAncestor(git, c, other))) contained = true;
    if (!contained) tips.push(c);
  }
  const merged =
    tips.length === 1 ? tips[0] : await mergeCommits(git, tips, `nightshift: start ${task.id} on its dependencies ${names.join(', ')}`);
  if (!merged)
    return {
      kind: 'blocked',
      reason: `the changes of dependencies ${names.join(', ')} conflict with each other; land them on ${base} first, then requeue`,
    };
  return { kind: 'ok', commit: merged, on: names };
}
