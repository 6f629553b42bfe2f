import { oneLine } from '../errors.js';
import { claimInfo } from '../fleet/claimInfo.js';
import { fetchFleet, readMirror } from '../fleet/fetch.js';
import { fleetViewFile } from '../fleet/fleet.js';
import { table } from './list.js';
import { openFleetRepo } from './fleetRepo.js';
import type { Output } from './output.js';

/**
 * `fleet status`: the machines and what each holds, each claim's last renewal, the expired ones, and how
 * many tasks the fleet settled. Expiry is the judgement of this checkout's running daemon (its own clock);
 * without one it is left open, since no wall clock is trusted.
 */
export async function fleetStatus(opts: { cwd: string; json?: boolean }, io: Output): Promise<number> {
  const { paths, rules, git, base } = await openFleetRepo(opts.cwd, 'fleet status');
  const fetched = await fetchFleet(git, rules.remote, base, rules.queue.refPrefix);
  if (fetched.kind === 'failed') io.err(`cannot reach ${rules.remote} (${oneLine(fetched.message, 200)}); showing what was last fetched\n`);
  const view = fetched.kind === 'ok' ? fetched.view : await readMirror(git, `refs/remotes/${rules.remote}/${base}`);
  const claims = await claimInfo(git, fleetViewFile(paths));
  const settled: Record<string, number> = {};
  for (const s of view.statuses.values()) settled[s.status] = (settled[s.status] ?? 0) + 1;
  const machines = [...new Set(claims.map((c) => c.machine))].map((machine) => ({
    machine,
    holds: claims.filter((c) => c.machine === machine).map((c) => c.task),
  }));
  const expired = claims.filter((c) => c.expired).map((c) => c.task);
  if (opts.json) {
    io.out(
      `${JSON.stringify({ remote: rules.remote, base, lease_ttl_ms: rules.queue.leaseTtlMs, machines, claims, expired, settled }, null, 2)}\n`,
    );
    return 0;
  }
  const counts = Object.entries(settled).map(([s, n]) => `${n} ${s}`);
  io.out(
    `${rules.remote}/${base}: ${claims.length} claim(s) held by ${machines.length} machine(s); settled: ${counts.join(', ') || 'none'}\n`,
  );
  if (claims.length > 0) {
    const age = (ms: number | undefined) => (ms === undefined ? '-' : `${Math.round(ms / 1000)}s`);
    const rows = claims.map((c) => [
      c.machine,
      c.task,
      `${c.pid}`,
      c.renewedAt,
      age(c.unchangedMs),
      c.expired === undefined ? '?' : c.expired ? 'expired' : 'live',
    ]);
    io.out(table(['MACHINE', 'TASK', 'PID', 'RENEWED (holder clock)', 'UNCHANGED', 'STATE'], rows));
  }
  if (expired.length > 0) io.out(`expired (not renewed for lease_ttl): ${expired.join(', ')}\n`);
  return 0;
}
