import { describe, expect, it } from 'vitest';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { makeFleet, type Fleet } from '../helpers/fleet.js';
import { waitFor } from '../helpers/wait.js';

const left = cleanUpAfterEach();

const ids = (n: number, prefix = 't') => Array.from({ length: n }, (_, i) => `${String(i + 1).padStart(3, '0')}-${prefix}`);

/** Small leases and polls: a takeover takes seconds, not minutes. */
const rules = (push: 'branch' | 'land', ttl = '4s') =>
  ['base: main', `push: ${push}`, 'queue: remote', `lease_ttl: ${ttl}`, 'queue_poll: 300ms', 'concurrency: 2', 'max_attempts: 2'].join(
    '\n',
  );

async function allSettled(fleet: Fleet, n: number, timeoutMs: number): Promise<void> {
  await waitFor(`${n} statuses on the remote`, async () => (await fleet.statuses()).size >= n, timeoutMs);
}

/** Every task done once: one status each, one executor run each (the ledger), one trailer commit each. */
async function expectExactlyOnce(fleet: Fleet, tasks: string[]): Promise<void> {
  const statuses = await fleet.statuses();
  expect([...statuses.keys()].sort()).toEqual(tasks);
  expect([...statuses.values()].every((s) => s.status === 'done')).toBe(true);
  const trailers = await fleet.trailerCommits();
  for (const id of tasks) expect(trailers.get(id), `trailer commits of ${id}`).toBe(1);
  const claims = await fleet.remoteGit(['for-each-ref', 'refs/nightshift/claims/']);
  expect(claims.trim()).toBe('');
}

describe('a fleet of machines on one remote queue', () => {
  it('runs each task exactly once across three machines', async () => {
    const tasks = ids(Number(process.env.FLEET_TASKS ?? 60));
    const fleet = await makeFleet(left, { machines: 3, rules: rules('branch'), tasks: tasks.map((id) => ({ id })) });
    for (const m of fleet.machines) m.start();
    await allSettled(fleet, tasks.length, 400_000);
    for (const m of fleet.machines) await m.stop();
    await expectExactlyOnce(fleet, tasks);
    const runs = (await fleet.ledgerLines()).map((l) => l.split(' ')[0]);
    expect(runs.sort()).toEqual(tasks);
    // Each machine took part.
    const byMachine = fleet.machines.map((m) =>
      (fleet.ledgerLines as () => Promise<string[]>)().then((ls) => ls.filter((l) => l.includes(`/${m.name}-cache/`)).length),
    );
    for (const count of await Promise.all(byMachine)) expect(count).toBeGreaterThan(0);
  });
});
