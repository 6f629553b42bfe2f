import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { onCleanup } from './cleanup.mjs';

export const BIN = resolve(import.meta.dirname, '../../bin/nightshift.js');

export class BenchError extends Error {}

/**
 * Runs a command to completion and times it from spawn to the close of its output (what a user waits
 * for). Own process group, so Ctrl-C reaches the bench first and cleanup can kill the whole group.
 */
export function runTimed(cmd, args, { cwd, env, timeoutMs, phase }) {
  return new Promise((done, fail) => {
    const started = performance.now();
    const child = spawn(cmd, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const unregister = onCleanup(() => killGroup(child.pid, 'SIGKILL'));
    const out = [];
    const err = [];
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    const timer = setTimeout(() => {
      killGroup(child.pid, 'SIGKILL');
      fail(
        new BenchError(
          `${phase}: timed out after ${Math.round(timeoutMs / 1000)} s (${cmd} ${args.join(' ')})\n${tail(Buffer.concat(err).toString())}`,
        ),
      );
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      unregister();
      fail(new BenchError(`${phase}: could not start ${cmd}: ${e.message}`));
    });
    child.once('close', (code, signal) => {
      const ms = performance.now() - started;
      clearTimeout(timer);
      unregister();
      done({ code: code ?? 128, signal, ms, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

export function cli(sb, args, { timeoutMs = 600_000, phase }) {
  return runTimed(process.execPath, [BIN, ...args], {
    cwd: sb.repo,
    env: sb.env,
    timeoutMs,
    phase: phase ?? `nightshift ${args.join(' ')}`,
  });
}

/** Like runTimed, but a non-zero exit is an error: the figure would be a fast wrong result. */
export async function mustRun(cmd, args, opts) {
  const r = await runTimed(cmd, args, opts);
  if (r.code !== 0) throw new BenchError(`${opts.phase}: ${cmd} ${args.join(' ')} exited ${r.code}\n${tail(r.stdout)}${tail(r.stderr)}`);
  return r;
}

/**
 * A foreground daemon (`nightshift daemon start ...`) as a direct child: its pid is the node process
 * that runs the daemon (no npx or shell in between), so /proc/<pid> figures are the daemon's own.
 */
export function startDaemonProcess(sb, args) {
  const child = spawn(process.execPath, [BIN, 'daemon', 'start', ...args], {
    cwd: sb.repo,
    env: sb.env,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const err = [];
  child.stderr.on('data', (b) => err.push(b));
  let exit;
  const exited = new Promise((done) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      done(exit);
    });
    child.once('error', (e) => {
      exit = { code: 127, signal: null, error: e };
      done(exit);
    });
  });
  const unregister = onCleanup(() => killGroup(child.pid, 'SIGKILL'));
  return {
    pid: child.pid,
    exited,
    get exit() {
      return exit;
    },
    stderr: () => tail(Buffer.concat(err).toString()),
    /** Graceful stop (SIGTERM), then SIGKILL to the group if it has not exited within graceMs. */
    async stop(graceMs = 20_000) {
      if (!exit) {
        killGroup(child.pid, 'SIGTERM', true);
        const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      unregister();
      return exit;
    },
  };
}

function killGroup(pid, signal, leaderOnly = false) {
  if (!pid) return;
  try {
    // SIGTERM goes to the daemon alone (it stops its executors itself); SIGKILL to the whole group.
    process.kill(leaderOnly ? pid : -pid, signal);
  } catch {
    // already gone
  }
}

/** utime, stime, cutime, cstime of a live process, in clock ticks (/proc/<pid>/stat fields 14 to 17). */
export function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const f = (n) => Number(rest[n - 3]);
  return { utime: f(14), stime: f(15), cutime: f(16), cstime: f(17) };
}

/** Peak resident set size (VmHWM) of a live process, in MB. */
export function peakRssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmHWM:\s+(\d+) kB/m.exec(status);
  if (!m) throw new BenchError(`no VmHWM in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

let ticks;
export function clockTicks() {
  ticks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticks;
}

export function tail(text, lines = 15) {
  const t = text.trimEnd().split('\n').slice(-lines).join('\n');
  return t ? `${t}\n` : '';
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
