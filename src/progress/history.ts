import { open } from 'node:fs/promises';
import { hasCode } from '../errors.js';
import type { Status } from '../task/task.js';

/** What progress.txt last said of a task: a status, or that its file went away. */
export type Reported = Status | 'gone';

/**
 * The last status progress.txt reported for each task, read incrementally (the file is append-only): how a
 * daemon knows whether a change it sees in a task file was already reported, by itself, by `cancel` or
 * `requeue`, by another daemon of this checkout, or before a restart.
 */
export class ProgressHistory {
  private readonly last = new Map<string, Reported>();
  private offset = 0;

  constructor(private readonly file: string) {}

  get(id: string): Reported | undefined {
    return this.last.get(id);
  }

  ids(): IterableIterator<[string, Reported]> {
    return this.last.entries();
  }

  /** Reads the lines appended since the last call (whole lines only). */
  async catchUp(): Promise<void> {
    let handle;
    try {
      handle = await open(this.file, 'r');
    } catch (err) {
      if (hasCode(err, 'ENOENT')) return;
      throw err;
    }
    try {
      const size = (await handle.stat()).size;
      if (size < this.offset) this.offset = 0; // replaced by a shorter file: start over
      while (this.offset < size) {
        const chunk = Buffer.alloc(Math.min(4 << 20, size - this.offset));
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, this.offset);
        if (bytesRead === 0) break;
        const end = chunk.lastIndexOf(0x0a, bytesRead - 1);
        if (end < 0) break; // a line still being written
        for (const line of chunk.subarray(0, end).toString('utf8').split('\n')) this.take(line);
        this.offset += end + 1;
      }
    } finally {
      await handle.close();
    }
  }

  private take(line: string): void {
    const m = /^\S+ (\S+) (\S+)(.*)$/.exec(line);
    if (!m || m[1] === '-') return;
    const id = m[1] as string;
    const field = (key: string) => new RegExp(` ${key}=(\\S+)`).exec(m[3] as string)?.[1];
    const status = statusAfter(m[2] as string, field);
    if (status !== undefined) this.last.set(id, status);
    if (m[2] === 'renamed') {
      const from = field('from');
      if (from) this.last.set(from, 'gone');
    }
  }
}

/** The status a progress event leaves its task in; undefined for events that say nothing about it. */
function statusAfter(event: string, field: (key: string) => string | undefined): Reported | undefined {
  switch (event) {
    case 'enqueued':
    case 'requeued':
      return 'queued';
    case 'claimed':
    case 'attempt-started':
      return 'running';
    case 'done':
    case 'failed':
    case 'blocked':
    case 'cancelled':
      return event;
    case 'removed':
      return 'gone';
    case 'recovered': {
      const then = field('then');
      return then === 'queued' || then === 'failed' ? then : 'running';
    }
    case 'renamed': {
      const status = field('status');
      return status as Status | undefined;
    }
    default:
      return undefined;
  }
}
