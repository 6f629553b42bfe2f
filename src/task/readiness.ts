import type { Task, TaskEntry } from './task.js';

export type Readiness =
  | { kind: 'ready' }
  | { kind: 'waiting'; on: string[] }
  /**
   * `provisional`: the dependency is missing or its file does not parse, which a planner still writing its
   * files may fix a moment later (the scheduler gives that a few seconds before it blocks in watch mode).
   * `cause`: what blocks it at the root, for a task blocked through a queued dependency that is blocked.
   */
  | { kind: 'blocked'; reason: string; provisional?: boolean; cause?: string };

type Blocked = Extract<Readiness, { kind: 'blocked' }>;

/**
 * Decides, for each queued task, whether it can run now, must wait for dependencies, or can never run
 * as things stand (cycle, missing, failed or invalid dependency). A task whose queued dependency can never
 * run is blocked too, through any number of levels: a failed head of a 10,000-task chain blocks all of it
 * in one pass, not one level per scan. Pure: the same files give the same plan.
 */
export function assessQueue(entries: TaskEntry[]): Map<string, Readiness> {
  const tasks = new Map<string, Task>();
  const invalid = new Set<string>();
  for (const e of entries) {
    if (e.kind === 'task') tasks.set(e.task.id, e.task);
    else invalid.add(e.invalid.id);
  }
  const cycles = findCycles(tasks);
  const result = new Map<string, Readiness>();
  const queued = (id: string): boolean => tasks.get(id)?.status === 'queued';

  /** One task, once every queued dependency of it has been assessed. */
  const assess = (task: Task): Readiness => {
    const cycle = cycles.get(task.id);
    if (cycle) return { kind: 'blocked', reason: `dependency cycle: ${cyclePath(cycle)}` };
    const waiting: string[] = [];
    for (const dep of task.dependsOn) {
      const other = tasks.get(dep);
      if (!other) {
        const reason = invalid.has(dep)
          ? `dependency ${dep} is an invalid task file; fix it, then requeue this task`
          : `dependency ${dep} does not exist in tasks/`;
        return { kind: 'blocked', reason, provisional: true };
      }
      if (other.status === 'done') continue;
      if (other.status === 'failed' || other.status === 'cancelled' || other.status === 'blocked') {
        return { kind: 'blocked', reason: `dependency ${dep} is ${other.status}` };
      }
      const theirs = other.status === 'queued' ? result.get(dep) : undefined;
      if (theirs?.kind === 'blocked') return blockedThrough(dep, theirs);
      waiting.push(dep);
    }
    return waiting.length > 0 ? { kind: 'waiting', on: waiting } : { kind: 'ready' };
  };

  // Dependencies first, depth-first with an explicit stack (a chain of tens of thousands must not overflow
  // the call stack). Cycle members are assessed without their dependencies, so the walk always ends.
  // (Every loop has a member on `cycles`; onStack is the belt to those braces.)
  const frames: Array<{ task: Task; next: number }> = [];
  const onStack = new Set<string>();
  for (const root of tasks.values()) {
    if (root.status !== 'queued' || result.has(root.id)) continue;
    frames.push({ task: root, next: 0 });
    onStack.add(root.id);
    while (frames.length > 0) {
      const top = frames[frames.length - 1] as { task: Task; next: number };
      const deps = cycles.has(top.task.id) ? [] : top.task.dependsOn;
      let pushed = false;
      while (top.next < deps.length) {
        const dep = deps[top.next++] as string;
        if (queued(dep) && !result.has(dep) && !onStack.has(dep)) {
          frames.push({ task: tasks.get(dep) as Task, next: 0 });
          onStack.add(dep);
          pushed = true;
          break;
        }
      }
      if (pushed) continue;
      frames.pop();
      onStack.delete(top.task.id);
      if (!result.has(top.task.id)) result.set(top.task.id, assess(top.task));
    }
  }
  return result;
}

/** Blocked because a queued dependency is: names that dependency, and the root cause once, not the path. */
function blockedThrough(dep: string, theirs: Blocked): Blocked {
  const cause = theirs.cause ?? theirs.reason;
  const blocked: Blocked = { kind: 'blocked', reason: `dependency ${dep} is blocked (${cause})`, cause };
  return theirs.provisional ? { ...blocked, provisional: true } : blocked;
}

/** Ready tasks in run order: higher priority first, then file name. */
export function readyInOrder(entries: TaskEntry[], readiness: Map<string, Readiness>): Task[] {
  const ready: Task[] = [];
  for (const e of entries) {
    if (e.kind === 'task' && readiness.get(e.task.id)?.kind === 'ready') ready.push(e.task);
  }
  return ready.sort((a, b) => b.priority - a.priority || compareNames(a.file, b.file));
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A task on a dependency loop: the loop (shared by its members) and where the task is on it. */
interface OnCycle {
  loop: string[];
  at: number;
}

/** Longer loops are shown by their first steps: every member's full path would be quadratic in size. */
const MAX_PATH_SHOWN = 10;

/** The loop as a path of ids starting and ending at the task. */
function cyclePath({ loop, at }: OnCycle): string {
  const from = (i: number) => loop[(at + i) % loop.length] as string;
  const shown = loop.length <= MAX_PATH_SHOWN ? loop.length : MAX_PATH_SHOWN / 2;
  const steps = Array.from({ length: shown }, (_, i) => from(i));
  if (shown < loop.length) steps.push(`... (${loop.length - shown} more)`);
  return [...steps, from(0)].join(' -> ');
}

/** For each task on a dependency cycle, the loop it is on. */
function findCycles(tasks: Map<string, Task>): Map<string, OnCycle> {
  const onCycle = new Map<string, OnCycle>();
  const state = new Map<string, 'visiting' | 'done'>();
  // Depth-first with an explicit stack: a chain of tens of thousands of dependencies must not overflow
  // the call stack (the scan would fail and nothing would run).
  const path: string[] = [];
  const frames: Array<{ id: string; deps: string[]; next: number }> = [];
  const enter = (id: string): void => {
    state.set(id, 'visiting');
    path.push(id);
    frames.push({ id, deps: tasks.get(id)?.dependsOn ?? [], next: 0 });
  };
  for (const root of [...tasks.keys()].sort()) {
    if (state.has(root)) continue;
    enter(root);
    while (frames.length > 0) {
      const top = frames[frames.length - 1] as { id: string; deps: string[]; next: number };
      if (top.next >= top.deps.length) {
        frames.pop();
        path.pop();
        state.set(top.id, 'done');
        continue;
      }
      const dep = top.deps[top.next++] as string;
      // A done task needs nothing more, so a loop through one (depends_on edited after it ran) is no deadlock.
      if (!tasks.has(dep) || tasks.get(dep)?.status === 'done') continue;
      const s = state.get(dep);
      if (s === 'visiting') {
        const loop = path.slice(path.indexOf(dep));
        for (let i = 0; i < loop.length; i++) {
          const member = loop[i] as string;
          if (!onCycle.has(member)) onCycle.set(member, { loop, at: i });
        }
      } else if (s === undefined) enter(dep);
    }
  }
  return onCycle;
}
