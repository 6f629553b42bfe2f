import { lstatSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { hasCode } from '../errors.js';
import { idFromFileName } from './fileName.js';
import { readTaskEntry, readTaskEntrySync } from './read.js';
import type { Task } from './task.js';

/**
 * Runs in progress in this process (by claim), as `claimed_by` and `started_at`: the scheduler never recovers a task
 * that names one of them, whatever its file is called now (a renamed running task has no claim under its
 * new id). Several in-process daemons (tests) share one pid, hence one set for the process.
 */
const liveRuns = new Map<string, string>();
const runKey = (claimedBy: string | undefined, startedAt: string | undefined) => `${claimedBy ?? ''}\n${startedAt ?? ''}`;

/** Whether the task's `claimed_by`/`started_at` name a run this process still has in progress. */
export function isLiveRun(task: Task): boolean {
  if (task.claimedBy === undefined) return false;
  const key = runKey(task.claimedBy, task.startedAt);
  for (const live of liveRuns.values()) if (live === key) return true;
  return false;
}

/** The run of this claim (a task id: one run per claim in a process) is over. */
export function forgetRun(claimId: string): void {
  liveRuns.delete(claimId);
}

/** Where a running task's file is now, as its run sees it. */
export type Located =
  /** Parses and is still ours: running, claimed by us, the same start. `task.file` may be a new name. */
  | { kind: 'ours'; task: Task; renamedFrom?: string }
  /** Is there but does not parse (an editor's save in progress, or a mistake): keep running, never write it. */
  | { kind: 'unreadable'; reason: string }
  /** Parses but is no longer ours: cancelled, requeued or otherwise changed by someone else. */
  | { kind: 'changed'; task: Task }
  /** Deleted, and no other file in tasks/ carries our claim. */
  | { kind: 'gone' };

/** An unlink-then-write save is not a delete: a file missing this briefly is looked for once more. */
const GONE_SETTLE_MS = 500;

/**
 * The file of a task this process claimed, followed by its claim: the file name is the task's id, so a
 * renamed file is found again by what only our run wrote into it (`claimed_by` and `started_at`).
 */
export class FollowedTask {
  private file: string;
  private ino: number | undefined;
  private readonly key: string;

  constructor(
    task: Task,
    private readonly ownerId: string,
    claimId: string,
  ) {
    this.file = task.file;
    this.key = runKey(task.claimedBy, task.startedAt);
    try {
      this.ino = lstatSync(task.file).ino;
    } catch {
      this.ino = undefined;
    }
    liveRuns.set(claimId, this.key);
  }

  get currentFile(): string {
    return this.file;
  }

  private mine(task: Task): boolean {
    return task.status === 'running' && task.claimedBy === this.ownerId && runKey(task.claimedBy, task.startedAt) === this.key;
  }

  async locate(): Promise<Located> {
    const here = await this.lookAt(this.file);
    if (here !== undefined) return here;
    for (let look = 0; look < 2; look++) {
      if (look > 0) await new Promise((resolve) => setTimeout(resolve, GONE_SETTLE_MS));
      const back = await this.lookAt(this.file);
      if (back !== undefined) return back;
      const moved = this.search();
      if (moved) {
        const from = basename(this.file);
        this.file = moved.file;
        this.ino = lstatSafe(moved.file);
        return { kind: 'ours', task: moved, renamedFrom: idFromFileName(from) };
      }
    }
    return { kind: 'gone' };
  }

  /** True while the run should go on: ours, or unreadable for now (it may parse again, and is not news). */
  async stillOurs(): Promise<boolean> {
    const where = await this.locate();
    return where.kind === 'ours' || where.kind === 'unreadable';
  }

  private async lookAt(file: string): Promise<Located | undefined> {
    const id = idFromFileName(basename(file)) as string;
    try {
      const entry = await readTaskEntry(file, id);
      if (entry.kind === 'invalid') return { kind: 'unreadable', reason: entry.invalid.reason };
      return this.mine(entry.task) ? { kind: 'ours', task: entry.task } : { kind: 'changed', task: entry.task };
    } catch (err) {
      if (hasCode(err, 'ENOENT')) return undefined;
      // Unreadable for now (permissions, I/O): like an unparsable file, no reason to stop the run.
      return { kind: 'unreadable', reason: (err as Error).message };
    }
  }

  /** Another task file carrying our claim: the same inode first (a rename keeps it), then any. */
  private search(): Task | undefined {
    return findTaskFile(dirname(this.file), this.ino, (task) => this.mine(task));
  }
}

/**
 * Where a task file went: the first task in `dir` (but `skipName`) that `accept` takes, trying the files
 * with inode `ino` first (a rename keeps it). `accept` is told whether the file has that inode.
 */
export function findTaskFile(
  dir: string,
  ino: number | undefined,
  accept: (task: Task, sameInode: boolean) => boolean,
  skipName?: string,
): Task | undefined {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  const candidates = names.flatMap((name) => {
    const id = name === skipName ? undefined : idFromFileName(name);
    return id === undefined ? [] : [{ id, file: join(dir, name), sameInode: ino !== undefined && lstatSafe(join(dir, name)) === ino }];
  });
  for (const c of [...candidates.filter((c) => c.sameInode), ...candidates.filter((c) => !c.sameInode)]) {
    try {
      const entry = readTaskEntrySync(c.file, c.id);
      if (entry.kind === 'task' && accept(entry.task, c.sameInode)) return entry.task;
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

function lstatSafe(file: string): number | undefined {
  try {
    return lstatSync(file).ino;
  } catch {
    return undefined;
  }
}
