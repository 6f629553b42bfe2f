import { execFile, execFileSync } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { claimTask, isClaimed, readLockOwner } from '../../src/locks/claims.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { waitFor } from '../helpers/wait.js';

const execFileP = promisify(execFile);
const left = cleanUpAfterEach();
const locksDir = () => left.tempDir('nightshift-locks-');

describe('claim locks', () => {
  it('appear whole (owner inside), go away whole, and leave nothing else behind', async () => {
    const dir = await locksDir();
    const first = await claimTask(dir, 'task-1');
    expect(first.kind).toBe('claimed');
    expect(await readLockOwner(dir, 'task-1')).toMatchObject({ host: hostname(), pid: process.pid });
    expect((await claimTask(dir, 'task-1')).kind).toBe('lost-race');
    if (first.kind === 'claimed') await first.claim.release();
    expect(await readdir(dir)).toEqual([]);
    const again = await claimTask(dir, 'task-1');
    expect(again).toMatchObject({ kind: 'claimed' });
    if (again.kind === 'claimed') expect(again.tookOver).toBeUndefined();
  });

  it('takes over the lock of a process that died, and says so', async () => {
    const dir = await locksDir();
    const dead = Number(execFileSync('sh', ['-c', 'sh -c "echo \\$\\$"'], { encoding: 'utf8' }).trim());
    await mkdir(join(dir, 'task-1.lock'));
    await writeFile(
      join(dir, 'task-1.lock', 'owner.json'),
      JSON.stringify({ host: hostname(), pid: dead, startedAt: new Date().toISOString() }),
    );
    expect(await isClaimed(dir, 'task-1')).toBe(false);
    const taken = await claimTask(dir, 'task-1');
    expect(taken).toMatchObject({ kind: 'claimed', tookOver: true });
    expect(await readLockOwner(dir, 'task-1')).toMatchObject({ pid: process.pid });
    if (taken.kind === 'claimed') await taken.claim.release();
  });

  it('of several processes claiming one task at the same instant, exactly one gets it', async () => {
    const dir = await locksDir();
    const module = resolve(import.meta.dirname, '../../dist/locks/claims.js');
    // Each process says it is ready, waits for the go, claims, holds the claim a while (so a slow starter
    // meets a live lock, not a released one), and prints what it got.
    const script = `const { claimTask } = await import(${JSON.stringify(module)});
      const { existsSync, writeFileSync } = await import('node:fs');
      writeFileSync(${JSON.stringify(dir)} + '/.ready-' + process.pid, '');
      while (!existsSync(${JSON.stringify(join(dir, '.go'))})) await new Promise((ok) => setTimeout(ok, 5));
      const r = await claimTask(${JSON.stringify(dir)}, 'task-1');
      await new Promise((ok) => setTimeout(ok, 2000));
      console.log(r.kind);
      if (r.kind === 'claimed') await r.claim.release();`;
    const pending = Promise.all(Array.from({ length: 6 }, () => execFileP(process.execPath, ['--input-type=module', '-e', script])));
    await waitFor('all six to be ready', async () => (await readdir(dir)).filter((n) => n.startsWith('.ready-')).length === 6);
    await writeFile(join(dir, '.go'), '');
    const runs = await pending;
    const kinds = runs.map((r) => r.stdout.trim()).sort();
    expect(kinds).toEqual(['claimed', 'lost-race', 'lost-race', 'lost-race', 'lost-race', 'lost-race']);
    expect((await readdir(dir)).filter((n) => !n.startsWith('.ready-') && n !== '.go')).toEqual([]);
  });
});
