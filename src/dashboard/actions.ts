import { approve } from '../commands/approve.js';
import { cancelTasks } from '../commands/cancel.js';
import { stopDaemons } from '../commands/daemonStop.js';
import type { Output } from '../commands/output.js';
import { requeueTasks } from '../commands/requeue.js';
import { UsageError } from '../errors.js';

export const ACTIONS = ['requeue', 'cancel', 'approve'] as const;
export type TaskAction = (typeof ACTIONS)[number];

/** What an action did, in the words the CLI verb prints. */
export type ActionResult = { ok: true; message: string } | { ok: false; message: string };

/**
 * Runs a task action through the CLI verb's own code, so the page and the terminal cannot disagree about
 * what is allowed, what is written to the task file and progress.txt, or what a running executor is sent.
 */
export async function runTaskAction(cwd: string, action: TaskAction, id: string): Promise<ActionResult> {
  switch (action) {
    case 'requeue':
      return captured((io) => requeueTasks({ cwd, ids: [id] }, io));
    case 'cancel':
      return captured((io) => cancelTasks({ cwd, ids: [id] }, io));
    case 'approve':
      return approveDraft(cwd, id);
    default: {
      const never: never = action;
      throw new Error(`unknown action ${String(never)}`);
    }
  }
}

/**
 * A draft approved from the page becomes queued by `nightshift approve <id>`'s code: a draft the readiness
 * gate did not pass, or one waiting on drafts, is refused with the CLI's reason (the page has no --force).
 */
export function approveDraft(cwd: string, id: string): Promise<ActionResult> {
  return captured((io) => approve({ cwd, ids: [id] }, io));
}

/** `daemon stop` (graceful): SIGTERM to this checkout's daemons; returns once they were asked. */
export function stopDaemon(cwd: string): Promise<ActionResult> {
  return captured((io) => stopDaemons({ cwd }, io));
}

async function captured(run: (io: Output) => Promise<number>): Promise<ActionResult> {
  const lines: string[] = [];
  const io: Output = { out: (t) => lines.push(t), err: (t) => lines.push(t) };
  try {
    const code = await run(io);
    return { ok: code === 0, message: lines.join('').trim() };
  } catch (err) {
    if (err instanceof UsageError) return { ok: false, message: `${err.message}${err.hint ? ` (${err.hint})` : ''}` };
    throw err;
  }
}
