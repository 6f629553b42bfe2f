import { stat } from 'node:fs/promises';
import { relative } from 'node:path';
import type { RunContext } from '../run/context.js';
import type { TaskEntry } from '../task/task.js';

/**
 * In watch mode a file that does not parse is reported only once it has not changed for this long: a slow
 * writer or an editor's save in progress is not news, and the next change event looks at it again.
 */
export const INVALID_SETTLE_MS = 1000;

/**
 * Reports each task file that does not parse or validate (progress.txt `invalid` and `task:invalid`),
 * once per reason: the same broken file is not news on every scan, a new reason is, and a file fixed
 * then broken again is reported again.
 */
export class InvalidFileReports {
  /** The reason last reported, by file. */
  private readonly reported = new Map<string, string>();

  /**
   * @param wakeIn books a scan in this many milliseconds (unless one is booked) for a file still being
   * written; absent with --once, which reports what it finds at once.
   */
  constructor(
    private readonly ctx: RunContext,
    private readonly wakeIn: ((ms: number) => void) | undefined,
  ) {}

  async report(entries: TaskEntry[]): Promise<void> {
    const { ctx } = this;
    for (const e of entries) {
      if (e.kind !== 'invalid') {
        // Fixed: if it breaks again later, that is news again.
        if (e.kind === 'task') this.reported.delete(e.task.file);
        continue;
      }
      const { id, file, reason } = e.invalid;
      if (this.reported.get(file) === reason) continue;
      if (this.wakeIn && (await this.stillSettling(file, this.wakeIn))) continue;
      this.reported.set(file, reason);
      await ctx.progress.append(id, 'invalid', { file: relative(ctx.paths.root, file), reason });
      ctx.events.emit('task:invalid', { id, file, reason });
    }
  }

  /** True (and a scan booked) when the file changed less than INVALID_SETTLE_MS ago. */
  private async stillSettling(file: string, wakeIn: (ms: number) => void): Promise<boolean> {
    let age: number;
    try {
      age = Date.now() - (await stat(file)).mtimeMs;
    } catch {
      return false;
    }
    if (age >= INVALID_SETTLE_MS) return false;
    wakeIn(INVALID_SETTLE_MS - age + 50);
    return true;
  }
}
