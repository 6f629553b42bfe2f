import { spawn } from 'node:child_process';
import { open, readdir, readFile } from 'node:fs/promises';
import { hasCode, toError } from '../errors.js';
import { Transcript, type TranscriptLimits } from './transcript.js';

export interface SpawnRequest {
  argv: [string, ...string[]];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Transcript file: stdout and stderr are appended here, masked and capped, as they come (see Transcript). */
  logFile: string;
  /** The child reads this file on stdin (through a pipe); without it, stdin is /dev/null (an agent waiting for input would hang). */
  stdinFile?: string;
  timeoutMs: number;
  /** No new output for this long = stalled. */
  stallTimeoutMs?: number;
  /** Called with the child's process group id as soon as it runs (for cancel and crash recovery). */
  onStart?: (pgid: number) => void;
  /** Aborting stops the process group the same way a timeout does. */
  signal?: AbortSignal;
  /** The transcript's caps; the defaults in normal use (tests set small ones). */
  limits?: TranscriptLimits;
  /**
   * The child's exit ends everything it started (bwrap: its PID namespace dies with it). What is left of
   * the group is only exiting (the namespace's init tears it down, tens of ms): SIGKILLed, not waited for.
   */
  groupEndsWithChild?: boolean;
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
 * How long the pipes may stay open once the group is gone: only a process that left the group (setsid)
 * still holds them, and its output no longer belongs to this step.
 */
const PIPE_GRACE_MS = 1000;

/**
 * Runs one command in its own process group. Signalling the negative pid reaches the whole group: agents
 * spawn grandchildren (shells, test runners, language servers) that would outlive a signal to the child
 * alone. Its stdout and stderr are pipes read by this process into the transcript (see Transcript): the
 * child never holds the transcript's descriptor, so it cannot write around the masking and caps, nor
 * learn the file's path through /proc/self/fd.
 */
export async function spawnLogged(req: SpawnRequest): Promise<SpawnOutcome> {
  const started = Date.now();
  const transcript = await Transcript.open(req.logFile, [process.env, req.env ?? {}], req.limits);
  const input =
    req.stdinFile === undefined
      ? undefined
      : await open(req.stdinFile, 'r').catch(async (err: unknown) => {
          await transcript.close();
          throw err;
        });
  let stop: { reason: 'timeout' | 'stall' | 'abort'; at: number } | undefined;
  const timers: NodeJS.Timeout[] = [];
  try {
    const [file, ...args] = req.argv;
    // stdin is a pipe fed from the file too: a descriptor of the file itself would name its path in /proc/self/fd.
    const child = spawn(file, args, {
      cwd: req.cwd,
      env: req.env ?? process.env,
      stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: true,
    });
    if (input && child.stdin) {
      const feed = input.createReadStream({ autoClose: false });
      // A child that exits (or closes stdin) without reading it all is no error of ours.
      child.stdin.on('error', () => undefined);
      feed.on('error', () => child.stdin?.destroy());
      feed.pipe(child.stdin);
      child.once('exit', () => feed.destroy());
    }
    const streams = [child.stdout, child.stderr].filter((s) => s !== null);
    const drained = Promise.all(streams.map((s) => transcript.drain(s)));
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null } | { error: Error }>((resolve) => {
      child.once('error', (err) => resolve({ error: err }));
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
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
      const every = Math.max(200, Math.min(5000, Math.floor(stallMs / 4)));
      timers.push(
        setInterval(() => {
          if (Date.now() - transcript.lastDataAt >= stallMs) stopGroup('stall');
        }, every).unref(),
      );
    }
    const onAbort = () => stopGroup('abort');
    if (req.signal?.aborted) onAbort();
    req.signal?.addEventListener('abort', onAbort, { once: true });

    const result = await ended;
    req.signal?.removeEventListener('abort', onAbort);
    // The direct child is gone; anything it left behind in its group goes too.
    if (pid !== undefined) {
      if (req.groupEndsWithChild) signalGroup(pid, 'SIGKILL');
      else await reapGroup(pid);
      liveGroups.delete(pid);
    }
    // What the group wrote before it ended is read to the end; a process outside it keeps the pipe no longer.
    const grace = new Promise<'late'>((resolve) => timers.push(setTimeout(() => resolve('late'), PIPE_GRACE_MS).unref()));
    if ((await Promise.race([drained, grace])) === 'late') for (const s of streams) s.destroy();
    await drained;
    const durationMs = Date.now() - started;

    if (stop) {
      if (stop.reason === 'abort') return { kind: 'aborted', durationMs };
      return {
        kind: 'timed-out',
        limit: stop.reason,
        afterMs: stop.reason === 'timeout' ? req.timeoutMs : (req.stallTimeoutMs ?? 0),
        durationMs,
      };
    }
    if ('error' in result) {
      if (hasCode(result.error, 'ENOENT')) return { kind: 'not-found', message: `command not found: ${file}`, durationMs };
      // It could not start at all (not executable, ...): the shell's code for that, and why.
      await appendNote(req.logFile, `nightshift: could not start ${file}: ${toError(result.error).message}`);
      return { kind: 'exited', code: 126, durationMs };
    }
    if (result.code !== null) return { kind: 'exited', code: result.code, durationMs };
    if (result.signal) return { kind: 'signalled', signal: result.signal, durationMs };
    return { kind: 'exited', code: 0, durationMs };
  } finally {
    for (const t of timers) clearTimeout(t);
    await input?.close();
    await transcript.close();
  }
}

async function appendNote(file: string, text: string): Promise<void> {
  const handle = await open(file, 'a');
  try {
    await handle.write(`${text}\n`);
  } finally {
    await handle.close();
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
