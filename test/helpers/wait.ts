import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { randomInt } from 'node:crypto';
import { BIN, type CliResult, type Sandbox } from './repo.js';

/**
 * Polls `probe` until it returns something other than undefined/false, or fails after `timeoutMs` with a
 * message naming what we waited for. For waiting on a background process; never a fixed sleep.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface Background {
  child: ChildProcess;
  /** Resolves when the process has exited, with its exit code and all its output. */
  exited: Promise<CliResult>;
}

/**
 * Waits for a background process to exit, reading its peak resident set (VmHWM, kB) from /proc every
 * `everyMs` meanwhile: the last reading before it exits is its peak over the whole run.
 */
export async function exitedWithPeakRss(bg: Background, everyMs: number): Promise<{ run: CliResult; peakKb: number }> {
  const pid = bg.child.pid as number;
  let peakKb = 0;
  let running = true;
  const watch = (async () => {
    while (running) {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  const run = await bg.exited;
  running = false;
  await watch;
  return { run, peakKb };
}

/** Starts the built CLI in the background (in the sandbox's repo unless cwd is given). */
export function spawnCli(sb: Sandbox, args: string[], cwd = sb.repo): Background {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: sb.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
  return { child, exited };
}

/**
 * A number no other process on the machine has in its command line: `sleep <marker>` sleeps about that
 * many seconds, and /proc tells us whether such a sleep is still alive.
 */
export function sleepMarker(seconds: number): string {
  return `${seconds}.${randomInt(100_000, 999_999)}${randomInt(100_000, 999_999)}`;
}

/** Pids of live (non-zombie) processes whose command line contains `marker`. Linux /proc. */
export async function livePidsMatching(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmdline = (await readFile(`/proc/${name}/cmdline`, 'utf8')).split('\0').join(' ');
      if (!cmdline.includes(marker)) continue;
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
      if (state !== 'Z' && state !== 'X') pids.push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** Kills leftovers a failing test would otherwise leave behind (only processes carrying our marker). */
export async function killMatching(marker: string): Promise<void> {
  for (const pid of await livePidsMatching(marker)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
