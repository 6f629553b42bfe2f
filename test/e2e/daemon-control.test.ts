import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { progressEvents, runCli, taskText, type Sandbox } from '../helpers/repo.js';
import { readTask } from '../helpers/task.js';
import { pidAlive } from '../../src/locks/pids.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { livePidsMatching, sleepMarker, spawnCli, waitFor } from '../helpers/wait.js';

const { sandbox, markers, pids } = cleanUpAfterEach();

// A detached daemon is reparented to PID 1, which in a container may leave it a zombie for a while.
const alive = pidAlive;
const events = async (sb: Sandbox) => progressEvents(await sb.read('progress.txt').catch(() => ''));
const status = async (sb: Sandbox) =>
  JSON.parse((await sb.cli(['daemon', 'status', '--json'])).stdout) as {
    running: boolean;
    daemons: Array<{ pid: number; state: string }>;
    tasks: Record<string, number>;
    runningTasks: Array<{ id: string; attempt: number; elapsedMs: number }>;
    executors: Record<string, { attempts: number; successes: number; taskFailures: number }>;
  };

describe('daemon status: parked executors', () => {
  it('lists an executor parked by an outage, with its cause and when it comes back', async () => {
    const rules = [
      '---',
      'executors:',
      '  down: { command: ["sh", "-c", "echo \'nightshift: infra server provider is down\'; exit 1"] }',
      '---',
      '',
    ].join('\n');
    const sb = await sandbox(rules);
    await sb.write('tasks/001-outage.md', taskText({ title: 'Outage', executor: 'down' }));
    const started = await sb.cli(['daemon', 'start', '--detach']);
    expect(started.code).toBe(0);
    const pid = Number(/\(pid (\d+)\)/.exec(started.stdout)?.[1]);
    pids.push(pid);

    const parked = await waitFor('the executor to show as parked', async () => {
      const out = JSON.parse((await sb.cli(['daemon', 'status', '--json'])).stdout) as { parked: Array<Record<string, unknown>> };
      return out.parked.length > 0 ? out.parked : undefined;
    });
    expect(parked).toEqual([
      expect.objectContaining({ executor: 'down', cause: 'server', reason: 'server: provider is down', daemon: pid }),
    ]);
    // An outage passes by itself: back in about ten minutes, not "until restart".
    const back = Date.parse(String(parked[0]?.until)) - Date.now();
    expect(back).toBeGreaterThan(8 * 60_000);
    expect(back).toBeLessThanOrEqual(10 * 60_000);
    const human = (await sb.cli(['daemon', 'status'])).stdout;
    expect(human).toMatch(
      /parked executors \(no new tasks\):\n {2}down {2}server {2}until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: server: provider is down\n/,
    );
    // The task waits in the queue with its attempts untouched.
    await waitFor('the task back in the queue', async () => (await readTask(sb, '001-outage')).fm.status === 'queued');
    expect((await readTask(sb, '001-outage')).fm.attempts).toBe(0);
    expect((await sb.cli(['daemon', 'stop'])).code).toBe(0);
  });
});

describe('daemon start --detach, status, stop', () => {
  it('runs in the background, refuses a second daemon, reports status and stops from another process', async () => {
    const sb = await sandbox('---\nstop_grace: 1s\n---\n');
    const marker = sleepMarker(60);
    markers.push(marker);
    await sb.write('tasks/001-quick.md', taskText({ title: 'Quick', run: 'echo q > q.txt' }));
    await sb.write('tasks/002-long.md', taskText({ title: 'Long', run: `echo started; sh -c 'sleep ${marker} & sleep ${marker}'` }));

    const none = await sb.cli(['daemon', 'status']);
    expect(none).toMatchObject({ code: 0, stderr: '' });
    expect(none.stdout).toContain('nightshift daemon: not running');
    expect(none.stdout).toContain('tasks: 2 queued');

    const started = await sb.cli(['daemon', 'start', '--detach']);
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    const pid = Number(/\(pid (\d+)\)/.exec(started.stdout)?.[1]);
    pids.push(pid);
    expect(alive(pid)).toBe(true);
    expect((await sb.read('.nightshift/daemon.pid')).trim()).toBe(String(pid));

    const second = await sb.cli(['daemon', 'start', '--detach']);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`a nightshift daemon is already running on this checkout (pid ${pid})`);
    expect(second.stderr).toContain('hint:');
    const foreground = await sb.cli(['daemon', 'start', '--once']);
    expect(foreground.code).toBe(2);
    expect(foreground.stderr).toContain('already running');

    await waitFor('001-quick done', async () => (await readTask(sb, '001-quick')).fm.status === 'done');
    const report = await waitFor('002-long in the status', async () => {
      const s = await status(sb);
      return s.runningTasks.some((r) => r.id === '002-long') && s.executors.shell?.successes === 1 ? s : undefined;
    });
    expect(report).toMatchObject({ running: true, daemons: [{ pid, state: 'running' }] });
    expect(report.tasks).toMatchObject({ done: 1, running: 1, queued: 0 });
    expect(report.runningTasks).toEqual([expect.objectContaining({ id: '002-long', attempt: 1 })]);
    expect(report.executors.shell).toMatchObject({ attempts: 1, successes: 1, taskFailures: 0 });
    const human = await sb.cli(['daemon', 'status']);
    expect(human.stdout).toContain(`nightshift daemon: running (pid ${pid}`);
    expect(human.stdout).toMatch(/running:\n {2}002-long {2}attempt 1 {2}\d+s\n/);
    expect(human.stdout).toContain('tasks: 1 running, 1 done');
    expect(human.stdout).toMatch(/shell {2}attempts 1 {2}successes 1 {2}task failures 0 {2}infra failures 0/);

    await waitFor('the long executor to run', async () => (await livePidsMatching(marker)).length > 0);
    const stop = await sb.cli(['daemon', 'stop']);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toContain(`stopping daemon ${pid}`);
    expect(stop.stdout).toContain('nightshift: stopped');
    expect(alive(pid)).toBe(false);
    expect(await livePidsMatching(marker)).toEqual([]);
    expect(existsSync(join(sb.repo, '.nightshift/daemon.pid'))).toBe(false);
    expect((await readTask(sb, '002-long')).fm).toMatchObject({ status: 'queued', attempts: 1 });
    expect((await events(sb)).slice(-2).map((e) => `${e.id} ${e.event}`)).toEqual(['002-long requeued', '- daemon-stop']);
    expect((await sb.cli(['daemon', 'status'])).stdout).toContain('not running');
    expect(await sb.cli(['daemon', 'stop'])).toMatchObject({ code: 0, stdout: 'nightshift: no daemon is running on this checkout\n' });
  });

  it('takes over the pid file of a daemon that was killed', async () => {
    const sb = await sandbox('---\n---\n');
    const first = spawnCli(sb, ['daemon', 'start']);
    const pid = first.child.pid as number;
    await waitFor('the pid file', () => existsSync(join(sb.repo, '.nightshift/daemon.pid')));
    first.child.kill('SIGKILL');
    await first.exited;
    await sb.write('tasks/001-after.md', taskText({ title: 'After', run: 'echo a > a.txt' }));
    const r = await sb.cli(['daemon', 'start', '--once']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(pid).toBeGreaterThan(0);
    expect(existsSync(join(sb.repo, '.nightshift/daemon.pid'))).toBe(false);
  });
});

describe('graceful and forced stop', () => {
  it('lets a running attempt finish within the grace period, starting nothing new', async () => {
    // The executor and the test talk through a file outside the worktree, which the sandbox hides.
    const sb = await sandbox('---\nsandbox: none\nstop_grace: 2m\nconcurrency: 1\n---\n');
    const gate = join(sb.dir, 'gate');
    await sb.write(
      'tasks/001-gated.md',
      taskText({ title: 'Gated', run: `echo waiting; while [ ! -f '${gate}' ]; do sleep 0.05; done; echo g > g.txt` }),
    );
    await sb.write('tasks/002-next.md', taskText({ title: 'Next', run: 'echo n > n.txt' }));
    const daemon = spawnCli(sb, ['daemon', 'start']);
    pids.push(daemon.child.pid as number);
    await waitFor('001-gated to run', async () => (await readTask(sb, '001-gated')).fm.status === 'running');
    const stop = runCli(['daemon', 'stop'], sb.repo, sb.env);
    await waitFor('the daemon to be stopping', async () => (await status(sb)).daemons[0]?.state === 'stopping');
    await writeFile(gate, '');
    expect(await stop).toMatchObject({ code: 0 });
    expect((await daemon.exited).code).toBe(0);
    expect((await readTask(sb, '001-gated')).fm.status).toBe('done');
    expect((await readTask(sb, '002-next')).fm.status).toBeUndefined(); // never claimed
  });

  it('a second stop, or --force, stops running attempts at once and requeues them', async () => {
    const sb = await sandbox('---\nstop_grace: 10m\n---\n');
    const marker = sleepMarker(600);
    markers.push(marker);
    // Ignores SIGTERM: only the forced stop's SIGKILL ends it.
    await sb.write('tasks/001-stubborn.md', taskText({ title: 'Stubborn', run: `trap '' TERM; sh -c 'trap "" TERM; sleep ${marker}'` }));
    const daemon = spawnCli(sb, ['daemon', 'start']);
    pids.push(daemon.child.pid as number);
    await waitFor('the executor', async () => (await livePidsMatching(marker)).length > 0);
    const graceful = runCli(['daemon', 'stop'], sb.repo, sb.env);
    await waitFor('the daemon to be stopping', async () => (await status(sb)).daemons[0]?.state === 'stopping');
    const second = await sb.cli(['daemon', 'stop']);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('now');
    expect((await graceful).code).toBe(0);
    expect((await daemon.exited).code).toBe(0);
    expect(await livePidsMatching(marker)).toEqual([]);
    expect((await readTask(sb, '001-stubborn')).fm).toMatchObject({ status: 'queued', attempts: 1 });

    const again = spawnCli(sb, ['daemon', 'start']);
    pids.push(again.child.pid as number);
    await waitFor('the executor again', async () => (await livePidsMatching(marker)).length > 0);
    const forced = await sb.cli(['daemon', 'stop', '--force']);
    expect(forced.code).toBe(0);
    expect((await again.exited).code).toBe(0);
    expect(await livePidsMatching(marker)).toEqual([]);
    expect((await readTask(sb, '001-stubborn')).fm).toMatchObject({ status: 'queued', attempts: 2 });
  });
});

describe('retry backoff', () => {
  it('waits longer before each retry, and says so in retry-scheduled', async () => {
    const sb = await sandbox('---\nretry_backoff: 300ms\nmax_attempts: 3\n---\n');
    await sb.write('tasks/001-fails.md', taskText({ title: 'Fails', run: 'echo nope; exit 1' }));
    expect((await sb.cli(['daemon', 'start', '--once'])).code).toBe(1);
    const lines = (await events(sb)).filter((e) => e.event === 'retry-scheduled' || e.event === 'attempt-started');
    expect(lines.map((e) => [e.event, e.fields.attempt, e.fields.in ?? ''])).toEqual([
      ['attempt-started', '1', ''],
      ['retry-scheduled', '2', '0s'],
      ['attempt-started', '2', ''],
      ['retry-scheduled', '3', '1s'],
      ['attempt-started', '3', ''],
    ]);
    const log = await readFile(join(sb.repo, '.nightshift/daemon.log'), 'utf8');
    const times = log
      .split('\n')
      .filter((l) => l.includes('"attempt started"'))
      .map((l) => (JSON.parse(l) as { time: number }).time);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(300);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(600);
  });

  it('a stop during the backoff puts the task back in the queue at once', async () => {
    const sb = await sandbox('---\nretry_backoff: 1h\nstop_grace: 1h\n---\n');
    await sb.write('tasks/001-fails.md', taskText({ title: 'Fails', run: 'echo nope; exit 1' }));
    const daemon = spawnCli(sb, ['daemon', 'start']);
    pids.push(daemon.child.pid as number);
    await waitFor('retry-scheduled', async () => (await events(sb)).some((e) => e.event === 'retry-scheduled'));
    expect((await events(sb)).find((e) => e.event === 'retry-scheduled')?.fields).toEqual({ attempt: '2', in: '1h0m0s' });
    const stop = await sb.cli(['daemon', 'stop']);
    expect(stop.code).toBe(0);
    expect((await daemon.exited).code).toBe(0);
    const { fm } = await readTask(sb, '001-fails');
    expect(fm).toMatchObject({ status: 'queued', attempts: 1, error: 'executor shell failed (exit 1): nope' });
    expect((await events(sb)).slice(-2).map((e) => `${e.id} ${e.event}`)).toEqual(['001-fails requeued', '- daemon-stop']);
  });
});
