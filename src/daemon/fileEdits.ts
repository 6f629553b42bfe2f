import { basename } from 'node:path';
import { findTaskFile } from '../task/follow.js';
import { withEditLock } from '../locks/claims.js';
import { ProgressHistory, type Reported } from '../progress/history.js';
import type { ProgressEvent, ProgressFields } from '../progress/log.js';
import type { Status, TaskEntry } from '../task/task.js';
import type { RunContext } from '../run/context.js';

/** What the last scan saw of a task file. */
interface Seen {
  status: Status | 'invalid';
  name: string;
  ino: number | undefined;
  /** A running task's `claimed_by` and `started_at`: what a rename keeps even when the inode is not known. */
  claim?: string;
}

/**
 * Reports in progress.txt what people (or their tools) did to task files by hand: a task cancelled or put
 * back in the queue by editing its status, a file deleted or renamed. Each change gets exactly one line,
 * also across restarts and with `cancel`/`requeue` or other daemons of this checkout reporting too:
 * progress.txt itself is the record of what was reported (see ProgressHistory), checked again under the
 * task's edit lock right before a line is written.
 *   cancelled from=<status> by=edit      any status -> cancelled
 *   requeued from=<status> by=edit       done, failed, blocked or cancelled -> queued
 *   removed from=<status>                the file is gone
 *   renamed from=<old id> status=<s>     under the new id; found by the file's inode within a daemon's life
 *                                        (a rename while no daemon runs reads as removed, plus a new task)
 * Changes daemons make themselves (running -> anything, queued -> blocked) are theirs to report.
 */
export class FileEdits {
  private readonly history: ProgressHistory;
  private seen: Map<string, Seen> | undefined;
  private lastEntries: TaskEntry[] | undefined;

  constructor(
    private readonly ctx: RunContext,
    private readonly inodeOf: (name: string) => number | undefined,
  ) {
    this.history = new ProgressHistory(ctx.paths.progress);
  }

  /** Never fails: a report that cannot be made is logged, and the scan goes on. */
  async report(entries: TaskEntry[], running: { has(id: string): boolean }): Promise<void> {
    try {
      await this.reportChanges(entries, running);
    } catch (err) {
      this.ctx.logger.warn({ err }, 'could not look for changes made to task files');
    }
  }

  private async reportChanges(entries: TaskEntry[], running: { has(id: string): boolean }): Promise<void> {
    if (entries === this.lastEntries) return;
    this.lastEntries = entries;
    // Cheap: only what was appended since the last look (by us, `cancel`, `requeue`, other daemons).
    await this.history.catchUp();
    const now = new Map<string, Seen>();
    for (const e of entries) {
      const file = e.kind === 'task' ? e.task.file : e.invalid.file;
      const id = e.kind === 'task' ? e.task.id : e.invalid.id;
      const claim = e.kind === 'task' && e.task.status === 'running' ? `${e.task.claimedBy} ${e.task.startedAt}` : undefined;
      now.set(id, {
        status: e.kind === 'task' ? e.task.status : 'invalid',
        name: basename(file),
        ino: this.inodeOf(basename(file)),
        claim,
      });
    }
    const before =
      this.seen ??
      new Map(
        [...this.history.ids()].filter(([, s]) => s !== 'gone').map(([id, s]) => [id, { status: s as Status, name: '', ino: undefined }]),
      );
    this.seen = now;

    for (const [id, was] of before) {
      if (now.has(id)) continue;
      // A rename is atomic: the new name is there as soon as the old one is gone (this scan may not know it yet).
      const moved = was.name === '' ? undefined : findRenamed(this.ctx.paths.tasks, was);
      if (moved) {
        await this.once(moved.id, 'renamed', { from: id, status: moved.status }, () => this.history.get(id) !== 'gone');
      } else {
        await this.once(id, 'removed', { from: this.known(id, was.status) }, () => this.history.get(id) !== 'gone');
      }
    }
    for (const e of entries) {
      if (e.kind !== 'task' || running.has(e.task.id)) continue;
      const { id, status } = e.task;
      const known = this.known(id, before.get(id)?.status);
      const event = editEvent(known, status);
      if (event)
        await this.once(id, event, { from: known, by: 'edit' }, () => editEvent(this.history.get(id) ?? known, status) !== undefined);
    }
  }

  /** What was last reported of a task, else what the last scan saw of it. */
  private known(id: string, seen: Status | 'invalid' | undefined): Reported | undefined {
    return this.history.get(id) ?? (seen === 'invalid' ? undefined : seen);
  }

  /**
   * Writes the line unless progress.txt (read again under the task's edit lock, which `cancel` and
   * `requeue` hold while they write theirs) shows it is no longer due.
   */
  private async once(id: string, event: ProgressEvent, fields: ProgressFields, due: () => boolean): Promise<void> {
    try {
      await withEditLock(this.ctx.paths.locks, id, async () => {
        await this.history.catchUp();
        if (!due()) return;
        await this.ctx.progress.append(id, event, fields);
        await this.history.catchUp();
      });
    } catch (err) {
      this.ctx.logger.warn({ err, task: id, event }, 'could not report a change made to a task file');
    }
  }
}

/** The progress event for a change of status made by editing the file, if it is one people make. */
function editEvent(from: Reported | undefined, to: Status): ProgressEvent | undefined {
  if (from === undefined || from === 'gone' || from === to) return undefined;
  if (to === 'cancelled') return 'cancelled';
  if (to === 'queued' && (from === 'done' || from === 'failed' || from === 'blocked' || from === 'cancelled')) return 'requeued';
  return undefined;
}

/** The task file that a vanished one was renamed to: the same inode, or (running) the same claim. */
function findRenamed(dir: string, was: Seen): { id: string; status: Status } | undefined {
  const task = findTaskFile(
    dir,
    was.ino,
    (t, sameInode) => sameInode || (was.claim !== undefined && `${t.claimedBy} ${t.startedAt}` === was.claim),
    was.name,
  );
  return task && { id: task.id, status: task.status };
}
