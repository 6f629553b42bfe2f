import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openGit } from '../../src/git/git.js';
import { ClaimRefs, statusRef } from '../../src/fleet/claimRefs.js';
import { messageCommit } from '../../src/fleet/refs.js';
import { statusMessage } from '../../src/fleet/status.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { runCli } from '../helpers/repo.js';

const left = cleanUpAfterEach();
const REMOTE_RULES = '---\nbase: main\nqueue: remote\nlease_ttl: 1m\n---\nRules.\n';

describe('remote queue commands', () => {
  it('add --push, sync, fleet status, list and show in a clone see the fleet', async () => {
    const s = await left.sandbox({ rules: REMOTE_RULES });
    const planner = join(s.dir, 'planner');
    await s.git(['clone', '--quiet', s.remote, planner], s.dir);
    await s.git(['config', 'user.email', 'planner@example.invalid'], planner);

    // The planner adds a task and pushes it; the user's checkout is left as it was.
    const added = await runCli(['add', 'Write the docs', '--run', 'true', '--push'], planner, s.env);
    expect(added.stderr).toBe('');
    expect(added.stdout).toMatch(/pushed 001-write-the-docs to origin\/main/);
    expect(await s.git(['status', '--porcelain', '--untracked-files=all'], planner)).toBe('?? tasks/001-write-the-docs.md\n');
    expect(await s.git(['ls-tree', '--name-only', 'main', 'tasks/'], s.remote)).toBe('tasks/001-write-the-docs.md\n');

    const synced = await s.cli(['sync', '--json']);
    expect(JSON.parse(synced.stdout)).toEqual({ added: ['001-write-the-docs.md'], updated: [] });

    // Another machine claims it: fleet status names the holder, list shows it running elsewhere.
    const other = openGit(planner, { identity: { name: 'M', email: 'm@example.invalid' } });
    const refs = new ClaimRefs(other, { remote: 'origin', prefix: 'refs/nightshift/' }, { machine: 'box-7', pid: 4242 });
    const held = await refs.claim('001-write-the-docs');
    if (held.kind !== 'claimed') throw new Error(`not claimed: ${held.kind}`);
    const status = await s.cli(['fleet', 'status', '--json']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ machines: [{ machine: 'box-7', holds: ['001-write-the-docs'] }], expired: [] });
    const listedRunning = JSON.parse((await s.cli(['list', '--json'])).stdout) as Array<{ status: string }>;
    expect(listedRunning[0]?.status).toBe('running');

    // It finishes: status written and claim deleted in one push. sync writes the status into the file.
    const done = await messageCommit(
      other,
      statusMessage({
        id: '001-write-the-docs',
        status: 'done',
        attempts: 1,
        commit: 'abc1234',
        branch: 'nightshift/001-write-the-docs',
        holder: 'box-7:4242',
      }),
    );
    expect(
      (await refs.release('001-write-the-docs', held.value, [{ ref: statusRef(refs.refs, '001-write-the-docs'), to: done }])).kind,
    ).toBe('pushed');
    expect(JSON.parse((await s.cli(['sync', '--json'])).stdout)).toEqual({ added: [], updated: ['001-write-the-docs.md'] });
    expect(await s.read('tasks/001-write-the-docs.md')).toMatch(/status: done/);
    const shown = JSON.parse((await s.cli(['show', '001-write-the-docs', '--json'])).stdout) as { status: string; commit: string };
    expect(shown).toMatchObject({ status: 'done', commit: 'abc1234' });
    expect((await s.cli(['fleet', 'status'])).stdout).toMatch(/0 claim\(s\) held by 0 machine\(s\); settled: 1 done/);
  });

  it('refuses sync and fleet status with the local queue, saying how to switch', async () => {
    const s = await left.sandbox('---\nbase: main\n---\n');
    for (const args of [['sync'], ['fleet', 'status']]) {
      const r = await s.cli(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/works with the remote queue, and rules.md says queue: local/);
      expect(r.stderr).toMatch(/set queue: remote in rules.md/);
    }
  });
});
