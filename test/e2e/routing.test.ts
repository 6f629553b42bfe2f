import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startDaemon, type DaemonHandle } from '../../src/daemon/start.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import type { AttemptFinished } from '../../src/run/events.js';
import { progressEvents, taskText, type Sandbox } from '../helpers/repo.js';
import { readTask } from '../helpers/task.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Routing, fallback, fail-closed and parking, with `command` executors (real scripts) that succeed, fail
 * the task, or report each kind of infrastructure failure the documented way (exit 75, or the
 * `nightshift: infra ...` line).
 */
const left = cleanUpAfterEach();

/** Each script appends its name to runs.log (so a test sees who ran, in order), then does its thing. */
const SCRIPTS: Record<string, string> = {
  ok: 'printf "hello from ok\\n" > hello.txt',
  'ok-b': 'printf "hello from ok-b\\n" > hello.txt',
  'ok-c': 'printf "hello from ok-c\\n" > hello.txt',
  fail: 'echo "cannot do it"; exit 3',
  auth: 'echo "nightshift: infra auth not logged in"; exit 1',
  tempfail: 'echo "service down"; exit 75',
  // Out of quota until the time in $RESET_FILE; fine once that has passed.
  limit:
    'reset=$(cat "$RESET_FILE"); if [ "$(date -u +%s)" -lt "$(date -u -d "$reset" +%s)" ]; then echo "nightshift: infra usage-limit reset=$reset quota gone"; exit 1; fi; printf "hello from limit\\n" > hello.txt',
};

interface Setup {
  sb: Sandbox;
  runs: () => Promise<string[]>;
  finished: AttemptFinished[];
}

async function setup(frontmatter: string): Promise<Setup> {
  const box = await left.sandbox();
  const bin = join(box.dir, 'bin');
  await mkdir(bin);
  const runsLog = join(box.dir, 'runs.log');
  const executors: string[] = [];
  for (const [name, body] of Object.entries(SCRIPTS)) {
    const file = join(bin, name);
    await writeFile(file, `#!/bin/sh\necho ${name} >> "${runsLog}"\n${body}\n`);
    await chmod(file, 0o755);
    executors.push(`  ${name}: { command: ["${file}"] }`);
  }
  await box.write(
    'rules.md',
    // The scripts log to runs.log outside the worktree, which the sandbox hides.
    `---\nsandbox: none\n${frontmatter}\ntest: grep -q hello hello.txt\nmax_attempts: 2\nexecutors:\n${executors.join('\n')}\n---\n`,
  );
  await box.git(['add', 'rules.md']);
  await box.git(['commit', '-qm', 'rules']);
  return {
    sb: box,
    runs: async () => (await readFile(runsLog, 'utf8').catch(() => '')).split('\n').filter(Boolean),
    finished: [],
  };
}

async function run(s: Setup, opts: { once?: boolean } = { once: true }): Promise<DaemonHandle> {
  const daemon = left.daemon(await startDaemon({ cwd: s.sb.repo, worktreeRoot: join(s.sb.dir, 'wt'), once: opts.once, rescanMs: 200 }));
  daemon.events.on('attempt:finished', (e) => s.finished.push(e));
  return daemon;
}

const events = async (s: Setup) => progressEvents(await s.sb.read('progress.txt'));

describe('routing: task executor > routes[kind] > executor', () => {
  it('runs each task on the executor it routes to', async () => {
    const s = await setup('executor: ok\nroutes: { docs: ok-b }');
    await s.sb.write('tasks/001-plain.md', taskText({ title: 'Plain', priority: 3 }));
    await s.sb.write('tasks/002-docs.md', taskText({ title: 'Docs', kind: 'docs', priority: 2 }));
    await s.sb.write('tasks/003-own.md', taskText({ title: 'Own', kind: 'docs', executor: 'ok-c', priority: 1 }));
    const summary = await (await run(s)).done;
    expect(summary).toMatchObject({ done: 3, failed: 0, blocked: 0 });
    expect((await s.runs()).sort()).toEqual(['ok', 'ok-b', 'ok-c']);
    expect(await s.sb.git(['show', 'nightshift/002-docs:hello.txt'])).toBe('hello from ok-b\n');
    expect(await s.sb.git(['show', 'nightshift/003-own:hello.txt'])).toBe('hello from ok-c\n');
    const claimed = (await events(s)).filter((e) => e.event === 'claimed').map((e) => `${e.id}=${e.fields.executor}`);
    expect(claimed.sort()).toEqual(['001-plain=ok', '002-docs=ok-b', '003-own=ok-c']);
  });
});

describe('fallback', () => {
  it('tries the fallbacks in order within one attempt on infra failures, and parks the ones that failed', async () => {
    const s = await setup('executor: auth\nfallback: [tempfail, ok]\nconcurrency: 1');
    await s.sb.write('tasks/001-first.md', taskText({ title: 'First', priority: 2 }));
    await s.sb.write('tasks/002-second.md', taskText({ title: 'Second', priority: 1 }));
    const summary = await (await run(s)).done;
    expect(summary).toMatchObject({ done: 2, failed: 0, blocked: 0 });
    // The second task went straight to the fallback: the parked executors were not tried again.
    expect(await s.runs()).toEqual(['auth', 'tempfail', 'ok', 'ok']);
    expect((await readTask(s.sb, '001-first')).fm).toMatchObject({ status: 'done', attempts: 1 });
    expect(await s.sb.git(['show', 'nightshift/001-first:hello.txt'])).toBe('hello from ok\n');

    const ev = await events(s);
    const fallbacks = ev.filter((e) => e.event === 'fallback').map((e) => [e.id, e.fields.from, e.fields.to]);
    expect(fallbacks).toEqual([
      ['001-first', 'auth', 'tempfail'],
      ['001-first', 'tempfail', 'ok'],
      ['002-second', 'tempfail', 'ok'],
    ]);
    const parked = ev.filter((e) => e.event === 'executor-parked').map((e) => [e.fields.executor, e.fields.cause, e.fields.until]);
    expect(parked).toEqual([
      ['auth', 'auth', 'restart'],
      ['tempfail', 'other', 'restart'],
    ]);
    expect(ev.find((e) => e.event === 'fallback')?.fields.reason).toBe('auth could not run (auth): auth: not logged in');

    // daemon status counts per executor: the infra failures against the executors that had them.
    expect(s.finished.filter((f) => f.id === '001-first').map((f) => [f.executor, f.result])).toEqual([
      ['auth', 'infra-failure'],
      ['tempfail', 'infra-failure'],
      ['ok', 'success'],
    ]);
  });

  it('never falls back on a task failure', async () => {
    const s = await setup('executor: fail\nfallback: [ok]');
    await s.sb.write('tasks/001-hard.md', taskText({ title: 'Hard' }));
    const summary = await (await run(s)).done;
    expect(summary).toMatchObject({ done: 0, failed: 1 });
    expect(await s.runs()).toEqual(['fail', 'fail']);
    const { fm } = await readTask(s.sb, '001-hard');
    expect(fm).toMatchObject({ status: 'failed', attempts: 2, error: 'executor fail failed (exit 3): cannot do it' });
    expect((await events(s)).some((e) => e.event === 'fallback' || e.event === 'executor-parked')).toBe(false);
  });
});

describe('attempt:finished (what daemon status sums per executor)', () => {
  it('names the agent that ran and carries the tokens it reported', async () => {
    const s = await setup('executor: auth\nfallback: [gemini]');
    const bin = join(s.sb.dir, 'agents');
    await mkdir(bin);
    await symlink(resolve(import.meta.dirname, '../fixtures/agents/bin/fake-agent.mjs'), join(bin, 'gemini'));
    const path = process.env.PATH;
    // The daemon runs in this process here: its executors see this process's PATH.
    process.env.PATH = `${bin}${delimiter}${path ?? ''}`;
    try {
      await s.sb.write('tasks/001-hello.md', taskText({ title: 'Hello' }, '# Goal\n\nSCENARIO: success\n'));
      expect(await (await run(s)).done).toMatchObject({ done: 1 });
    } finally {
      process.env.PATH = path;
    }
    expect(s.finished).toEqual([
      { id: '001-hello', attempt: 1, executor: 'auth', result: 'infra-failure', tokens: undefined, costUsd: undefined },
      { id: '001-hello', attempt: 1, executor: 'gemini', result: 'success', tokens: 10000, costUsd: undefined },
    ]);
    expect((await readTask(s.sb, '001-hello')).fm).toMatchObject({ status: 'done', tokens: 10000 });
  });
});

describe('fail closed', () => {
  it('blocks the task without using an attempt and stops claiming tasks for that executor', async () => {
    const s = await setup('executor: tempfail\nroutes: { docs: ok }\nconcurrency: 1');
    await s.sb.write('tasks/001-first.md', taskText({ title: 'First', priority: 3 }));
    await s.sb.write('tasks/002-second.md', taskText({ title: 'Second', priority: 2 }));
    await s.sb.write('tasks/003-docs.md', taskText({ title: 'Docs', kind: 'docs', priority: 1 }));
    const summary = await (await run(s)).done;
    expect(summary).toMatchObject({ done: 1, blocked: 1, failed: 0, waiting: 0, parked: 1 });
    expect(await s.runs()).toEqual(['tempfail', 'ok']);

    const first = (await readTask(s.sb, '001-first')).fm;
    expect(first).toMatchObject({ status: 'blocked', attempts: 0 });
    expect(first.error).toBe(
      'no executor could run, no attempt used: tempfail could not run (other): exit 75 (cannot run now): service down',
    );
    // Never claimed: the file is as the user wrote it (queued by default).
    expect(await s.sb.read('tasks/002-second.md')).toBe(taskText({ title: 'Second', priority: 2 }));
    expect((await readTask(s.sb, '003-docs')).fm).toMatchObject({ status: 'done' });
    const parked = (await events(s)).find((e) => e.event === 'executor-parked');
    expect(parked?.fields).toMatchObject({ executor: 'tempfail', cause: 'other', until: 'restart', task: '001-first' });
  });
});

describe('parking until a usage limit resets', () => {
  it('puts the task back, parks the executor until the reset time, then resumes by itself', async () => {
    const s = await setup('executor: limit');
    const reset = new Date(Date.now() + 4000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const resetFile = join(s.sb.dir, 'reset');
    await writeFile(resetFile, reset);
    process.env.RESET_FILE = resetFile;
    try {
      await s.sb.write('tasks/001-later.md', taskText({ title: 'Later' }));
      const handle = await run(s, { once: false });
      const requeued = await waitFor(
        'the task back in the queue',
        async () => (await events(s)).find((e) => e.event === 'requeued'),
        30_000,
      );
      expect(requeued.fields).toMatchObject({ until: reset });
      expect(requeued.fields.reason).toMatch(
        /^no executor could run, no attempt used: limit could not run \(usage-limit\): usage-limit: quota gone/,
      );
      const parked = (await events(s)).find((e) => e.event === 'executor-parked');
      expect(parked?.fields).toMatchObject({ executor: 'limit', cause: 'usage-limit', until: reset });

      await waitFor('the task done after the reset', async () => (await readTask(s.sb, '001-later')).fm.status === 'done', 40_000);
      const ev = await events(s);
      const resumed = ev.find((e) => e.event === 'executor-resumed');
      expect(resumed?.fields).toMatchObject({ executor: 'limit', was: 'usage-limit' });
      expect(resumed!.time >= reset).toBe(true);
      expect((await readTask(s.sb, '001-later')).fm).toMatchObject({ status: 'done', attempts: 1 });
      expect(await s.runs()).toEqual(['limit', 'limit']);
      await handle.stop();
    } finally {
      delete process.env.RESET_FILE;
    }
  });
});
