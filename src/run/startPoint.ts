import { isAncestor, mergeCommits, resolveCommit, type Git } from '../git/git.js';
import { loadTasks } from '../task/store.js';
import type { Task } from '../task/task.js';

export type StartPoint = { kind: 'ok'; commit: string; on: string[] } | { kind: 'blocked'; reason: string };

/**
 * Where a task's branch starts: the base branch, stacked on the commits of its dependencies that have not
 * reached base yet (with push: branch nothing lands by itself, and a dependent task needs its
 * dependency's code). Several such dependencies are merged; a conflict between them blocks the task.
 */
export async function startPoint(git: Git, base: string, baseCommit: string, task: Task, tasksDir: string): Promise<StartPoint> {
  const pending: string[] = [];
  const names: string[] = [];
  const entries = task.dependsOn.length > 0 ? await loadTasks(tasksDir) : [];
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
  const merged = tips.length === 1 ? tips[0] : await mergeCommits(git, tips, `nightshift: start ${task.id} on its dependencies ${names.join(', ')}`);
  if (!merged) return { kind: 'blocked', reason: `the changes of dependencies ${names.join(', ')} conflict with each other; land them on ${base} first, then requeue` };
  return { kind: 'ok', commit: merged, on: names };
}
