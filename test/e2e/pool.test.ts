import { describe, expect, it } from 'vitest';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { taskText } from '../helpers/repo.js';
import { attemptWorktree, poolAfterRun, readTask } from '../helpers/task.js';

const left = cleanUpAfterEach();

/** How each attempt's worktree was made ready, from the daemon's JSON log. */
async function preparedHow(read: (path: string) => Promise<string>): Promise<string[]> {
  const log = await read('.nightshift/daemon.log');
  return log
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { msg?: string; how?: string })
    .filter((r) => r.msg === 'attempt started')
    .map((r) => r.how ?? '?');
}

describe('the worktree pool across runs', () => {
  it.each([
    { keep: false, second: 'test ! -e node_modules && echo fresh > two.txt' },
    { keep: true, second: 'test -f node_modules/dep/index.js && echo kept > two.txt' },
  ])(
    'the next run reuses the slot instead of checking out again; ignored files survive only with keep_ignored: $keep',
    async ({ keep, second }) => {
      const sb = await left.sandbox(`---\nkeep_ignored: ${keep}\n---\n`);
      await sb.write('.gitignore', 'node_modules/\n');
      await sb.git(['add', '.gitignore']);
      await sb.git(['commit', '--quiet', '-m', 'ignore node_modules']);
      await sb.write(
        'tasks/001-one.md',
        taskText({ title: 'One', run: 'mkdir -p node_modules/dep && echo 1 > node_modules/dep/index.js && echo one > one.txt' }),
      );
      expect((await sb.cli(['daemon', 'start', '--once'])).code).toBe(0);

      await sb.write('tasks/002-two.md', taskText({ title: 'Two', run: second }));
      const r = await sb.cli(['daemon', 'start', '--once']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect((await readTask(sb, '002-two')).fm.status).toBe('done');
      expect(await attemptWorktree(sb, '002-two')).toBe(await attemptWorktree(sb, '001-one'));
      expect(await preparedHow((p) => sb.read(p))).toEqual(['created', 'reused']);
      // The second task's commit holds its own file only: nothing of the first task's came along.
      expect((await sb.git(['show', '--name-only', '--format=', 'nightshift/002-two'])).trim()).toBe('two.txt');

      const clean = await sb.cli(['clean']);
      expect(clean.stdout).toContain(`removed  ${await attemptWorktree(sb, '001-one')}`);
      expect(await poolAfterRun(sb)).toEqual({ worktrees: [], leases: [] });
    },
  );

  it('holds no more slots than tasks run at once, and a run with a lower concurrency trims the rest', async () => {
    const sb = await left.sandbox('---\n---\n');
    for (const id of ['001-a', '002-b', '003-c', '004-d', '005-e']) {
      await sb.write(`tasks/${id}.md`, taskText({ title: id, run: `echo ${id} > ${id}.txt` }));
    }
    expect((await sb.cli(['daemon', 'start', '--once', '--concurrency', '2'])).code).toBe(0);
    const after = await poolAfterRun(sb);
    expect(after.leases).toEqual([]);
    expect(after.worktrees.length).toBeGreaterThanOrEqual(1);
    expect(after.worktrees.length).toBeLessThanOrEqual(2);
    for (const w of after.worktrees) expect(w).toMatch(/^_pool-[12] detached$/);

    await sb.write('tasks/006-f.md', taskText({ title: 'f', run: 'echo f > f.txt' }));
    expect((await sb.cli(['daemon', 'start', '--once', '--concurrency', '1'])).code).toBe(0);
    expect(await poolAfterRun(sb)).toEqual({ worktrees: ['_pool-1 detached'], leases: [] });
  });
});

describe('a worktree whose .git an executor redirected', () => {
  it('gets no git command from nightshift: the attempt fails, the user checkout is untouched, the next attempt gets a new slot', async () => {
    // The executor and the test talk through a file outside the worktree, which the sandbox hides.
    const sb = await left.sandbox('---\nsandbox: none\nmax_attempts: 2\nretry_backoff: 100ms\n---\n');
    const mainHead = (await sb.git(['rev-parse', 'HEAD'])).trim();
    const flag = `${sb.dir}/redirected-once`;
    // First attempt: point the worktree at the user's own repository and change a file; the retry behaves.
    const run = `if [ ! -f '${flag}' ]; then touch '${flag}'; echo 'gitdir: ${sb.repo}/.git' > .git; echo evil > evil.txt; else echo good > good.txt; fi`;
    await sb.write('tasks/001-redirect.md', taskText({ title: 'Redirect', run }));
    const r = await sb.cli(['daemon', 'start', '--once']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const trail = (await sb.read('progress.txt')).split('\n').filter((l) => l.includes(' 001-redirect attempt-failed '));
    expect(trail).toHaveLength(1);
    expect(trail[0]).toContain("the executor changed the worktree's .git file");
    // The user's checkout: still on main at the same commit, nothing staged or committed there.
    expect((await sb.git(['symbolic-ref', 'HEAD'])).trim()).toBe('refs/heads/main');
    expect((await sb.git(['rev-parse', 'HEAD'])).trim()).toBe(mainHead);
    expect(await sb.git(['diff', '--cached', '--name-only'])).toBe('');
    // The retry ran in a slot made anew (the unfit one went when it was given back), and its commit holds
    // only its own file.
    expect((await readTask(sb, '001-redirect')).fm).toMatchObject({ status: 'done', attempts: 2 });
    expect((await sb.git(['show', '--name-only', '--format=', 'nightshift/001-redirect'])).trim()).toBe('good.txt');
    expect(await preparedHow((p) => sb.read(p))).toEqual(['created', 'created']);
  });
});
