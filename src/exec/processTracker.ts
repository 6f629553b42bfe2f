import { closeSync, openSync, readdirSync, readlinkSync, readSync, realpathSync } from 'node:fs';

/**
 * Every process a step started, so none outlives it. Killing the step's process group is not enough: a
 * child can leave the group (setsid), drop NIGHTSHIFT_WORKTREE from its environment (which orphans.ts
 * looks for), or double-fork so that its parent is gone before anyone looks. While a step runs, /proc is
 * read now and then; a process started since the step began belongs to it when it is in the step's
 * process group or session, when its parent belongs to it, or when its working folder is inside the
 * worktree. When the step ends, whatever belongs to it and still runs is killed. Linux only (/proc);
 * elsewhere the process group has to do. A process that leaves the worktree, leaves the session and
 * loses its parent between two looks escapes: only a sandbox (cgroups) closes that.
 */

/**
 * How often running steps look at /proc, at most. One look reads every process's stat file: about 25 µs
 * a process (4 ms for 120 processes, 28 ms for 1,100 on a small VM), so the pause after a look is at
 * least COST_FACTOR times what it took: scanning never costs more than 2% of a core.
 */
export const POLL_MS = 500;
const COST_FACTOR = 50;
/** Rounds of look-and-kill at the end: a process may fork while its siblings are being killed. */
const MAX_SWEEPS = 20;

interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  sid: number;
  /** Start time in clock ticks since boot: with the pid, it tells a process from a later one reusing its pid. */
  start: number;
  zombie: boolean;
}

const statBuffer = Buffer.alloc(4096);

/** One process's stat line, or undefined when it is gone. Synchronous: ~20 µs a process, no promise per file. */
function readProc(pid: number): ProcInfo | undefined {
  let text: string;
  try {
    const fd = openSync(`/proc/${pid}/stat`, 'r');
    try {
      text = statBuffer.toString('latin1', 0, readSync(fd, statBuffer, 0, statBuffer.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid pgrp session ... starttime(22nd)": comm may hold spaces and parens.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  return {
    pid,
    ppid: Number(fields[1]),
    pgrp: Number(fields[2]),
    sid: Number(fields[3]),
    start: Number(fields[19]),
    zombie: state === 'Z' || state === 'X',
  };
}

function scanProcs(): ProcInfo[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const procs: ProcInfo[] = [];
  for (const name of names) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const info = readProc(pid);
    if (info && !info.zombie) procs.push(info);
  }
  return procs;
}

function cwdOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

/** Trackers of the steps running now: one /proc scan per tick serves them all. */
const active = new Set<ProcessTracker>();
let timer: NodeJS.Timeout | undefined;

function tick(): void {
  timer = undefined;
  if (active.size === 0) return;
  const started = performance.now();
  const procs = scanProcs();
  for (const tracker of active) tracker.observe(procs);
  schedule(Math.max(POLL_MS, (performance.now() - started) * COST_FACTOR));
}

function schedule(delayMs: number): void {
  timer ??= setTimeout(tick, delayMs).unref();
}

export class ProcessTracker {
  private leader: ProcInfo | undefined;
  /** pid -> start time of every process found to belong to the step. */
  private readonly members = new Map<number, number>();
  private readonly folders: string[];

  constructor(worktree: string) {
    let real = worktree;
    try {
      real = realpathSync(worktree);
    } catch {
      // compared as given
    }
    this.folders = [...new Set([worktree, real])];
  }

  /** Starts watching once the step's first process runs (its pid is its process group and session). */
  start(pid: number): void {
    const leader = readProc(pid);
    if (!leader) return;
    this.leader = leader;
    this.members.set(pid, leader.start);
    active.add(this);
    schedule(POLL_MS);
  }

  /** Adds the processes of one /proc scan that belong to the step. */
  observe(procs: ProcInfo[]): void {
    const leader = this.leader;
    if (!leader) return;
    // Oldest first, so parents are seen before their children; repeated while it finds more (ties).
    const fresh = procs.filter((p) => p.start >= leader.start && p.pid !== process.pid && this.members.get(p.pid) !== p.start);
    fresh.sort((a, b) => a.start - b.start);
    let found = true;
    while (found) {
      found = false;
      for (const p of fresh) {
        if (this.members.get(p.pid) === p.start) continue;
        const parent = this.members.get(p.ppid);
        if (p.pgrp === leader.pid || p.sid === leader.pid || (parent !== undefined && parent <= p.start) || this.inWorktree(p.pid)) {
          this.members.set(p.pid, p.start);
          found = true;
        }
      }
    }
  }

  private inWorktree(pid: number): boolean {
    const cwd = cwdOf(pid);
    return cwd !== undefined && this.folders.some((dir) => cwd === dir || cwd.startsWith(`${dir}/`));
  }

  /**
   * The step ended: stop watching, then kill every process that belongs to it and still runs, looking
   * again after each round for what they started meanwhile. Returns how many were killed.
   */
  async finish(): Promise<number> {
    active.delete(this);
    if (active.size === 0 && timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (!this.leader) return 0;
    const killed = new Set<number>();
    for (let round = 0; round < MAX_SWEEPS; round++) {
      this.observe(scanProcs());
      let left = 0;
      for (const [pid, start] of this.members) {
        const now = readProc(pid);
        // Gone, or its pid now belongs to another process: nothing of ours to kill.
        if (!now || now.zombie || now.start !== start) {
          this.members.delete(pid);
          continue;
        }
        try {
          process.kill(pid, 'SIGKILL');
          killed.add(pid);
          left++;
        } catch {
          this.members.delete(pid);
        }
      }
      if (left === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    return killed.size;
  }
}
