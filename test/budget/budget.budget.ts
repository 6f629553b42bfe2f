import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ledgerFile, parseEntry } from '../../src/budget/ledger.js';
import { listTasks } from '../../src/commands/list.js';
import { showStatus } from '../../src/commands/daemonStatus.js';
import { startDaemon } from '../../src/daemon/start.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { progressEvents, taskText, type Sandbox } from '../helpers/repo.js';
import { readTask } from '../helpers/task.js';
import { livePidsMatching, sleepMarker, spawnCli, waitFor } from '../helpers/wait.js';

/**
 * Budgets with a real command executor that reports what it spent on every attempt
 * (`nightshift: usage cost_usd=... tokens=...`), against a real repository and daemon.
 */
const left = cleanUpAfterEach();

/** Spends $0.10 and 100 tokens per attempt; hangs (after reporting) while $HANG_FLAG exists and the task is 002. */
const SPEND = [
  '#!/bin/sh',
  'echo "working on $NIGHTSHIFT_TASK_ID"',
  'echo "nightshift: usage cost_usd=0.1 tokens=100"',
  'if [ "$NIGHTSHIFT_TASK_ID" = "002-b" ] && [ -f "$HANG_FLAG" ]; then sleep "$(cat "$HANG_FLAG")"; fi',
  'echo "$NIGHTSHIFT_TASK_ID" > "out-$NIGHTSHIFT_TASK_ID.txt"',
].join('\n');

async function setup(budget: string, extra = ''): Promise<{ sb: Sandbox; rules: (budget: string) => Promise<void> }> {
  const sb = await left.sandbox();
  const bin = join(sb.dir, 'bin');
  await mkdir(bin);
  const spend = join(bin, 'spend');
  await writeFile(spend, `${SPEND}\n`);
  await chmod(spend, 0o755);
  const rules = (b: string) =>
    // The executor hangs on a flag file outside the worktree, which the sandbox would hide: unsandboxed.
    sb.write('rules.md', `---\nexecutor: spend\nsandbox: none\n${b}\n${extra}executors:\n  spend: { command: ["${spend}"] }\n---\n`);
  await rules(budget);
  await sb.git(['add', 'rules.md']);
  await sb.git(['commit', '-qm', 'rules']);
  return { sb, rules };
}

async function ledger(sb: Sandbox) {
  const text = await readFile(ledgerFile(join(sb.repo, '.nightshift')), 'utf8').catch(() => '');
  return text.split('\n').flatMap((l) => parseEntry(l) ?? []);
}

const total = (entries: Array<{ costUsd?: number }>) => Math.round(entries.reduce((s, e) => s + (e.costUsd ?? 0), 0) * 1e6) / 1e6;
const captured = () => {
  let text = '';
  return { io: { out: (t: string) => void (text += t), err: (t: string) => void (text += t) }, text: () => text };
};

describe('budget: per_day_usd', () => {
  it('stops claiming at the limit, shows why tasks wait, and resumes when rules.md raises it', async () => {
    const { sb, rules } = await setup('budget: { per_day_usd: 0.25 }', 'concurrency: 2\n');
    const ids = ['001-a', '002-b', '003-c', '004-d', '005-e', '006-f'];
    for (const id of ids) await sb.write(`tasks/${id}.md`, taskText({ title: `Task ${id}` }));
    const daemon = left.daemon(await startDaemon({ cwd: sb.repo, worktreeRoot: join(sb.dir, 'wt'), rescanMs: 60_000 }));
    const reached: unknown[] = [];
    daemon.events.on('budget:reached', (e) => reached.push(e));
    await waitFor('the budget to be reached', () => reached.length > 0, 60_000);
    // Nothing more starts: wait until nothing runs, then look.
    await waitFor(
      'the running attempts to finish',
      async () => {
        const statuses = await Promise.all(ids.map(async (id) => (await readTask(sb, id)).fm.status ?? 'queued'));
        return !statuses.includes('running') && statuses;
      },
      60_000,
    );
    const statuses = await Promise.all(ids.map(async (id) => (await readTask(sb, id)).fm.status ?? 'queued'));
    const done = statuses.filter((s) => s === 'done').length;
    // $0.25 is reached by the third $0.10 attempt; with two slots at most one more was already running.
    expect(done).toBeGreaterThanOrEqual(3);
    expect(done).toBeLessThanOrEqual(4);
    expect(statuses.filter((s) => s === 'queued')).toHaveLength(ids.length - done);
    const spent = total(await ledger(sb));
    expect(spent).toBeCloseTo(done * 0.1, 6);
    expect(reached[0]).toMatchObject({ budget: 'per_day_usd', limit: 0.25, unit: 'usd' });
    const lines = progressEvents(await sb.read('progress.txt')).filter((e) => e.event === 'budget-reached');
    expect(lines).toHaveLength(1);
    expect(lines[0]?.fields).toMatchObject({ budget: 'per_day_usd', limit: '0.25', unit: 'usd' });

    // The reason is visible where people look.
    const list = captured();
    await listTasks({ cwd: sb.repo }, list.io);
    const queuedRows = list
      .text()
      .split('\n')
      .filter((l) => / queued /.test(l));
    expect(queuedRows).toHaveLength(ids.length - done);
    for (const row of queuedRows) expect(row).toMatch(/waiting, budget per_day_usd reached \(\$0\.[34]0 of \$0\.25\)/);
    const status = captured();
    await showStatus({ cwd: sb.repo }, status.io);
    expect(status.text()).toMatch(/per_day_usd {2}\$0\.[34]0 of \$0\.25 {2}reached/);
    expect(status.text()).toContain('queued tasks wait: budget per_day_usd reached');

    // Raised in rules.md: the same daemon carries on, no restart.
    await rules('budget: { per_day_usd: 10 }');
    await waitFor(
      'every task to be done',
      async () => {
        const now = await Promise.all(ids.map(async (id) => (await readTask(sb, id)).fm.status));
        return now.every((s) => s === 'done');
      },
      90_000,
    );
    const entries = await ledger(sb);
    expect(entries).toHaveLength(ids.length);
    expect(total(entries)).toBeCloseTo(0.6, 6);
    for (const id of ids) expect((await readTask(sb, id)).fm).toMatchObject({ status: 'done', attempts: 1, cost_usd: 0.1, tokens: 100 });
  }, 240_000);
});

describe('budget: crash safety', () => {
  it('after kill -9 and a restart, no spend is lost and none is counted twice', async () => {
    const { sb } = await setup('budget: { per_day_usd: 100 }', 'concurrency: 1\nmax_attempts: 3\n');
    for (const id of ['001-a', '002-b', '003-c']) await sb.write(`tasks/${id}.md`, taskText({ title: id }));
    const marker = sleepMarker(60);
    left.markers.push(marker);
    const flag = join(sb.dir, 'hang');
    await writeFile(flag, marker);
    sb.env.HANG_FLAG = flag;
    const first = spawnCli(sb, ['daemon', 'start', '--once']);
    // 002-b's executor has reported its $0.10 and hangs: the daemon dies before it could record it.
    await waitFor('the executor of 002-b to hang', async () => (await livePidsMatching(marker)).length > 0, 60_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const before = await ledger(sb);
    expect(before.map((e) => e.task)).toEqual(['001-a']);

    await writeFile(flag, '0');
    const second = await sb.cli(['daemon', 'start', '--once']);
    expect(second.code).toBe(0);
    // 001-a once, 002-b's interrupted attempt (recovered from its transcript) and its second one, 003-c once.
    const after = await ledger(sb);
    expect(after.map((e) => `${e.task}#${e.attempt}`).sort()).toEqual(['001-a#1', '002-b#1', '002-b#2', '003-c#1']);
    expect(total(after)).toBeCloseTo(0.4, 6);
    // Every usage line any executor printed is in the ledger exactly once.
    const printed = (await Promise.all(['001-a/1', '002-b/1', '002-b/2', '003-c/1'].map((f) => sb.read(`.nightshift/logs/${f}.log`))))
      .join('\n')
      .split('\n')
      .filter((l) => l.startsWith('nightshift: usage')).length;
    expect(printed).toBe(4);

    // A third start recovers nothing and counts nothing again.
    const third = await sb.cli(['daemon', 'start', '--once']);
    expect(third.code).toBe(0);
    expect(await ledger(sb)).toEqual(after);
  }, 240_000);
});

describe('budget: hard', () => {
  it('a reached day budget stops the attempts still running; they go back to the queue without using an attempt', async () => {
    const sb = await left.sandbox();
    const bin = join(sb.dir, 'bin');
    await mkdir(bin);
    const marker = sleepMarker(120);
    left.markers.push(marker);
    const quick = join(sb.dir, 'quick');
    // 002-slow hangs until quick exists; 001-quick spends past the limit at once.
    const script = [
      '#!/bin/sh',
      'if [ "$NIGHTSHIFT_TASK_ID" = "001-quick" ]; then echo "nightshift: usage cost_usd=0.3"; echo q > q.txt; exit 0; fi',
      `if [ ! -f "${quick}" ]; then sleep ${marker}; fi`,
      'echo "nightshift: usage cost_usd=0.01"; echo s > s.txt',
    ].join('\n');
    await writeFile(join(bin, 'hard'), `${script}\n`);
    await chmod(join(bin, 'hard'), 0o755);
    const rules = (limit: number) =>
      sb.write(
        'rules.md',
        // 002-slow waits on a file outside the worktree, which the sandbox would hide: unsandboxed.
        `---\nexecutor: hard\nconcurrency: 2\nsandbox: none\nbudget: { per_day_usd: ${limit}, hard: true }\nexecutors:\n  hard: { command: ["${join(bin, 'hard')}"] }\n---\n`,
      );
    await rules(0.2);
    await sb.write('tasks/001-quick.md', taskText({ title: 'Quick', priority: 1 }));
    await sb.write('tasks/002-slow.md', taskText({ title: 'Slow', priority: 2 }));
    const daemon = left.daemon(await startDaemon({ cwd: sb.repo, worktreeRoot: join(sb.dir, 'wt'), rescanMs: 60_000 }));
    const requeued: Array<{ id: string; reason: string }> = [];
    daemon.events.on('task:requeued', (e) => requeued.push(e));
    await waitFor('002-slow to be stopped and requeued', () => requeued.length > 0, 60_000);
    expect(requeued).toEqual([{ id: '002-slow', reason: 'budget per_day_usd reached ($0.30 of $0.20)' }]);
    await waitFor('the executor to be gone', async () => (await livePidsMatching(marker)).length === 0, 30_000);
    expect((await readTask(sb, '002-slow')).fm).toMatchObject({
      status: 'queued',
      attempts: 0,
      error: 'budget per_day_usd reached ($0.30 of $0.20)',
    });
    expect((await readTask(sb, '001-quick')).fm).toMatchObject({ status: 'done', cost_usd: 0.3 });
    const slow = progressEvents(await sb.read('progress.txt'))
      .filter((e) => e.id === '002-slow')
      .map((e) => e.event);
    expect(slow).toEqual(['claimed', 'attempt-started', 'requeued']);

    // Raised: it runs again, as its first attempt.
    await writeFile(quick, '');
    await rules(5);
    await waitFor('002-slow to be done', async () => (await readTask(sb, '002-slow')).fm.status === 'done', 60_000);
    expect((await readTask(sb, '002-slow')).fm).toMatchObject({ attempts: 1, cost_usd: 0.01 });
    expect(total(await ledger(sb))).toBeCloseTo(0.31, 6);
  }, 240_000);
});

describe('budget: the reviewer', () => {
  it("counts the reviewer's spend against the day budget (source reviewer), not in the task's own cost", async () => {
    const { sb } = await setup('budget: { per_day_usd: 10 }', 'review: { executor: judge }\n');
    const judge = join(sb.dir, 'bin', 'judge');
    await writeFile(
      judge,
      `#!/bin/sh\necho "nightshift: usage cost_usd=0.05 tokens=50"\necho '{"verdict":"approve","confidence":0.9,"comments":"fine"}'\n`,
    );
    await chmod(judge, 0o755);
    const rulesText = await sb.read('rules.md');
    await sb.write('rules.md', rulesText.replace('executors:\n', `executors:\n  judge: { command: ["${judge}"] }\n`));
    await sb.write('tasks/001-a.md', taskText({ title: 'A' }));
    const summary = await left.daemon(await startDaemon({ cwd: sb.repo, worktreeRoot: join(sb.dir, 'wt'), once: true })).done;
    expect(summary).toMatchObject({ done: 1 });
    const entries = await ledger(sb);
    expect(entries.map((e) => [e.source, e.executor, e.costUsd, e.tokens])).toEqual([
      ['reviewer', 'judge', 0.05, 50],
      ['executor', 'spend', 0.1, 100],
    ]);
    expect((await readTask(sb, '001-a')).fm).toMatchObject({ cost_usd: 0.1, tokens: 100 });
  }, 120_000);
});

describe('budget: per_task_tokens', () => {
  it('stops an executor whose streamed usage passes what the task may still use; the task then fails over its budget', async () => {
    const sb = await left.sandbox();
    const bin = join(sb.dir, 'bin');
    await mkdir(bin);
    const marker = sleepMarker(120);
    left.markers.push(marker);
    // Reports a running total that passes 1000 tokens, then would go on for two minutes.
    await writeFile(
      join(bin, 'chatty'),
      `#!/bin/sh\necho "nightshift: usage tokens=400"\necho "nightshift: usage cost_usd=0.02 tokens=1500"\nsleep ${marker}\n`,
    );
    await chmod(join(bin, 'chatty'), 0o755);
    await sb.write(
      'rules.md',
      `---\nexecutor: chatty\nmax_attempts: 3\nbudget: { per_task_tokens: 1000 }\nexecutors:\n  chatty: { command: ["${join(bin, 'chatty')}"] }\n---\n`,
    );
    await sb.write('tasks/001-chatty.md', taskText({ title: 'Chatty' }));
    const started = Date.now();
    const summary = await left.daemon(await startDaemon({ cwd: sb.repo, worktreeRoot: join(sb.dir, 'wt'), once: true })).done;
    expect(summary).toMatchObject({ failed: 1 });
    // Stopped within seconds, not after the two minutes it meant to run.
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(await livePidsMatching(marker)).toEqual([]);
    const { fm } = await readTask(sb, '001-chatty');
    expect(fm).toMatchObject({
      status: 'failed',
      attempts: 1,
      tokens: 1500,
      cost_usd: 0.02,
      error: 'budget: per_task_tokens reached (1,500 tokens of 1,000 tokens)',
    });
    const events = progressEvents(await sb.read('progress.txt')).filter((e) => e.id === '001-chatty');
    expect(events.find((e) => e.event === 'attempt-failed')?.fields.reason).toBe(
      'budget: per_task_tokens passed during the attempt (1,500 tokens of the 1,000 tokens left)',
    );
    expect(events.filter((e) => e.event === 'attempt-started')).toHaveLength(1);
    expect((await ledger(sb)).map((e) => e.tokens)).toEqual([1500]);
  }, 120_000);
});
