import type { RunContext } from '../run/context.js';
import { writeRunReport } from './write.js';

/**
 * When the daemon writes its morning report: each time the queue empties after tasks ended (not on every
 * idle moment), and once more when it stops. Writes never overlap; the newest covers the whole run.
 */
export class RunReports {
  /** progress.txt and task files keep whole seconds: the run starts with the first millisecond of its second. */
  private readonly startedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
  private ended = false;
  private writing: Promise<unknown> = Promise.resolve();

  constructor(private readonly ctx: RunContext) {
    const mark = () => (this.ended = true);
    ctx.events.on('task:done', mark);
    ctx.events.on('task:failed', mark);
    ctx.events.on('task:blocked', mark);
  }

  /** Nothing runs and nothing more can start now: a report, if any task ended since the last one. */
  queueEmptied(): void {
    if (!this.ended) return;
    this.ended = false;
    this.write();
  }

  /** The daemon is stopping: the report of the whole run. */
  async stopping(): Promise<void> {
    this.write();
    await this.writing;
  }

  private write(): void {
    this.writing = this.writing.then(() => writeRunReport(this.ctx, this.startedAt));
  }
}
