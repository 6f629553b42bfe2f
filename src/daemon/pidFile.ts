import { readFile, rm } from 'node:fs/promises';
import { UsageError, hasCode } from '../errors.js';
import type { Paths } from '../paths.js';
import { withEditLock } from '../locks/claims.js';
import { nightshiftAlive } from '../locks/pids.js';
import { writeFileAtomic } from '../util/atomic.js';

export interface PidFileHold {
  /** Whether this process owns .nightshift/daemon.pid (false: an extra daemon started with --allow-multiple). */
  primary: boolean;
  release(): Promise<void>;
}

/** The pid in .nightshift/daemon.pid if that process is a live nightshift, else undefined. */
export async function liveDaemonPid(paths: Paths): Promise<number | undefined> {
  const pid = await readPid(paths.pidFile);
  return pid !== undefined && nightshiftAlive(pid) ? pid : undefined;
}

async function readPid(file: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(file, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return undefined;
    throw err;
  }
}

/**
 * Takes .nightshift/daemon.pid for this process. Check and write happen under a lock, so of two daemons
 * starting at once exactly one gets it; a pid file whose process is gone (kill -9, reboot) is taken over.
 * Another live daemon refuses the start unless `allowMultiple`, which runs this one beside it.
 */
export async function acquirePidFile(paths: Paths, allowMultiple: boolean): Promise<PidFileHold> {
  const primary = await withEditLock(paths.state, 'daemon.pid', async () => {
    const other = await liveDaemonPid(paths);
    if (other !== undefined && other !== process.pid) {
      if (!allowMultiple) {
        throw new UsageError(
          `a nightshift daemon is already running on this checkout (pid ${other})`,
          'nightshift daemon status shows what it does; nightshift daemon stop stops it; --allow-multiple runs another one beside it',
        );
      }
      return false;
    }
    await writeFileAtomic(paths.pidFile, `${process.pid}\n`);
    return true;
  });
  let released = false;
  return {
    primary,
    async release() {
      if (released || !primary) return;
      released = true;
      await withEditLock(paths.state, 'daemon.pid', async () => {
        if ((await readPid(paths.pidFile)) === process.pid) await rm(paths.pidFile, { force: true });
      });
    },
  };
}
