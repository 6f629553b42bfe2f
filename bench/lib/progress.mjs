import { closeSync, openSync, readSync, statSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BenchError } from './proc.mjs';

/**
 * Follows progress.txt from the bench process and stamps each new line with performance.now() when it
 * was seen: fs.watch on the folder (inotify: immediate) plus a short poll in case an event is missed.
 * Second-resolution times inside the lines are not precise enough for the figures.
 */
export class ProgressWatch {
  constructor(file, { pollMs = 20 } = {}) {
    this.file = file;
    this.offset = 0;
    this.partial = '';
    /** @type {{ t: number, id: string, event: string, text: string }[]} */
    this.lines = [];
    this.waiters = [];
    try {
      this.watcher = watch(dirname(file), (_e, name) => {
        if (!name || name === basename(file)) this.read();
      });
    } catch {
      this.watcher = undefined;
    }
    this.timer = setInterval(() => this.read(), pollMs);
    this.read();
  }

  /** Skips everything written so far: later waits see only new lines. */
  mark() {
    this.read();
    return this.lines.length;
  }

  read() {
    let size;
    try {
      size = statSync(this.file).size;
    } catch {
      return;
    }
    if (size <= this.offset) return;
    const buf = Buffer.alloc(size - this.offset);
    const fd = openSync(this.file, 'r');
    let n;
    try {
      n = readSync(fd, buf, 0, buf.length, this.offset);
    } finally {
      closeSync(fd);
    }
    const t = performance.now();
    this.offset += n;
    const text = this.partial + buf.subarray(0, n).toString('utf8');
    const parts = text.split('\n');
    this.partial = parts.pop();
    for (const line of parts) {
      if (!line) continue;
      const [, id = '', event = ''] = line.split(' ');
      this.lines.push({ t, id, event, text: line });
    }
    if (parts.length > 0) this.wake();
  }

  wake() {
    this.waiters = this.waiters.filter((w) => !w.check());
  }

  /**
   * Resolves with the first line from index `from` on that matches, or rejects after timeoutMs
   * (and at once if `alive()` says the daemon is gone, so a crash is not a silent 10-minute wait).
   */
  waitFor(match, { from = 0, timeoutMs, phase, alive }) {
    return new Promise((done, fail) => {
      const waiter = {
        check: () => {
          for (let i = from; i < this.lines.length; i++) {
            if (match(this.lines[i])) {
              clearTimeout(timer);
              clearInterval(aliveTimer);
              done(this.lines[i]);
              return true;
            }
          }
          return false;
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        clearInterval(aliveTimer);
        fail(
          new BenchError(
            `${phase}: timed out after ${Math.round(timeoutMs / 1000)} s waiting for a progress line\nlast lines of progress.txt:\n${this.lastLines()}`,
          ),
        );
      }, timeoutMs);
      const aliveTimer = setInterval(() => {
        this.read();
        if (waiter.check()) return;
        const why = alive?.();
        if (why) {
          clearTimeout(timer);
          clearInterval(aliveTimer);
          this.waiters = this.waiters.filter((w) => w !== waiter);
          fail(new BenchError(`${phase}: ${why}\nlast lines of progress.txt:\n${this.lastLines()}`));
        }
      }, 250);
      if (!waiter.check()) this.waiters.push(waiter);
    });
  }

  count(event, from = 0) {
    let n = 0;
    for (let i = from; i < this.lines.length; i++) if (this.lines[i].event === event) n++;
    return n;
  }

  lastLines(n = 10) {
    return this.lines
      .slice(-n)
      .map((l) => `  ${l.text}`)
      .join('\n');
  }

  close() {
    clearInterval(this.timer);
    this.watcher?.close();
  }
}
