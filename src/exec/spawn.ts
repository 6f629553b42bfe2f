import { execa, type Options } from 'execa';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { hasCode } from '../errors.js';

export interface SpawnRequest {
  argv: [string, ...string[]];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Transcript file: stdout and stderr are appended here as they come, never held in memory. */
  logFile: string;
  /** The child reads this file on stdin; without it, stdin is /dev/null (an agent waiting for input would hang). */
  stdinFile?: string;
  timeoutMs: number;
  /** No new output for this long = stalled. */
  stallTimeoutMs?: number;
  /** Called with the child's process group id as soon as it runs (for cancel and crash recovery). */
  onStart?: (pgid: number) => void;
  /** Aborting stops the process group the same way a timeout does. */
  signal?: AbortSignal;
}

export type SpawnOutcome =
  | { kind: 'exited'; code: number; durationMs: number }
  | { kind: 'signalled'; signal: string; durationMs: number }
  | { kind: 'timed-out'; limit: 'timeout' | 'stall'; afterMs: number; durationMs: number }
  | { kind: 'aborted'; durationMs: number }
  | { kind: 'not-found'; message: string; durationMs: number };

/** Process groups this process started and that may still run: killed on a forced exit. */
const liveGroups = new Set<number>();

/** For a forced exit: SIGKILL every process group we started (detached groups outlive us otherwise). */
export function killAllGroups(): void {
  for (const pgid of liveGroups) signalGroup(pgid, 'SIGKILL');
  liveGroups.clear();
}

/** Grace between SIGTERM and SIGKILL when stopping a process group. */
export const KILL_GRACE_MS = 3000;

/**
 * Runs one command in its own process group. execa only signals its direct child, and agents spawn
 * grandchildren (shells, test runners, language servers) that would outlive it and keep the transcript
 * open; signalling the negative pid reaches the whole group.
 */
export async function spawnLogged(req: SpawnRequest): Promise<SpawnOutcome> {
  const started = Date.now();
  const log = await open(req.logFile, 'a');
  const input = req.stdinFile === undefined ? undefined : await open(req.stdinFile, 'r').catch(async (err: unknown) => {
    await log.close();
    throw err;
  });
  let stop: { reason: 'timeout' | 'stall' | 'abort'; at: number } | undefined;
  const timers: NodeJS.Timeout[] = [];
  try {
    const [file, ...args] = req.argv;
    const argv: string[] = args;
    const options = {
      cwd: req.cwd,
      env: req.env ?? process.env,
      extendEnv: false,
      // The child writes straight into the transcript's descriptor: no pipe through this process. (execa's
      // types accept only literal descriptor numbers; any open descriptor works at run time.)
      stdio: [(input?.fd ?? 'ignore') as 'ignore', log.fd as 3, log.fd as 3],
      detached: true,
      reject: false,
      cleanup: true,
    } satisfies Options;
    const child = execa(file, argv, options);
    const pid = child.pid;
    if (pid !== undefined) {
      liveGroups.add(pid);
      req.onStart?.(pid);
    }

    const stopGroup = (reason: 'timeout' | 'stall' | 'abort') => {
      if (stop || pid === undefined) return;
      stop = { reason, at: Date.now() };
      signalGroup(pid, 'SIGTERM');
      timers.push(setTimeout(() => signalGroup(pid, 'SIGKILL'), KILL_GRACE_MS).unref());
    };
    timers.push(setTimeout(() => stopGroup('timeout'), req.timeoutMs).unref());
    if (req.stallTimeoutMs !== undefined) {
      const stallMs = req.stallTimeoutMs;
      let lastSize = -1;
      let lastChange = Date.now();
      const every = Math.max(200, Math.min(5000, Math.floor(stallMs / 4)));
      timers.push(
        setInterval(() => {
          stat(req.logFile).then(
            (s) => {
              if (s.size !== lastSize) {
                lastSize = s.size;
                lastChange = Date.now();
              } else if (Date.now() - lastChange >= stallMs) stopGroup('stall');
            },
            () => undefined,
          );
        }, every).unref(),
      );
    }
    const onAbort = () => stopGroup('abort');
    if (req.signal?.aborted) onAbort();
    req.signal?.addEventListener('abort', onAbort, { once: true });

    const result = await child;
    req.signal?.removeEventListener('abort', onAbort);
    // The direct child is gone; anything it left behind in its group goes too.
    if (pid !== undefined) {
      await reapGroup(pid);
      liveGroups.delete(pid);
    }
    const durationMs = Date.now() - started;

    if (stop) {
      if (stop.reason === 'abort') return { kind: 'aborted', durationMs };
      return { kind: 'timed-out', limit: stop.reason, afterMs: stop.reason === 'timeout' ? req.timeoutMs : (req.stallTimeoutMs ?? 0), durationMs };
    }
    const failure = result as { code?: string; exitCode?: number; signal?: string; originalMessage?: string };
    if (failure.code === 'ENOENT') return { kind: 'not-found', message: `command not found: ${file}`, durationMs };
    if (failure.exitCode !== undefined) return { kind: 'exited', code: failure.exitCode, durationMs };
    if (failure.signal) return { kind: 'signalled', signal: failure.signal, durationMs };
    return { kind: 'exited', code: 0, durationMs };
  } finally {
    for (const t of timers) clearTimeout(t);
    await input?.close();
    await log.close();
  }
}

export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if (hasCode(err, 'ESRCH')) return false;
    throw err;
  }
}

/**
 * Whether any live (non-zombie) process is left in the group. kill(-pgid, 0) alone is fooled by zombies,
 * which linger wherever PID 1 is slow to reap orphans (containers), so on Linux read /proc.
 */
async function groupAlive(pgid: number): Promise<boolean> {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    return !hasCode(err, 'ESRCH');
  }
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  } catch {
    return true;
  }
  for (const pid of pids) {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      // "pid (comm) state ppid pgrp ...": comm may hold spaces and parens, so split after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
    } catch {
      // the process ended while we looked
    }
  }
  return false;
}

/** SIGTERM what is left of a process group, then SIGKILL whatever ignores it. */
async function reapGroup(pgid: number): Promise<void> {
  if (!signalGroup(pgid, 'SIGTERM')) return;
  const deadline = Date.now() + KILL_GRACE_MS;
  while (Date.now() < deadline) {
    if (!(await groupAlive(pgid))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  signalGroup(pgid, 'SIGKILL');
}
