import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { hasCode } from '../errors.js';
import type { Paths } from '../paths.js';
import type { AttemptFinished, DaemonEvents, ParkedExecutor } from '../run/events.js';
import { nightshiftAlive } from '../locks/pids.js';
import { writeFileAtomic } from '../util/atomic.js';

export interface ExecutorFigures {
  attempts: number;
  successes: number;
  taskFailures: number;
  infraFailures: number;
  interrupted: number;
  tokens: number;
  costUsd: number;
}

/** An executor's figures before its first attempt. */
export function noFigures(): ExecutorFigures {
  return { attempts: 0, successes: 0, taskFailures: 0, infraFailures: 0, interrupted: 0, tokens: 0, costUsd: 0 };
}

/** What one running daemon says about itself in `.nightshift/daemons/<pid>.json`. */
export interface DaemonStatus {
  pid: number;
  host: string;
  startedAt: string;
  updatedAt: string;
  state: 'running' | 'stopping';
  mode: 'watch' | 'once';
  concurrency: number;
  /** Owns .nightshift/daemon.pid (the others run beside it with --allow-multiple). */
  primary: boolean;
  running: Array<{ id: string; attempt: number; claimedAt: string; attemptStartedAt: string }>;
  executors: Record<string, ExecutorFigures>;
  /** Executors this daemon stopped using after an infrastructure failure (absent in older files). */
  parked?: ParkedExecutor[];
}

/** How often, at most, the file is rewritten while tasks come and go. */
const WRITE_EVERY_MS = 250;

/**
 * Keeps this daemon's status file current: running tasks from the claim events, per-executor figures
 * from `attempt:finished`. Writes are atomic and coalesced; nothing here blocks a task.
 */
export class StatusFile {
  private readonly file: string;
  private readonly status: DaemonStatus;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly paths: Paths,
    events: DaemonEvents,
    init: Pick<DaemonStatus, 'mode' | 'concurrency' | 'primary'>,
  ) {
    this.file = join(paths.daemons, `${process.pid}.json`);
    const now = new Date().toISOString();
    this.status = {
      pid: process.pid,
      host: hostname(),
      startedAt: now,
      updatedAt: now,
      state: 'running',
      running: [],
      executors: {},
      ...init,
    };
    events.on('task:claimed', ({ id, attempt }) => {
      const at = new Date().toISOString();
      const known = this.status.running.find((r) => r.id === id);
      if (known) Object.assign(known, { attempt, attemptStartedAt: at });
      else this.status.running.push({ id, attempt, claimedAt: at, attemptStartedAt: at });
      this.schedule();
    });
    events.on('attempt:finished', (a) => this.count(a));
    events.on('executor:parked', (p) => {
      this.status.parked = [...(this.status.parked ?? []).filter((q) => q.executor !== p.executor), p];
      this.schedule();
    });
    events.on('executor:resumed', ({ executor }) => {
      this.status.parked = (this.status.parked ?? []).filter((q) => q.executor !== executor);
      this.schedule();
    });
  }

  async open(): Promise<void> {
    await mkdir(this.paths.daemons, { recursive: true });
    await this.flush();
  }

  /** The task's run is over (whatever the outcome): no longer listed as running. */
  taskEnded(id: string): void {
    this.status.running = this.status.running.filter((r) => r.id !== id);
    this.schedule();
  }

  stopping(): Promise<void> {
    this.status.state = 'stopping';
    return this.flush();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.writing;
    await rm(this.file, { force: true });
  }

  private count(a: AttemptFinished): void {
    const f = (this.status.executors[a.executor] ??= noFigures());
    f.attempts++;
    switch (a.result) {
      case 'success':
        f.successes++;
        break;
      case 'task-failure':
        f.taskFailures++;
        break;
      case 'infra-failure':
        f.infraFailures++;
        break;
      case 'interrupted':
        f.interrupted++;
        break;
      default: {
        const never: never = a.result;
        throw new Error(`unexpected attempt result ${String(never)}`);
      }
    }
    f.tokens += a.tokens ?? 0;
    f.costUsd = Math.round((f.costUsd + (a.costUsd ?? 0)) * 1e6) / 1e6;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, WRITE_EVERY_MS);
    this.timer.unref();
  }

  private flush(): Promise<void> {
    if (this.closed) return this.writing;
    this.writing = this.writing
      .then(async () => {
        if (this.closed) return;
        this.status.updatedAt = new Date().toISOString();
        await writeFileAtomic(this.file, `${JSON.stringify(this.status, null, 2)}\n`);
      })
      .catch(() => undefined);
    return this.writing;
  }
}

/**
 * Status files of the daemons running on this checkout. A file left by a process that is gone (kill -9)
 * is removed as it is found; files of other hosts are kept and returned (nobody here can tell).
 */
export async function readDaemonStatuses(paths: Paths): Promise<DaemonStatus[]> {
  let names: string[];
  try {
    names = await readdir(paths.daemons);
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return [];
    throw err;
  }
  const found: DaemonStatus[] = [];
  for (const name of names.filter((n) => /^\d+\.json$/.test(n)).sort()) {
    const file = join(paths.daemons, name);
    let status: DaemonStatus;
    try {
      status = JSON.parse(await readFile(file, 'utf8')) as DaemonStatus;
    } catch {
      continue; // gone meanwhile; writes are atomic, so never half a file
    }
    // After a reboot the pid may belong to another program: never report (or signal) that as a daemon.
    if (status.host === hostname() && !nightshiftAlive(status.pid)) {
      await rm(file, { force: true });
      continue;
    }
    found.push(status);
  }
  return found;
}
