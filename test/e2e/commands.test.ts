import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cleanUpAfterAll, cleanUpAfterEach } from '../helpers/cleanup.js';
import { runCli, taskText, type CliResult, type Sandbox } from '../helpers/repo.js';
import { readTask } from '../helpers/task.js';

/** A usage error as the contract wants it: exit 2, "nightshift: ..." and a hint on stderr, no stack trace. */
function expectUsageError(r: CliResult, message: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n');
  expect(lines[0]).toMatch(/^nightshift: /);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).toMatch(/^ {2}hint: \S/m);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toMatch(/internal error/);
}

const LISTED_KEYS = ['attempts', 'branch', 'commit', 'depends_on', 'error', 'file', 'id', 'status', 'title'];

describe('usage errors: exit 2, a message and a hint, never a stack', () => {
  const left = cleanUpAfterAll();
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await left.sandbox('---\n---\n');
    await sb.write('tasks/001-real.md', taskText({ title: 'Real', run: 'true' }));
  });

  const cases: Array<[string, string[], RegExp]> = [
    ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    ['an unknown option', ['list', '--bogus'], /unknown option '--bogus'/],
    ['a bad option value', ['tail', '-n', '0'], /argument '0' is invalid/],
    ['a missing argument', ['show'], /missing required argument 'id'/],
    ['a path as a task id', ['show', '../x'], /bad task id: "\.\.\/x" is not a valid task id/],
    ['an option-like task id', ['requeue', '--', '-rf'], /bad task id: "-rf" is not a valid task id/],
    ['a task id with a space', ['show', 'has space'], /bad task id: "has space"/],
    ['an unknown task to show', ['show', '099-nope'], /no task "099-nope" in tasks\//],
    ['an unknown task to requeue', ['requeue', '099-nope'], /no task "099-nope" in tasks\//],
    ['an unknown task to cancel', ['cancel', '099-nope'], /no task "099-nope" in tasks\//],
    ['requeue without ids', ['requeue'], /which tasks\?/],
    ['an unknown status filter', ['list', '--status', 'bogus'], /unknown status "bogus"/],
    ['an empty title', ['add', '   '], /the title is empty/],
    ['a bad dependency id', ['add', 'Thing', '--depends-on', '../etc'], /--depends-on: "\.\.\/etc" is not a valid task id/],
    ['logs of a task that never ran', ['logs', '001-real'], /no logs for task 001-real yet/],
  ];
  it.concurrent.each(cases)('%s', async (_name, args, message) => {
    expectUsageError(await sb.cli(args), message);
  });

  it('leaves the queue alone after all of them', async () => {
    expect((await readdir(join(sb.repo, 'tasks'))).sort()).toEqual(['001-real.md']);
    expect((await readTask(sb, '001-real')).fm.status).toBeUndefined();
  });

  it('prints help and the version with exit 0', async () => {
    const help = await sb.cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('daemon');
    expect(await sb.cli(['--version'])).toMatchObject({ code: 0, stdout: '0.1.0\n' });
  });
});

describe('usage errors outside a usable repository', () => {
  const left = cleanUpAfterEach();

  it('refuses to run outside a git repository', async () => {
    const plain = await left.tempDir('nightshift-plain-');
    // No repository above the temp folder may count either.
    const env = { ...process.env, GIT_CEILING_DIRECTORIES: dirname(plain) };
    for (const args of [['list'], ['daemon', 'start', '--once'], ['add', 'Something']]) {
      const r = await runCli(args, plain, env);
      expectUsageError(r, /is not inside a git repository/);
    }
    expect(await readdir(plain)).toEqual([]);
  });

  it('lists every problem of an invalid rules.md at once', async () => {
    const sb = await left.sandbox('---\nconcurrency: 0\npush: sideways\n---\nRules.\n');
    await sb.write('tasks/001-x.md', taskText({ title: 'X', run: 'echo x > x.txt' }));
    const r = await sb.cli(['daemon', 'start', '--once']);
    expectUsageError(r, /rules\.md is not valid/);
    expect(r.stderr).toMatch(/^ {2}- concurrency must be a whole number of at least 1, got 0$/m);
    expect(r.stderr).toMatch(/^ {2}- push must be none, branch or land, got "sideways"$/m);
    // Nothing started.
    expect(existsSync(join(sb.repo, 'progress.txt'))).toBe(false);
    expect((await readTask(sb, '001-x')).fm.status).toBeUndefined();
  });
});

describe('init', () => {
  const left = cleanUpAfterEach();
  let sb: Sandbox;

  it('scaffolds rules.md, scope.md, tasks/ and .gitignore entries, never overwriting, and is idempotent', async () => {
    sb = await left.sandbox();
    await sb.write('.gitignore', 'node_modules/');
    await sb.write('scope.md', '# My project\n\nAlready written by hand.\n');

    const first = await sb.cli(['init']);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toContain('created rules.md, tasks/, .gitignore entries (.nightshift/, progress.txt)');
    expect(await sb.read('scope.md')).toBe('# My project\n\nAlready written by hand.\n');
    expect(await sb.read('.gitignore')).toBe('node_modules/\n.nightshift/\nprogress.txt\n');
    expect(await sb.read('rules.md')).toMatch(/^---\n[\s\S]*\n---\n# Rules/);
    expect(existsSync(join(sb.repo, 'tasks'))).toBe(true);

    const snapshot = async () => ({
      rules: await sb.read('rules.md'),
      scope: await sb.read('scope.md'),
      gitignore: await sb.read('.gitignore'),
      tasks: (await readdir(join(sb.repo, 'tasks'))).sort(),
      status: await sb.git(['status', '--porcelain', '--untracked-files=all']),
    });
    const before = await snapshot();
    const second = await sb.cli(['init']);
    expect(second).toMatchObject({ code: 0, stderr: '' });
    expect(second.stdout).toContain('already set up: nothing to create');
    expect(await snapshot()).toEqual(before);

    // What init wrote is a working configuration.
    const run = await sb.cli(['daemon', 'start', '--once']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('nightshift: 0 done, 0 failed, 0 blocked');
  });
});

describe('add, list, show, tail and logs', () => {
  const left = cleanUpAfterEach();
  let sb: Sandbox;

  it('add numbers and names task files, honours its options, and list/show read them back', async () => {
    sb = await left.sandbox('---\n---\n');
    const a = await sb.cli(['add', 'Set up the DB', '--run', 'echo db > db.txt']);
    expect(a).toMatchObject({ code: 0, stderr: '', stdout: 'added 001-set-up-the-db (tasks/001-set-up-the-db.md)\n' });
    const b = await sb.cli([
      'add',
      'Add login form!',
      '--depends-on',
      '001-set-up-the-db',
      '--priority',
      '3',
      '--kind',
      'code',
      '--run',
      'echo "login: $(cat db.txt)" > login.txt',
      '--body',
      '# Goal\n\nA login form.',
    ]);
    expect(b).toMatchObject({ code: 0, stderr: '', stdout: 'added 002-add-login-form (tasks/002-add-login-form.md)\n' });
    await sb.write('tasks/003-broken.md', 'no frontmatter here\n');

    const second = await readTask(sb, '002-add-login-form');
    expect(second.fm).toEqual({
      title: 'Add login form!',
      status: 'queued',
      priority: 3,
      depends_on: ['001-set-up-the-db'],
      kind: 'code',
      run: 'echo "login: $(cat db.txt)" > login.txt',
    });
    expect(second.body).toBe('# Goal\n\nA login form.\n');

    const list = await sb.cli(['list', '--json']);
    expect(list).toMatchObject({ code: 0, stderr: '' });
    const rows = JSON.parse(list.stdout) as Array<Record<string, unknown>>;
    expect(Array.isArray(rows)).toBe(true);
    for (const row of rows) expect(Object.keys(row).sort()).toEqual(LISTED_KEYS);
    expect(rows[0]).toEqual({
      id: '001-set-up-the-db',
      file: 'tasks/001-set-up-the-db.md',
      status: 'queued',
      title: 'Set up the DB',
      attempts: 0,
      branch: null,
      commit: null,
      error: null,
      depends_on: [],
    });
    expect(rows[1]).toMatchObject({ id: '002-add-login-form', status: 'queued', depends_on: ['001-set-up-the-db'] });
    expect(rows[2]).toMatchObject({ id: '003-broken', file: 'tasks/003-broken.md', status: 'invalid', title: null, attempts: 0 });
    expect(typeof rows[2]?.error).toBe('string');
    expect(String(rows[2]?.error).length).toBeGreaterThan(0);

    const invalidOnly = JSON.parse((await sb.cli(['list', '--status', 'invalid', '--json'])).stdout) as Array<{ id: string }>;
    expect(invalidOnly.map((r) => r.id)).toEqual(['003-broken']);
    const table = await sb.cli(['list']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^003-broken\s+invalid\s/m);
    expect(table.stdout).toMatch(/^002-add-login-form\s+queued\s/m);

    // The files add wrote are runnable tasks: the dependency runs first and the dependent sees its work.
    await rm(join(sb.repo, 'tasks/003-broken.md'));
    const run = await sb.cli(['daemon', 'start', '--once']);
    expect(run.code).toBe(0);
    const done = JSON.parse((await sb.cli(['show', '002-add-login-form', '--json'])).stdout) as Record<string, unknown>;
    expect(done).toMatchObject({
      id: '002-add-login-form',
      file: 'tasks/002-add-login-form.md',
      status: 'done',
      title: 'Add login form!',
      attempts: 1,
      priority: 3,
      kind: 'code',
      depends_on: ['001-set-up-the-db'],
      branch: 'nightshift/002-add-login-form',
      error: null,
    });
    expect(done.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(done.base_commit).toBe((await readTask(sb, '001-set-up-the-db')).fm.commit);
    expect((await sb.git(['show', `${String(done.commit)}:login.txt`])).trim()).toBe('login: db');

    const c = await sb.cli(['add', 'Third one']);
    expect(c.stdout).toBe('added 003-third-one (tasks/003-third-one.md)\n');
  });

  it('tail prints the last lines of progress.txt; logs prints one attempt transcript', async () => {
    sb = await left.sandbox('---\nmax_attempts: 2\n---\n');
    // Attempt 1 changes nothing (and fails); attempt 2 does the work.
    await sb.write(
      'tasks/001-twice.md',
      taskText({
        title: 'Twice',
        run: 'echo "transcript of attempt $NIGHTSHIFT_ATTEMPT"; if [ "$NIGHTSHIFT_ATTEMPT" = 2 ]; then echo ok > ok.txt; fi',
      }),
    );
    const before = await sb.cli(['tail']);
    expect(before.code).toBe(0);
    expect(before.stderr).toContain('no progress.txt yet');

    expect((await sb.cli(['daemon', 'start', '--once'])).code).toBe(0);
    const progress = (await sb.read('progress.txt')).split('\n').filter(Boolean);
    expect(progress.length).toBeGreaterThan(4);
    expect(await sb.cli(['tail', '-n', '2'])).toEqual({ code: 0, stderr: '', stdout: `${progress.slice(-2).join('\n')}\n` });
    expect((await sb.cli(['tail', '-n', '1000'])).stdout).toBe(`${progress.join('\n')}\n`);

    const latest = await sb.cli(['logs', '001-twice']);
    expect(latest).toMatchObject({ code: 0, stderr: '' });
    expect(latest.stdout).toContain('transcript of attempt 2');
    expect(latest.stdout).not.toContain('transcript of attempt 1');
    const first = await sb.cli(['logs', '001-twice', '--attempt', '1']);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toContain('transcript of attempt 1');
    expect(first.stdout).not.toContain('transcript of attempt 2');
    expectUsageError(await sb.cli(['logs', '001-twice', '--attempt', '3']), /task 001-twice has no attempt 3/);
    expect((await sb.cli(['logs', '001-twice', '--attempt', '3'])).stderr).toContain('attempts with logs: 1, 2');
  });
});
