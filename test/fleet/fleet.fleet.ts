import { describe, expect, it } from 'vitest';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { makeFleet, type Fleet } from '../helpers/fleet.js';
import { waitFor } from '../helpers/wait.js';
import { startLink } from '../helpers/gitDaemon.js';

const left = cleanUpAfterEach();

const ids = (n: number, prefix = 't') => Array.from({ length: n }, (_, i) => `${String(i + 1).padStart(3, '0')}-${prefix}`);

/**
 * Small leases and polls: a takeover takes seconds, not minutes. The executors append to a ledger outside
 * their worktrees, which the sandbox would hide: the fleet runs unsandboxed.
 */
const rules = (push: 'branch' | 'land', concurrency = 2) =>
  [
    'base: main',
    'sandbox: none',
    `push: ${push}`,
    'queue: remote',
    'lease_ttl: 4s',
    'queue_poll: 300ms',
    `concurrency: ${concurrency}`,
    'max_attempts: 2',
  ].join('\n');

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
    const lines = await fleet.ledgerLines();
    for (const m of fleet.machines) expect(ranOn(lines, m.name).length, `tasks run on ${m.name}`).toBeGreaterThan(0);
  });
});

/** Progress lines of one event in a machine's progress.txt. */
async function progressOf(fleet: Fleet, machine: number, event: string): Promise<string[]> {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(`${fleet.machines[machine]?.clone}/progress.txt`, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.split(' ')[2] === event);
}

/** A machine's fleet name (the claim and status records' holder starts with it). */
async function machineId(fleet: Fleet, machine: number): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return (await readFile(`${fleet.machines[machine]?.clone}/.nightshift/machine-id`, 'utf8')).trim();
}

/** The task ids whose executor ran on machine `name`, in ledger order. */
const ranOn = (lines: string[], name: string) => lines.filter((l) => l.includes(`/${name}-cache/`)).map((l) => l.split(' ')[0] as string);

describe('a machine lost mid-run', () => {
  it('is killed with kill -9: its claims are taken over after lease_ttl and each task is done exactly once', async () => {
    const tasks = ids(18);
    const fleet = await makeFleet(left, {
      machines: 3,
      rules: rules('branch'),
      tasks: tasks.map((id) => ({ id, then: `sleep 2 && echo ${id} > ${id}.txt` })),
    });
    for (const m of fleet.machines) m.start();
    // m0 is in the middle of a task: its executor has started and the task has no status yet.
    const victim = await waitFor(
      'm0 running a task',
      async () => {
        const running = ranOn(await fleet.ledgerLines(), 'm0');
        const statuses = await fleet.statuses();
        return running.find((id) => !statuses.has(id));
      },
      120_000,
    );
    await fleet.machines[0]?.kill9();
    await allSettled(fleet, tasks.length, 300_000);
    for (const m of fleet.machines.slice(1)) await m.stop();
    await expectExactlyOnce(fleet, tasks);
    const lines = await fleet.ledgerLines();
    // The victim's task ran twice (killed once, then taken over); every other task ran once, apart from at
    // most the one other task m0 held at the time (concurrency 2).
    expect(lines.filter((l) => l.startsWith(`${victim} `))).toHaveLength(2);
    const twice = tasks.filter((id) => lines.filter((l) => l.startsWith(`${id} `)).length > 1);
    expect(twice.length).toBeLessThanOrEqual(2);
    expect(twice).toContain(victim);
    const takeovers = [...(await progressOf(fleet, 1, 'taken-over')), ...(await progressOf(fleet, 2, 'taken-over'))].map(
      (l) => l.split(' ')[1],
    );
    // Every task that ran twice was taken over; the takeovers were of what m0 held (one may not have started).
    for (const id of twice) expect(takeovers).toContain(id);
    expect(takeovers.length).toBeLessThanOrEqual(2);
    expect((await fleet.statuses()).get(victim)?.holder.startsWith(`${await machineId(fleet, 0)}:`)).toBe(false);
  });

  it('is cut off from the remote: its lease expires, another machine takes over, and it publishes nothing when it is back', async () => {
    // The first run of the task hangs (the cut-off machine's); the second finishes at once.
    const ledgerCount = (id: string) => `$(grep -c '^${id} ' {ledger})`;
    const fleet = await makeFleet(left, {
      machines: 2,
      rules: rules('branch'),
      tasks: [{ id: '001-cut', then: `if [ ${ledgerCount('001-cut')} -lt 2 ]; then sleep 300; fi; echo cut > cut.txt` }],
    });
    const [m0, m1] = fleet.machines as [Fleet['machines'][0], Fleet['machines'][0]];
    const link = await startLink(fleet.server);
    left.defer(() => link.cut());
    await m1.git(['remote', 'set-url', 'origin', link.url('remote.git')]);
    m1.start();
    await waitFor('m1 running 001-cut', async () => ranOn(await fleet.ledgerLines(), 'm1').length === 1, 60_000);
    // The partition: m1 reaches the server through a relay, which now refuses every connection.
    await link.cut();
    m0.start();
    await allSettled(fleet, 1, 120_000);
    expect((await fleet.statuses()).get('001-cut')?.holder.startsWith(`${await machineId(fleet, 0)}:`)).toBe(true);
    const { readFile } = await import('node:fs/promises');
    // m1 noticed on its own clock that its lease ran out, and stopped its executor.
    await waitFor(
      'm1 giving up its claim',
      async () => (await readFile(`${m1.clone}/.nightshift/daemon.log`, 'utf8')).includes('claim lost; stopping without publishing'),
      60_000,
    );
    const refsBefore = await fleet.remoteGit(['for-each-ref']);
    // Back online: m1 runs no more and publishes nothing; a graceful stop releases nothing it lost.
    await link.heal();
    await waitFor('m1 idle', async () => !(await readFile(`${m1.clone}/tasks/001-cut.md`, 'utf8')).includes('status: running'), 60_000);
    await m1.stop();
    await m0.stop();
    expect(await fleet.remoteGit(['for-each-ref'])).toBe(refsBefore);
    await expectExactlyOnce(fleet, ['001-cut']);
    const lines = await fleet.ledgerLines();
    expect(ranOn(lines, 'm1')).toEqual(['001-cut']);
    expect(ranOn(lines, 'm0')).toEqual(['001-cut']);
    expect((await fleet.remoteGit(['log', '--format=%s', 'nightshift/001-cut'])).split('\n').filter(Boolean)).toHaveLength(2);
  });
});

describe('a machine whose wall clock runs 10 minutes ahead (libfaketime)', () => {
  const FAKETIME = { FAKETIME: '+10m', LD_PRELOAD: '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1' };

  it('takes over no live claim, and its own dead claims are taken over', async () => {
    // Executors longer than lease_ttl: only renewals keep their claims.
    const tasks = ids(8);
    const fleet = await makeFleet(left, {
      machines: 2,
      rules: rules('branch'),
      tasks: tasks.map((id) => ({ id, then: `sleep 6 && echo ${id} > ${id}.txt` })),
    });
    const [m0, skewed] = fleet.machines as [Fleet['machines'][0], Fleet['machines'][0]];
    m0.start();
    skewed.start(FAKETIME);
    const victim = await waitFor(
      'both machines running tasks, one done',
      async () => {
        const lines = await fleet.ledgerLines();
        const statuses = await fleet.statuses();
        const mine = ranOn(lines, 'm1').filter((id) => !statuses.has(id));
        return statuses.size >= 2 && ranOn(lines, 'm0').length > 0 ? mine[0] : undefined;
      },
      120_000,
    );
    // So far nobody took over anything: claims renewed every second stay live whatever the clocks say.
    expect([...(await progressOf(fleet, 0, 'taken-over')), ...(await progressOf(fleet, 1, 'taken-over'))]).toEqual([]);
    await skewed.kill9();
    await allSettled(fleet, tasks.length, 300_000);
    await m0.stop();
    await expectExactlyOnce(fleet, tasks);
    const takeovers = (await progressOf(fleet, 0, 'taken-over')).map((l) => l.split(' ')[1]);
    expect(takeovers).toContain(victim);
    const lines = await fleet.ledgerLines();
    for (const id of tasks) expect(lines.filter((l) => l.startsWith(`${id} `)).length).toBe(takeovers.includes(id) ? 2 : 1);
  });
});

describe('push: land across the fleet', () => {
  it('gives a linear base with each task exactly once', async () => {
    const tasks = ids(12, 'land');
    // One lander per machine: a task gives up after MAX_LAND_ROUNDS pushes lost to other landings (see docs/fleet.md).
    const fleet = await makeFleet(left, { machines: 3, rules: rules('land', 1), tasks: tasks.map((id) => ({ id })) });
    for (const m of fleet.machines) m.start();
    await allSettled(fleet, tasks.length, 300_000);
    for (const m of fleet.machines) await m.stop();
    const statuses = await fleet.statuses();
    expect([...statuses.values()].filter((s) => s.status !== 'done')).toEqual([]);
    expect(await fleet.remoteGit(['log', '--merges', '--format=%H', 'main'])).toBe('');
    const onBase = (await fleet.remoteGit(['log', '--format=%(trailers:key=Nightshift-Task,valueonly)', 'main']))
      .split('\n')
      .filter(Boolean);
    expect(onBase.sort()).toEqual(tasks);
    expect((await fleet.ledgerLines()).map((l) => l.split(' ')[0]).sort()).toEqual(tasks);
  });
});
