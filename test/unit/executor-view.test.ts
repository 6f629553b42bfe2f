import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { executorEnv, namesCheckout, pathInWorktree, resolveProgram } from '../../src/exec/executorEnv.js';
import { AttemptDeadline } from '../../src/run/deadline.js';
import { OwnedKeys, ownRunsAsRunning, stillRunnable } from '../../src/run/ownedKeys.js';
import { parseTaskText } from '../../src/task/parse.js';
import type { Task, TaskEntry } from '../../src/task/task.js';
import { cleanUpAfterAll } from '../helpers/cleanup.js';

describe('namesCheckout', () => {
  const roots = ['/work/app'];
  it.each([
    ['/work/app', true],
    ['/work/app/node_modules/.bin', true],
    ['/usr/bin:/work/app/bin:/bin', true],
    ['file:///work/app/package.json', true],
    ['/work/app2', false],
    ['/work/apps/x', false],
    ['/work/app.old', false],
    ['/work', false],
    ['', false],
  ])('%j -> %s', (value, expected) => {
    expect(namesCheckout(value, roots)).toBe(expected);
  });
});

describe('executorEnv', () => {
  const places = {
    root: '/nonexistent/checkout',
    worktree: '/cache/wt/_pool-1',
    taskId: '001-a',
    attempt: 2,
    promptFile: '/cache/wt/_attempt-files/_pool-1/2.prompt.md',
    taskFile: '/cache/wt/_attempt-files/_pool-1/001-a.md',
  };

  it('drops every variable naming the checkout, moves PATH entries into the worktree and says where things are', () => {
    const env = executorEnv(
      {
        HOME: '/home/u',
        PWD: '/nonexistent/checkout',
        OLDPWD: '/nonexistent/checkout/src',
        INIT_CWD: '/nonexistent/checkout',
        npm_config_local_prefix: '/nonexistent/checkout',
        npm_package_json: '/nonexistent/checkout/package.json',
        PATH: '/nonexistent/checkout/node_modules/.bin:/usr/bin:/nonexistent/checkout2/bin',
        ANTHROPIC_API_KEY: 'sk-test',
        NIGHTSHIFT_WORKTREE: '/elsewhere',
      },
      places,
    );
    expect(env).toEqual({
      HOME: '/home/u',
      ANTHROPIC_API_KEY: 'sk-test',
      PATH: '/cache/wt/_pool-1/node_modules/.bin:/usr/bin:/nonexistent/checkout2/bin',
      PWD: '/cache/wt/_pool-1',
      NIGHTSHIFT_TASK_ID: '001-a',
      NIGHTSHIFT_ATTEMPT: '2',
      NIGHTSHIFT_PROMPT_FILE: places.promptFile,
      NIGHTSHIFT_TASK_FILE: places.taskFile,
      NIGHTSHIFT_WORKTREE: '/cache/wt/_pool-1',
    });
  });

  it('keeps HOME even when the checkout is the home folder', () => {
    expect(executorEnv({ HOME: '/nonexistent/checkout' }, places).HOME).toBe('/nonexistent/checkout');
  });

  it('maps the checkout itself on PATH to the worktree', () => {
    expect(pathInWorktree('/r:/r/bin:/rx', ['/r'], '/w')).toBe('/w:/w/bin:/rx');
  });
});

describe('resolveProgram', () => {
  const left = cleanUpAfterAll();
  let dir: string;
  beforeAll(async () => {
    dir = await left.tempDir('nightshift-resolve-');
    await mkdir(join(dir, 'checkout-bin'));
    await writeFile(join(dir, 'checkout-bin', 'my-agent'), '#!/bin/sh\n');
    await chmod(join(dir, 'checkout-bin', 'my-agent'), 0o755);
  });

  it('starts a program found only on the daemon PATH by its absolute path, and leaves the rest alone', () => {
    const daemonPath = `${join(dir, 'checkout-bin')}:/usr/bin:/bin`;
    expect(resolveProgram('my-agent', '/usr/bin:/bin', daemonPath)).toBe(join(dir, 'checkout-bin', 'my-agent'));
    expect(resolveProgram('sh', '/usr/bin:/bin', daemonPath)).toBe('sh');
    expect(resolveProgram('./x', '/usr/bin', daemonPath)).toBe('./x');
    expect(resolveProgram('not-installed-anywhere', '/usr/bin', daemonPath)).toBe('not-installed-anywhere');
  });
});

describe('AttemptDeadline', () => {
  it('gives each step what is left, or its own smaller limit', () => {
    let now = 1_000;
    const deadline = new AttemptDeadline(60_000, () => now);
    expect(deadline.limitFor(10_000)).toEqual({ timeoutMs: 10_000, byDeadline: false });
    now += 55_000;
    expect(deadline.limitFor(10_000)).toEqual({ timeoutMs: 5_000, byDeadline: true });
    now += 10_000;
    expect(deadline.limitFor(10_000)).toEqual({ timeoutMs: 0, byDeadline: true });
    expect(deadline.reason('tests')).toBe('attempt timed out after 1m0s in tests');
  });
});

function task(fields: string): Task {
  const parsed = parseTaskText('001-a', '/x/tasks/001-a.md', `---\ntitle: A\npriority: 5\n${fields}---\nBody.\n`);
  if (parsed.kind !== 'ok') throw new Error(parsed.reason);
  return parsed.task;
}

describe('OwnedKeys', () => {
  const ours = task('status: running\nattempts: 2\nclaimed_by: "host:1"\nstarted_at: 2026-11-21T03:10:00Z\n');

  it('puts back the owned keys someone else changed, and only those', () => {
    const owned = new OwnedKeys();
    owned.record(ours);
    const hostile = task('status: done\nattempts: 0\nclaimed_by: "host:1"\nstarted_at: 2026-11-21T03:10:00Z\ncommit: abc\n');
    expect(owned.tampered(hostile)).toEqual(['status', 'attempts', 'commit']);
    expect(owned.merge(hostile, { tokens: 10 })).toEqual({
      changes: { tokens: 10, status: 'running', attempts: 2, commit: null },
      restored: ['status', 'attempts', 'commit'],
    });
    // A change the daemon makes itself wins over putting back.
    expect(owned.merge(hostile, { status: 'failed' }).changes.status).toBe('failed');
  });

  it('changes nothing before the first write, and nothing when the file is as written', () => {
    const owned = new OwnedKeys();
    expect(owned.merge(ours, { tokens: 1 })).toEqual({ changes: { tokens: 1 }, restored: [] });
    owned.record(ours);
    expect(
      owned.tampered(task('status: running\nattempts: 2\nclaimed_by: "host:1"\nstarted_at: 2026-11-21T03:10:00Z\nnote: user key\n')),
    ).toEqual([]);
  });

  it('takes only cancelled from the file', () => {
    expect(stillRunnable(task('status: cancelled\n'))).toBe(false);
    expect(stillRunnable(task('status: done\n'))).toBe(true);
    expect(stillRunnable(task('status: queued\n'))).toBe(true);
  });
});

describe('ownRunsAsRunning', () => {
  it('shows the tasks this daemon runs as running, and hands back the same array when none differs', () => {
    const entries: TaskEntry[] = [{ kind: 'task', task: task('status: done\n') }];
    expect(ownRunsAsRunning(entries, new Set())).toBe(entries);
    const view = ownRunsAsRunning(entries, new Set(['001-a']));
    expect(view).not.toBe(entries);
    expect(view[0]?.kind === 'task' && view[0].task.status).toBe('running');
    const cancelled: TaskEntry[] = [{ kind: 'task', task: task('status: cancelled\n') }];
    expect(ownRunsAsRunning(cancelled, new Set(['001-a']))).toBe(cancelled);
  });
});
