import { hostname } from 'node:os';
import { loadRules } from '../config/rules.js';
import { pidAlive } from '../locks/pids.js';
import { formatDuration } from '../util/duration.js';
import { liveDaemons } from './daemonStatus.js';
import type { Output } from './output.js';

/** How long `daemon stop` waits beyond the grace period for the daemons to exit. */
const STOP_MARGIN_MS = 60_000;

/**
 * `daemon stop`: asks every daemon of this checkout on this host to stop gracefully (SIGTERM) and waits
 * until they have exited. --force, or a stop while they are already stopping, stops them now (SIGUSR2).
 */
export async function stopDaemons(opts: { cwd: string; force?: boolean }, io: Output): Promise<number> {
  const { paths, statuses, pids } = await liveDaemons(opts.cwd);
  const elsewhere = statuses.filter((s) => s.host !== hostname());
  for (const s of elsewhere) io.err(`nightshift: daemon ${s.pid} runs on ${s.host}; stop it there\n`);
  if (pids.length === 0) {
    io.out('nightshift: no daemon is running on this checkout\n');
    return 0;
  }
  const grace = await loadRules(paths.rules).then(
    (r) => r.stopGraceMs,
    () => 10_000,
  );
  for (const pid of pids) {
    const stopping = statuses.find((s) => s.pid === pid)?.state === 'stopping';
    const now = opts.force || stopping;
    try {
      process.kill(pid, now ? 'SIGUSR2' : 'SIGTERM');
    } catch {
      continue; // exited meanwhile
    }
    io.out(
      now
        ? `nightshift: stopping daemon ${pid} now\n`
        : `nightshift: stopping daemon ${pid} (running attempts get ${formatDuration(grace)} to finish)\n`,
    );
  }
  const deadline = Date.now() + (opts.force ? 0 : grace) + STOP_MARGIN_MS;
  while (pids.some(pidAlive)) {
    if (Date.now() > deadline) {
      io.err(
        `nightshift: still stopping: ${pids.filter(pidAlive).join(', ')}\n  hint: nightshift daemon stop --force stops running attempts at once\n`,
      );
      return 1;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  io.out('nightshift: stopped\n');
  return 0;
}
