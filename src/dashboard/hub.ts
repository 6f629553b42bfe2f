import { EventEmitter } from 'node:events';
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { DirWatcher } from '../daemon/watchDir.js';
import { taskLogDir } from '../paths.js';
import { AppendedLines } from './follow.js';
import type { Snapshot } from './snapshot.js';

/** What the page is told as it happens. */
export type LiveEvent =
  | { kind: 'board' }
  | { kind: 'progress'; text: string }
  /** `end`: the transcript's byte offset after `text`, so the page skips what it already shows. */
  | { kind: 'output'; id: string; attempt: number; text: string; end: number };

/** Changes to task files come in bursts (a write, a rename, a lock): one board refresh per burst. */
const SETTLE_MS = 60;
/** How often watchers are re-armed for folders that appeared or were replaced (a stat each, no reads). */
const CHECK_MS = 1000;
/** The safety net for a watcher event that never came: a full scan of tasks/, off the request path. */
const RESCAN_MS = 15_000;

/**
 * Turns changes on disk into live events: the watcher (one inotify watch per folder, see DirWatcher) on
 * tasks/, the daemons' status files, progress.txt's folder and the transcripts of running tasks. Nothing
 * polls file contents; the periodic check only re-arms watches on folders created since.
 */
export class Hub extends EventEmitter<{ event: [LiveEvent]; closed: [] }> {
  private readonly watchers: DirWatcher[] = [];
  private readonly outputs = new Map<string, { dir: string; watcher: DirWatcher; files: Map<string, AppendedLines> }>();
  private readonly progress: AppendedLines;
  private boardTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly snapshot: Snapshot,
    private readonly onError: (err: Error) => void,
  ) {
    super();
    this.setMaxListeners(0);
    const { paths } = snapshot;
    this.progress = new AppendedLines(paths.progress, true);
    const board = () => this.boardChanged();
    this.watchers.push(
      new DirWatcher(
        paths.tasks,
        (name) => {
          snapshot.invalidate(name);
          this.boardChanged();
        },
        onError,
      ),
      new DirWatcher(paths.daemons, board, onError),
      new DirWatcher(
        paths.root,
        (name) => {
          if (name === undefined || name === basename(paths.progress)) void this.emitProgress();
        },
        onError,
      ),
      // A running task's log folder appears after its status changes: watch it, and read what it has, at once.
      new DirWatcher(
        paths.logs,
        (name) => {
          const followed = name === undefined ? undefined : this.outputs.get(name);
          if (followed) void this.rearm(name as string, followed);
        },
        onError,
      ),
    );
  }

  async start(): Promise<void> {
    await this.progress.mark();
    for (const w of this.watchers) w.check();
    await this.followRunning(true);
    this.checkTimer = setInterval(() => {
      for (const w of this.watchers) w.check();
      for (const [id, o] of this.outputs) void this.rearm(id, o);
    }, CHECK_MS);
    this.checkTimer.unref();
    this.rescanTimer = setInterval(() => {
      this.snapshot.rescan().then(
        (changed) => changed && this.boardChanged(),
        (err: unknown) => this.onError(err as Error),
      );
    }, RESCAN_MS);
    this.rescanTimer.unref();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.checkTimer);
    clearInterval(this.rescanTimer);
    clearTimeout(this.boardTimer);
    for (const w of this.watchers) w.close();
    for (const o of this.outputs.values()) o.watcher.close();
    this.outputs.clear();
    this.emit('closed');
  }

  private boardChanged(): void {
    if (this.boardTimer || this.closed) return;
    this.boardTimer = setTimeout(() => {
      this.boardTimer = undefined;
      if (this.closed) return;
      this.emit('event', { kind: 'board' });
      this.followRunning().catch((err: unknown) => this.onError(err as Error));
    }, SETTLE_MS);
  }

  private async emitProgress(): Promise<void> {
    const { text } = await this.progress.read();
    if (text && !this.closed) this.emit('event', { kind: 'progress', text });
  }

  /** Follows the transcripts of the tasks running now, and stops following the others. */
  private async followRunning(atStart = false): Promise<void> {
    const running = new Set(
      (await this.snapshot.entries()).flatMap((e) => (e.kind === 'task' && e.task.status === 'running' ? [e.task.id] : [])),
    );
    if (this.closed) return;
    for (const [id, o] of this.outputs) {
      if (running.has(id)) continue;
      o.watcher.close();
      this.outputs.delete(id);
    }
    for (const id of running) {
      if (this.outputs.has(id)) continue;
      const dir = taskLogDir(this.snapshot.paths, id);
      const files = new Map<string, AppendedLines>();
      const watcher = new DirWatcher(
        dir,
        (name) => {
          if (name !== undefined && /^\d+\.log$/.test(name)) void this.emitOutput(id, files, join(dir, name));
        },
        this.onError,
      );
      const followed = { dir, watcher, files };
      this.outputs.set(id, followed);
      // At start-up what the transcripts hold is on the page already: only what follows is streamed. A
      // task that starts running later is streamed from its first line.
      if (atStart) {
        watcher.check();
        for (const name of await logNames(dir)) await this.lines(files, join(dir, name), true).mark();
      } else await this.rearm(id, followed);
    }
  }

  /**
   * Watches a running task's log folder if it was not watched yet (it may not have existed), then reads
   * what its transcripts gained: lines written before the watch began are not lost.
   */
  private async rearm(id: string, followed: { dir: string; watcher: DirWatcher; files: Map<string, AppendedLines> }): Promise<void> {
    followed.watcher.check();
    for (const name of await logNames(followed.dir)) await this.emitOutput(id, followed.files, join(followed.dir, name));
  }

  private lines(files: Map<string, AppendedLines>, file: string, fromEnd: boolean): AppendedLines {
    let lines = files.get(file);
    if (!lines) files.set(file, (lines = new AppendedLines(file, fromEnd)));
    return lines;
  }

  private async emitOutput(id: string, files: Map<string, AppendedLines>, file: string): Promise<void> {
    const { text, end } = await this.lines(files, file, false).read();
    if (text && !this.closed) this.emit('event', { kind: 'output', id, attempt: Number.parseInt(basename(file), 10), text, end });
  }
}

async function logNames(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [])).filter((n) => /^\d+\.log$/.test(n));
}
