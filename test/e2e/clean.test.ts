import { existsSync, realpathSync } from 'node:fs';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultWorktreeRoot } from '../../src/paths.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { taskText, type Sandbox } from '../helpers/repo.js';
import { attemptWorktree } from '../helpers/task.js';
import { livePidsMatching, sleepMarker, spawnCli, waitFor } from '../helpers/wait.js';

const { sandbox, markers } = cleanUpAfterEach();

async function gitWorktrees(sb: Sandbox): Promise<string[]> {
  const listed = await sb.git(['worktree', 'list', '--porcelain']);
  return listed
    .split('\n')
    .filter((l) => l.startsWith('worktree '))
    .map((l) => l.slice('worktree '.length))
    .sort();
}

describe('nightshift clean', () => {
  it('removes left-over worktrees (registered, locked, bare folders) and stale locks, keeps a running task and every branch', async () => {
    const sb = await sandbox('---\n---\n');
    const root = defaultWorktreeRoot(realpathSync(sb.repo), sb.env);
    // What crashes leave: a registered worktree, one git still marks as locked (mid-add), a folder git forgot.
    const left = join(root, '001-left');
    const locked = join(root, '002-locked');
    const folder = join(root, '003-folder');
    await sb.git(['worktree', 'add', '--quiet', '-b', 'nightshift/001-left', left, 'main']);
    // An idle slot of the worktree pool, kept between runs for reuse.
    const idleSlot = join(root, '_pool-2');
    await sb.git(['worktree', 'add', '--quiet', '--detach', idleSlot, 'main']);
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'half-made.txt'), 'x');
    // A claim lock of a process that died an hour ago.
    const locks = join(sb.repo, '.nightshift', 'locks');
    await mkdir(join(locks, '004-stale.lock'), { recursive: true });
    await writeFile(
      join(locks, '004-stale.owner.json'),
      JSON.stringify({ host: hostname(), pid: 2 ** 22 + 1, startedAt: '2026-01-01T00:00:00Z' }),
    );
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(join(locks, '004-stale.lock'), hourAgo, hourAgo);
    // A lock a killed process was making (temp name, its owner inside) and one it was removing.
    const deadPid = 2 ** 22 + 1;
    const halfMade = join(locks, `.006-x.lock.${deadPid}.0123abcd`);
    const halfGone = join(locks, `.007-y.lock.gone.${deadPid}.89abcdef`);
    for (const dir of [halfMade, halfGone]) {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'owner.json'), '{}');
    }

    // And one task really running right now.
    const marker = sleepMarker(60);
    markers.push(marker);
    await sb.write('tasks/005-busy.md', taskText({ title: 'Busy', run: `sleep ${marker}` }));
    const daemon = spawnCli(sb, ['daemon', 'start']);
    try {
      await waitFor('the executor to start', async () => (await livePidsMatching(marker)).length > 0);
      const busy = await attemptWorktree(sb, '005-busy');
      // Made after the daemon started: a starting daemon removes "initializing" worktrees itself.
      await sb.git(['worktree', 'add', '--quiet', '-b', 'nightshift/002-locked', locked, 'main']);
      await sb.git(['worktree', 'lock', '--reason', 'initializing', locked]);

      const r = await sb.cli(['clean']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(busy).toBe(join(root, '_pool-1'));
      expect(r.stdout).toContain(`kept     ${busy} (a running task uses it)`);
      expect(r.stdout).toContain(`removed  ${idleSlot}`);
      expect(r.stdout).toContain('removed  stale lock .nightshift/locks/004-stale.lock');
      expect(r.stdout.trim().split('\n').at(-1)).toBe('clean: 4 worktrees and 1 stale lock removed, 1 in use kept; branches kept');

      for (const p of [left, locked, folder, idleSlot]) expect(existsSync(p)).toBe(false);
      expect(existsSync(busy)).toBe(true);
      expect(await gitWorktrees(sb)).toEqual([realpathSync(sb.repo), busy].sort());
      expect(existsSync(join(locks, '004-stale.lock'))).toBe(false);
      expect(existsSync(join(locks, '004-stale.owner.json'))).toBe(false);
      expect(existsSync(halfMade) || existsSync(halfGone)).toBe(false);
      expect(existsSync(join(locks, '005-busy.lock'))).toBe(true);
      // Branches hold work; clean never deletes them.
      const branches = (await sb.git(['for-each-ref', '--format=%(refname:short)', 'refs/heads/nightshift/'])).trim().split('\n');
      expect(branches.sort()).toEqual(['nightshift/001-left', 'nightshift/002-locked', 'nightshift/005-busy']);
      // The running task is untouched.
      expect((await livePidsMatching(marker)).length).toBeGreaterThan(0);
    } finally {
      daemon.child.kill('SIGTERM');
      await daemon.exited;
    }
  });

  it('with nothing to clean says so; outside a repository it is a usage error', async () => {
    const sb = await sandbox();
    const r = await sb.cli(['clean']);
    expect(r).toMatchObject({ code: 0, stdout: 'clean: 0 worktrees and 0 stale locks removed; branches kept\n' });
    const outside = await sb.cli(['clean'], { cwd: sb.dir });
    expect(outside.code).toBe(2);
    expect(outside.stderr).toMatch(/^nightshift: .* is not inside a git repository\n {2}hint: /);
  });
});
