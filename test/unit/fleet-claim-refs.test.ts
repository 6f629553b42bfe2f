import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { openGit, type Git } from '../../src/git/git.js';
import { ClaimRefs, claimRef, statusRef, type FleetRefs } from '../../src/fleet/claimRefs.js';
import { LeaseObserver } from '../../src/fleet/leases.js';
import { lsRemote, messageCommit, pushAtomic } from '../../src/fleet/refs.js';
import { cleanUpAfterEach, type Leftovers } from '../helpers/cleanup.js';
import { startGitDaemon } from '../helpers/gitDaemon.js';

const execFileP = promisify(execFile);
const who = { name: 'Fleet Test', email: 'fleet@example.invalid' };

/** A bare remote and `n` clones of it (each a "machine"), the remote reached by `url`. */
async function fleet(left: Leftovers, n: number, serve: boolean): Promise<{ url: string; clones: Git[]; remote: string }> {
  const dir = await left.tempDir('nightshift-fleet-');
  const remote = join(dir, 'remote.git');
  await execFileP('git', ['init', '--quiet', '--bare', '--initial-branch=main', remote]);
  let url = remote;
  if (serve) {
    const server = await startGitDaemon(dir, 'remote.git');
    left.defer(() => server.stop());
    url = server.url('remote.git');
  }
  const clones: Git[] = [];
  for (let i = 0; i < n; i++) {
    const clone = join(dir, `m${i}`);
    await mkdir(clone);
    await execFileP('git', ['init', '--quiet', '--initial-branch=main'], { cwd: clone });
    await execFileP('git', ['remote', 'add', 'origin', url], { cwd: clone });
    clones.push(openGit(clone, { identity: who }));
  }
  return { url, clones, remote };
}

const refs: FleetRefs = { remote: 'origin', prefix: 'refs/nightshift/' };
const machines = (clones: Git[]) => clones.map((g, i) => new ClaimRefs(g, refs, { machine: `m${i}`, pid: 1000 + i }));

describe.each([
  ['a bare repository', false],
  ['git daemon on 127.0.0.1', true],
])('claim refs against %s', (_name, serve) => {
  const left = cleanUpAfterEach();

  it('of several machines claiming one task at once, exactly one wins, and the winner is read back', async () => {
    const { clones } = await fleet(left, 4, serve);
    const results = await Promise.all(machines(clones).map((m) => m.claim('001-race')));
    const won = results.filter((r) => r.kind === 'claimed');
    expect(won).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'taken')).toHaveLength(3);
    const back = await lsRemote(clones[0] as Git, 'origin', [claimRef(refs, '001-race')]);
    expect(back.kind === 'ok' && back.refs.get(claimRef(refs, '001-race'))).toBe(won[0]?.kind === 'claimed' && won[0].value);
  });

  it('renews with the previous value as the lease; a stale renewal or release is refused', async () => {
    const { clones } = await fleet(left, 2, serve);
    const [a, b] = machines(clones) as [ClaimRefs, ClaimRefs];
    const first = await a.claim('002-renew');
    if (first.kind !== 'claimed') throw new Error(`not claimed: ${first.kind}`);
    const renewed = await a.renew('002-renew', first.value);
    expect(renewed.kind).toBe('renewed');
    // The first value is stale now: renewing or releasing from it must fail (fencing).
    expect((await a.renew('002-renew', first.value)).kind).toBe('lost');
    expect((await a.release('002-renew', first.value)).kind).toBe('rejected');
    expect((await b.claim('002-renew')).kind).toBe('taken');
    if (renewed.kind !== 'renewed') throw new Error('not renewed');
    expect((await a.release('002-renew', renewed.value)).kind).toBe('pushed');
    expect((await b.claim('002-renew')).kind).toBe('claimed');
  });

  it('a claim unchanged for lease_ttl on the observer clock is taken over by CAS from the stale value; the old holder is fenced out', async () => {
    const { clones } = await fleet(left, 3, serve);
    const [a, b, c] = machines(clones) as [ClaimRefs, ClaimRefs, ClaimRefs];
    let now = 0;
    const observer = new LeaseObserver(60_000, () => now);
    const held = await a.claim('003-takeover');
    if (held.kind !== 'claimed') throw new Error('not claimed');
    observer.observeOne('003-takeover', held.value);
    now = 59_999;
    expect(observer.state('003-takeover').kind).toBe('live');
    now = 60_000;
    const stale = observer.state('003-takeover');
    expect(stale.kind).toBe('expired');
    if (stale.kind !== 'expired') return;
    // Two observers take over at once: one wins.
    const [tb, tc] = await Promise.all([b.claim('003-takeover', stale.value), c.claim('003-takeover', stale.value)]);
    expect([tb.kind, tc.kind].sort()).toEqual(['claimed', 'taken']);
    // The old holder comes back: its renewal, release and a publish fenced by its claim all fail.
    expect((await a.renew('003-takeover', held.value)).kind).toBe('lost');
    const work = await messageCommit(clones[0] as Git, 'work');
    const fenced = await pushAtomic(clones[0] as Git, 'origin', [
      { ref: 'refs/heads/nightshift/003-takeover', to: work },
      { ref: claimRef(refs, '003-takeover'), to: null, expect: held.value },
    ]);
    expect(fenced.kind).toBe('rejected');
    const after = await lsRemote(clones[0] as Git, 'origin', ['refs/heads/nightshift/003-takeover']);
    expect(after.kind === 'ok' && after.refs.size).toBe(0);
  });

  it('a renewal restarts the observer clock; a task with a status ref is settled and its new claim deleted', async () => {
    const { clones } = await fleet(left, 2, serve);
    const [a, b] = machines(clones) as [ClaimRefs, ClaimRefs];
    let now = 0;
    const observer = new LeaseObserver(1000, () => now);
    const held = await a.claim('004-settled');
    if (held.kind !== 'claimed') throw new Error('not claimed');
    observer.observe(new Map([['004-settled', held.value]]));
    now = 900;
    const renewed = await a.renew('004-settled', held.value);
    if (renewed.kind !== 'renewed') throw new Error('not renewed');
    observer.observe(new Map([['004-settled', renewed.value]]));
    now = 1500;
    expect(observer.state('004-settled').kind).toBe('live');
    // Done: status written and claim deleted in one atomic push.
    const status = await messageCommit(clones[0] as Git, 'status done');
    const done = await a.release('004-settled', renewed.value, [{ ref: statusRef(refs, '004-settled'), to: status }]);
    expect(done.kind).toBe('pushed');
    observer.observe(new Map());
    expect(observer.state('004-settled').kind).toBe('absent');
    expect((await b.claim('004-settled')).kind).toBe('settled');
    const left2 = await lsRemote(clones[1] as Git, 'origin', [claimRef(refs, '004-settled')]);
    expect(left2.kind === 'ok' && left2.refs.size).toBe(0);
  });
});

describe('claim refs when the remote is gone', () => {
  const left = cleanUpAfterEach();
  it('reports unreachable, not lost, and a renewal after the server is back succeeds', async () => {
    const dir = await left.tempDir('nightshift-fleet-');
    const remote = join(dir, 'remote.git');
    await execFileP('git', ['init', '--quiet', '--bare', '--initial-branch=main', remote]);
    const server = await startGitDaemon(dir, 'remote.git');
    left.defer(() => server.stop());
    const clone = join(dir, 'm0');
    await mkdir(clone);
    await execFileP('git', ['init', '--quiet', '--initial-branch=main'], { cwd: clone });
    await execFileP('git', ['remote', 'add', 'origin', server.url('remote.git')], { cwd: clone });
    const a = new ClaimRefs(openGit(clone, { identity: who }), refs, { machine: 'm0', pid: 1 });
    const held = await a.claim('005-outage');
    if (held.kind !== 'claimed') throw new Error('not claimed');
    await server.stop();
    expect((await a.renew('005-outage', held.value)).kind).toBe('unreachable');
    expect((await a.claim('006-other')).kind).toBe('unreachable');
    await server.start();
    expect((await a.renew('005-outage', held.value)).kind).toBe('renewed');
  });
});

describe('status records', () => {
  it('reads back what was written, and keeps ill-typed values pushed by anyone out of task files', async () => {
    const { parseStatusMessage, statusMessage } = await import('../../src/fleet/status.js');
    const record = { id: '007-x', status: 'done' as const, attempts: 2, commit: 'abc1234', branch: 'nightshift/007-x', holder: 'm:1' };
    expect(parseStatusMessage(statusMessage(record))).toMatchObject(record);
    expect(parseStatusMessage('nightshift status 007-x: running\n\n{"id":"007-x","status":"running","attempts":1}')).toBeUndefined();
    expect(parseStatusMessage('not json')).toBeUndefined();
    const hostile = parseStatusMessage(
      'x\n\n{"id":"007-x","status":"failed","attempts":"9","commit":"$(rm -rf /)","tokens":-5,"error":{"a":1}}',
    );
    expect(hostile).toEqual({ id: '007-x', status: 'failed', attempts: 0, holder: '?' });
  });
});

describe('a remote claim held by a run', () => {
  const left = cleanUpAfterEach();

  async function held(serve: boolean, ttlMs: number, clock: () => number) {
    const { RemoteClaim } = await import('../../src/fleet/remoteClaim.js');
    const { claimTask } = await import('../../src/locks/claims.js');
    const { pino } = await import('pino');
    const { clones } = await fleet(left, 2, serve);
    const [a, b] = machines(clones) as [ClaimRefs, ClaimRefs];
    const got = await a.claim('008-run');
    const local = await claimTask(await left.tempDir('nightshift-locks-'), '008-run');
    if (got.kind !== 'claimed' || local.kind !== 'claimed') throw new Error('not claimed');
    const task = {
      id: '008-run',
      status: 'failed',
      attempts: 1,
      error: 'tests failed',
    } as unknown as import('../../src/task/task.js').Task;
    const claim = new RemoteClaim(local.claim, {
      refs: a,
      value: got.value,
      ttlMs,
      clock,
      logger: pino({ level: 'silent' }),
      readTask: () => Promise.resolve(task),
    });
    left.defer(() => claim.release());
    return { claim, a, b, got, clones };
  }

  it('renews on its own, so a watcher never sees it unchanged for lease_ttl', async () => {
    const { claim, got, clones } = await held(false, 1000, () => performance.now());
    const ref = claimRef(refs, '008-run');
    await waitForValue(async () => {
      const r = await lsRemote(clones[1] as Git, 'origin', [ref]);
      return r.kind === 'ok' && r.refs.get(ref) !== got.value;
    });
    expect(claim.isHeld()).toBe(true);
  });

  it('gives the claim up when no renewal reached the remote for lease_ttl on its own clock', async () => {
    let now = 0;
    const { claim } = await held(false, 60_000, () => now);
    now = 59_000;
    expect(claim.isHeld()).toBe(true);
    now = 60_000;
    expect(claim.isHeld()).toBe(false);
    expect(await claim.verify()).toBe(false);
  });

  it('taken over, its fenced publish is refused and it knows it lost; released, it writes no status', async () => {
    const { claim, b, got, clones } = await held(false, 600_000, () => 0);
    expect((await b.claim('008-run', got.value)).kind).toBe('claimed');
    const fence = await claim.fence({ attempt: 1, branch: 'nightshift/008-run', commit: await messageCommit(clones[0] as Git, 'work') });
    const pushed = await (clones[0] as Git).status(['push', '--porcelain', '--atomic', ...fence.leases, 'origin', ...fence.refspecs]);
    expect(pushed.code).not.toBe(0);
    await fence.settle(false);
    expect(claim.isHeld()).toBe(false);
    await claim.release();
    const after = await lsRemote(clones[0] as Git, 'origin', [statusRef(refs, '008-run'), claimRef(refs, '008-run')]);
    expect(after.kind === 'ok' && [...after.refs.keys()]).toEqual([claimRef(refs, '008-run')]);
  });

  it('released after the task failed: the status and the claim deletion go in one push', async () => {
    const { claim, clones } = await held(false, 600_000, () => 0);
    await claim.release();
    const after = await lsRemote(clones[0] as Git, 'origin', [statusRef(refs, '008-run'), claimRef(refs, '008-run')]);
    expect(after.kind === 'ok' && [...after.refs.keys()]).toEqual([statusRef(refs, '008-run')]);
  });
});

async function waitForValue(probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a renewal');
    await new Promise((r) => setTimeout(r, 50));
  }
}
