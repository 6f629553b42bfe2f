import { readFileSync } from 'node:fs';
import { hasCode } from '../errors.js';

/**
 * Whether a process with this pid is alive. A zombie counts as dead: it lingers wherever PID 1 is slow to
 * reap orphans (containers), and a killed daemon's pid must not keep its locks and pid file.
 */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return !hasCode(err, 'ESRCH');
  }
  const state = procState(pid);
  return state !== 'Z' && state !== 'X' && state !== 'gone';
}

function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch (err) {
    // No /proc (macOS): kill(pid, 0) has to do. On Linux ENOENT means it ended while we looked.
    if (hasCode(err, 'ENOENT') && process.platform === 'linux') return 'gone';
    return undefined;
  }
}

/**
 * Whether `pid` is alive and still a nightshift process: after a reboot the pid in a stale pid file may
 * belong to something else.
 */
export function nightshiftAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  if (!pidAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('nightshift');
  } catch {
    return true;
  }
}
