import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openGit } from '../../src/git/git.js';
import { WorktreePool } from '../../src/git/pool.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import type { Sandbox } from '../helpers/repo.js';
import { livePidsMatching, sleepMarker, waitFor } from '../helpers/wait.js';

const left = cleanUpAfterEach();

async function setUp(opts: { keepIgnored?: boolean } = {}): Promise<{ sb: Sandbox; pool: WorktreePool; base: string; root: string }> {
  const sb = await left.sandbox('---\n---\n');
  await sb.write('.gitignore', 'node_modules/\n');
  await sb.write('src/a.txt', 'a\n');
  await sb.git(['add', '-A']);
  await sb.git(['commit', '--quiet', '-m', 'files']);
  const base = (await sb.git(['rev-parse', 'HEAD'])).trim();
  const root = join(sb.dir, 'pool');
  return { sb, base, root, pool: new WorktreePool(openGit(sb.repo), { root, keepIgnored: !!opts.keepIgnored }) };
}

/** What a task leaves: a change to a tracked file, a new file, an ignored dependency folder. */
async function makeMess(path: string): Promise<void> {
  await writeFile(join(path, 'src/a.txt'), 'changed\n');
  await writeFile(join(path, 'new.txt'), 'new\n');
  await mkdir(join(path, 'node_modules/dep'), { recursive: true });
  await writeFile(join(path, 'node_modules/dep/index.js'), '1\n');
}

function deadPid(): number {
  return Number(execFileSync('sh', ['-c', 'sh -c "echo \\$\\$"'], { encoding: 'utf8' }).trim());
}

describe('worktree pool', () => {
  it('reuses one slot across tasks: re-pointed to the new branch, every change and untracked or ignored file gone', async () => {
    const { sb, pool, base } = await setUp();
    const first = await pool.checkout('nightshift/one', base);
    expect(first.how).toBe('created');
    await makeMess(first.path);
    await first.release();
    // Given back detached: the task's branch is free to delete.
    expect(await sb.git(['branch', '-D', 'nightshift/one'])).toContain('Deleted branch');

    const second = await pool.checkout('nightshift/two', base);
    expect(second).toMatchObject({ path: first.path, how: 'reused' });
    expect((await sb.git(['symbolic-ref', 'HEAD'], second.path)).trim()).toBe('refs/heads/nightshift/two');
    expect((await sb.git(['rev-parse', 'HEAD'], second.path)).trim()).toBe(base);
    expect(await readFile(join(second.path, 'src/a.txt'), 'utf8')).toBe('a\n');
    expect(existsSync(join(second.path, 'new.txt'))).toBe(false);
    expect(existsSync(join(second.path, 'node_modules'))).toBe(false);
    expect(await sb.git(['status', '--porcelain', '--ignored'], second.path)).toBe('');
    await second.release();
  });

  it('with keep_ignored, ignored files survive into the next task while other changes go', async () => {
    const { pool, base } = await setUp({ keepIgnored: true });
    const first = await pool.checkout('nightshift/one', base);
    await makeMess(first.path);
    await first.release();
    const second = await pool.checkout('nightshift/two', base);
    expect(second.how).toBe('reused');
    expect(await readFile(join(second.path, 'node_modules/dep/index.js'), 'utf8')).toBe('1\n');
    expect(await readFile(join(second.path, 'src/a.txt'), 'utf8')).toBe('a\n');
    expect(existsSync(join(second.path, 'new.txt'))).toBe(false);
    await second.release();
  });

  it('never hands one slot to two tasks at once, and stays as small as the number running together', async () => {
    const { pool, base, root } = await setUp();
    const a = await pool.checkout('nightshift/a', base);
    const b = await pool.checkout('nightshift/b', base);
    expect(a.path).not.toBe(b.path);
    // Another pool object on the same folder (a second daemon) sees both leases too.
    const other = new WorktreePool(openGit(join(root, '..', 'repo')), { root, keepIgnored: false });
    const c = await other.checkout('nightshift/c', base);
    expect(new Set([a.path, b.path, c.path]).size).toBe(3);
    await Promise.all([a.release(), b.release(), c.release()]);
    // One at a time from now on: always the lowest slot.
    for (const id of ['d', 'e']) {
      const next = await pool.checkout(`nightshift/${id}`, base);
      expect(next.path).toBe(a.path);
      await next.release();
    }
  });

  it.each([
    {
      what: 'a rebase left half done',
      spoil: async (sb: Sandbox, path: string) => {
        const gitDir = (await sb.git(['rev-parse', '--absolute-git-dir'], path)).trim();
        await mkdir(join(gitDir, 'rebase-merge'));
      },
    },
    {
      what: 'an index entry hidden with skip-worktree',
      spoil: async (sb: Sandbox, path: string) => {
        await sb.git(['update-index', '--skip-worktree', 'src/a.txt'], path);
        await writeFile(join(path, 'src/a.txt'), 'hidden change\n');
      },
    },
    {
      what: 'a .git file pointing somewhere else',
      spoil: async (_sb: Sandbox, path: string) => {
        await writeFile(join(path, '.git'), 'gitdir: /nowhere\n');
      },
    },
  ])('replaces a slot it cannot prove clean ($what) instead of handing it on', async ({ spoil }) => {
    const { sb, pool, base } = await setUp();
    const first = await pool.checkout('nightshift/one', base);
    await spoil(sb, first.path);
    await first.release();
    const second = await pool.checkout('nightshift/two', base);
    // Made anew, when leased again or already when given back.
    expect(second.path).toBe(first.path);
    expect(second.how).not.toBe('reused');
    expect(await readFile(join(second.path, 'src/a.txt'), 'utf8')).toBe('a\n');
    expect(await sb.git(['status', '--porcelain', '--ignored'], second.path)).toBe('');
    expect((await sb.git(['ls-files', '-v', 'src/a.txt'], second.path)).trim()).toBe('H src/a.txt');
    await second.release();
  });

  it('takes over the slot of a holder that died, stopping what it left running there', async () => {
    const { pool, base, root } = await setUp();
    const first = await pool.checkout('nightshift/one', base);
    await first.release();
    // A daemon killed mid-task: its lease is still there, its executor still runs in the slot.
    await mkdir(join(root, '_leases', 'slot-1.lock'), { recursive: true });
    await writeFile(
      join(root, '_leases', 'slot-1.lock', 'owner.json'),
      JSON.stringify({ host: hostname(), pid: deadPid(), startedAt: new Date().toISOString() }),
    );
    const marker = sleepMarker(60);
    left.markers.push(marker);
    spawn('sh', ['-c', `sleep ${marker}`], {
      cwd: first.path,
      env: { ...process.env, NIGHTSHIFT_WORKTREE: first.path },
      detached: true,
      stdio: 'ignore',
    }).unref();
    await waitFor('the orphan to run', async () => (await livePidsMatching(marker)).length > 0);

    const next = await pool.checkout('nightshift/two', base);
    expect(next).toMatchObject({ path: first.path, how: 'reused' });
    await waitFor('the orphan to be stopped', async () => (await livePidsMatching(marker)).length === 0);
    await next.release();
  });

  it('tidy removes free slots above the concurrency and keeps slots in use', async () => {
    const { sb, pool, base } = await setUp();
    const slots = [
      await pool.checkout('nightshift/a', base),
      await pool.checkout('nightshift/b', base),
      await pool.checkout('nightshift/c', base),
    ];
    await slots[1]?.release();
    await slots[2]?.release();
    const tidied = await pool.tidy(2);
    expect(tidied.removed).toEqual([slots[2]?.path]);
    expect(tidied.inUse).toEqual([slots[0]?.path]);
    const all = await pool.tidy(0);
    expect(all.removed).toEqual([slots[1]?.path]);
    await slots[0]?.release();
    expect((await pool.tidy(0)).removed).toEqual([slots[0]?.path]);
    expect((await sb.git(['worktree', 'list', '--porcelain'])).match(/^worktree /gm)).toHaveLength(1);
  });
});
