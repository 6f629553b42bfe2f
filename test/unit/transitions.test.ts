import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InternalError } from '../../src/errors.js';
import { DaemonEvents, type DaemonEventMap } from '../../src/run/events.js';
import { ProgressLog } from '../../src/progress/log.js';
import { readTaskEntry } from '../../src/task/store.js';
import { OWNED_KEYS, STATUSES, type Status, type Task } from '../../src/task/task.js';
import { assertLegal, isLegal, LEGAL, type Transition } from '../../src/task/transitionTable.js';
import { guardedTaskFile, taskTransitions, type TaskTransitions } from '../../src/task/transitions.js';
import { approveOnRequest, blockedInBulk, cancelOnRequest, requeueOnRequest } from '../../src/task/transitionsUnclaimed.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';

const ID = '007-add-login';
const BASE = 'a'.repeat(40);
const COMMIT = 'c0ffee1'.padEnd(40, '0');
const BRANCH = `nightshift/${ID}`;
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const KEPT = { commit: COMMIT, baseCommit: BASE };
/** A final status: when, and nobody's claim any more. */
const FINISHED = { finished_at: TIME, claimed_by: undefined };

/** The keys a task file holds in each status before a transition (what nightshift would have left there). */
const BEFORE: Record<Status, string[]> = {
  queued: [],
  draft: [],
  running: ['attempts: 1', 'claimed_by: host:1', 'started_at: 2026-11-21T03:10:00Z', `branch: ${BRANCH}`, `base_commit: ${BASE}`],
  done: ['attempts: 1', `commit: ${COMMIT}`, `branch: ${BRANCH}`, 'finished_at: 2026-11-21T03:14:12Z'],
  failed: ['attempts: 2', 'error: "tests failed"', `commit: ${COMMIT}`, 'finished_at: 2026-11-21T03:14:12Z'],
  blocked: ['error: "dependency 001-setup is failed"', 'finished_at: 2026-11-21T03:14:12Z'],
  cancelled: ['attempts: 1', 'finished_at: 2026-11-21T03:14:12Z'],
};

interface Setup {
  task: Task;
  locks: string;
  progress: ProgressLog;
  events: DaemonEvents;
  /** The transitions of a run (or recovery) that still owns the task unless it was cancelled. */
  run: TaskTransitions;
}

type Emitted = Array<[keyof DaemonEventMap, unknown]>;

/** One legal transition, as its caller makes it, and what the file, progress.txt and the events must then say. */
interface Case {
  name: string;
  from: Status;
  transition: Transition;
  to: Status;
  act: (s: Setup) => Promise<unknown>;
  /** Owned keys after the transition (absent: undefined). */
  keys: Record<string, unknown>;
  /** progress.txt lines without their time stamp. */
  lines: string[];
  events: Emitted;
}

const running = { claimed_by: 'host:1', started_at: '2026-11-21T03:10:00Z', branch: BRANCH, base_commit: BASE };
const cases: Case[] = [
  {
    name: 'claim: the first attempt is counted',
    from: 'queued',
    transition: 'claim',
    to: 'running',
    act: ({ run }) => run.claim({ by: 'host:1', executor: 'shell', on: '001-setup', branch: BRANCH, baseCommit: BASE }),
    keys: { status: 'running', attempts: 1, claimed_by: 'host:1', started_at: TIME, branch: BRANCH, base_commit: BASE },
    lines: [`${ID} claimed by=host:1 executor=shell on=001-setup`],
    events: [],
  },
  {
    name: 'blocked before the claim (plan drifted)',
    from: 'queued',
    transition: 'blocked',
    to: 'blocked',
    act: ({ run }) => run.blocked('the plan drifted'),
    keys: { status: 'blocked', error: 'the plan drifted', finished_at: TIME },
    lines: [`${ID} blocked reason="the plan drifted"`],
    events: [['task:blocked', { id: ID, reason: 'the plan drifted' }]],
  },
  {
    name: 'blocked in bulk (a dependency failed)',
    from: 'queued',
    transition: 'blocked',
    to: 'blocked',
    act: (s) => blockedInBulk(s.locks, s, [{ task: s.task, reason: 'dependency 001-setup is failed' }]),
    keys: { status: 'blocked', error: 'dependency 001-setup is failed', finished_at: TIME },
    lines: [`${ID} blocked reason="dependency 001-setup is failed"`],
    events: [['task:blocked', { id: ID, reason: 'dependency 001-setup is failed' }]],
  },
  ...(['queued', 'running', 'failed', 'blocked', 'draft'] as const).map((from): Case => ({
    name: `cancel on request from ${from}`,
    from,
    transition: 'cancelled',
    to: 'cancelled',
    act: (s) => cancelOnRequest(s.locks, s, s.task, false),
    keys: { ...keysOf(from), status: 'cancelled', finished_at: TIME, claimed_by: undefined },
    lines: [`${ID} cancelled from=${from}`],
    events: [],
  })),
  {
    name: 'cancelled: the run notices what `cancel` wrote',
    from: 'running',
    transition: 'cancelled',
    to: 'cancelled',
    act: async (s) => {
      await cancelOnRequest(s.locks, s, s.task, false);
      s.run.cancelNoticed();
    },
    keys: { ...running, attempts: 1, status: 'cancelled', finished_at: TIME, claimed_by: undefined },
    lines: [`${ID} cancelled from=running`],
    events: [['task:cancelled', { id: ID }]],
  },
  {
    name: 'start attempt 2: counted, with its start commit',
    from: 'running',
    transition: 'startAttempt',
    to: 'running',
    act: ({ run }) => run.startAttempt({ attempt: 2, of: 3, baseCommit: COMMIT, publishOnly: false, count: true }),
    keys: { ...running, status: 'running', attempts: 2, base_commit: COMMIT },
    lines: [`${ID} attempt-started attempt=2 of=3 base=c0ffee1`],
    events: [['task:claimed', { id: ID, attempt: 2 }]],
  },
  {
    name: 'attempt failed',
    from: 'running',
    transition: 'attemptFailed',
    to: 'running',
    act: ({ run }) => run.attemptFailed(1, 'tests failed (exit 1)'),
    keys: { ...running, status: 'running', attempts: 1 },
    lines: [`${ID} attempt-failed attempt=1 reason="tests failed (exit 1)"`],
    events: [['task:attempt-failed', { id: ID, attempt: 1, reason: 'tests failed (exit 1)' }]],
  },
  {
    name: 'retry scheduled',
    from: 'running',
    transition: 'retryScheduled',
    to: 'running',
    act: ({ run }) => run.retryScheduled({ attempt: 2, delayMs: 30_000 }),
    keys: { ...running, status: 'running', attempts: 1 },
    lines: [`${ID} retry-scheduled attempt=2 in=30s`],
    events: [],
  },
  {
    name: 'retry scheduled: publishing a kept commit again',
    from: 'running',
    transition: 'retryScheduled',
    to: 'running',
    act: ({ run }) => run.retryScheduled({ attempt: 1, delayMs: 30_000, publishing: { kept: KEPT, branch: BRANCH, error: 'push failed' } }),
    keys: { ...running, status: 'running', attempts: 1, commit: COMMIT, error: 'push failed' },
    lines: [`${ID} retry-scheduled attempt=1 in=30s publish_only=yes`],
    events: [],
  },
  {
    name: 'done',
    from: 'running',
    transition: 'done',
    to: 'done',
    act: ({ run }) => {
      const usage = { tokens: 18342, cost_usd: 0.42 };
      return run.done({ attempt: 1, commit: COMMIT, branch: BRANCH, durationMs: 252_000, usage });
    },
    keys: { ...running, status: 'done', attempts: 1, commit: COMMIT, finished_at: TIME, claimed_by: undefined },
    lines: [`${ID} done attempt=1 duration=4m12s commit=c0ffee1 branch=${BRANCH} tokens=18342 cost_usd=0.42`],
    events: [['task:done', { id: ID, attempt: 1, commit: COMMIT, branch: BRANCH }]],
  },
  {
    name: 'failed, its empty branch dropped',
    from: 'running',
    transition: 'failed',
    to: 'failed',
    act: ({ run }) => run.failed({ attempt: 1, reason: 'guard: src/auth/login.ts is protected', branch: null }),
    keys: { ...running, status: 'failed', attempts: 1, branch: undefined, error: 'guard: src/auth/login.ts is protected', ...FINISHED },
    lines: [`${ID} failed attempts=1 reason="guard: src/auth/login.ts is protected"`],
    events: [['task:failed', { id: ID, attempt: 1, reason: 'guard: src/auth/login.ts is protected' }]],
  },
  {
    name: 'failed with a checked commit kept for a requeue to publish',
    from: 'running',
    transition: 'failed',
    to: 'failed',
    act: ({ run }) => run.failed({ attempt: 1, reason: 'push failed', branch: BRANCH, kept: KEPT }),
    keys: { ...running, status: 'failed', attempts: 1, commit: COMMIT, error: 'push failed', finished_at: TIME, claimed_by: undefined },
    lines: [`${ID} failed attempts=1 reason="push failed"`],
    events: [['task:failed', { id: ID, attempt: 1, reason: 'push failed' }]],
  },
  {
    name: 'blocked during an attempt: the attempt given back',
    from: 'running',
    transition: 'blocked',
    to: 'blocked',
    act: ({ run }) => run.blocked('executor nope is not installed', { attempt: 1, branch: null }),
    keys: { ...running, status: 'blocked', attempts: 0, branch: undefined, error: 'executor nope is not installed', ...FINISHED },
    lines: [`${ID} blocked reason="executor nope is not installed"`],
    events: [['task:blocked', { id: ID, reason: 'executor nope is not installed' }]],
  },
  {
    name: 'requeued: the daemon stops before an attempt',
    from: 'running',
    transition: 'requeued',
    to: 'queued',
    act: ({ run }) => run.requeued({ attempt: 1, givesBack: true }),
    keys: { ...running, status: 'queued', attempts: 0, claimed_by: undefined },
    lines: [`${ID} requeued attempt=1 reason="daemon stopping"`],
    events: [['task:requeued', { id: ID, reason: 'daemon stopping' }]],
  },
  {
    name: 'requeued: the daemon stops with a checked commit kept',
    from: 'running',
    transition: 'requeued',
    to: 'queued',
    act: ({ run }) => run.requeued({ attempt: 1, branch: BRANCH, error: 'push failed', kept: KEPT }),
    keys: { ...running, status: 'queued', attempts: 1, commit: COMMIT, error: 'push failed', claimed_by: undefined },
    lines: [`${ID} requeued attempt=1 reason="daemon stopping"`],
    events: [['task:requeued', { id: ID, reason: 'daemon stopping' }]],
  },
  {
    name: 'waiting for an executor until a known time',
    from: 'running',
    transition: 'waitingForExecutor',
    to: 'queued',
    act: ({ run }) => {
      const until = new Date('2026-11-21T05:00:00.500Z');
      return run.waitingForExecutor({ attempt: 1, reason: 'claude: usage limit', branch: null, until });
    },
    keys: { ...running, status: 'queued', attempts: 0, branch: undefined, error: 'claude: usage limit', claimed_by: undefined },
    lines: [`${ID} requeued attempt=1 reason="claude: usage limit" until=2026-11-21T05:00:00Z`],
    events: [['task:requeued', { id: ID, reason: 'claude: usage limit' }]],
  },
  {
    name: 'waiting for the budget',
    from: 'running',
    transition: 'waitingForBudget',
    to: 'queued',
    act: ({ run }) => run.waitingForBudget({ attempt: 2, reason: 'budget per_day_usd reached ($2.00 of $2.00)', branch: null }),
    keys: {
      ...running,
      status: 'queued',
      attempts: 1,
      branch: undefined,
      error: 'budget per_day_usd reached ($2.00 of $2.00)',
      claimed_by: undefined,
    },
    lines: [`${ID} requeued attempt=2 reason="budget per_day_usd reached ($2.00 of $2.00)"`],
    events: [['task:requeued', { id: ID, reason: 'budget per_day_usd reached ($2.00 of $2.00)' }]],
  },
  {
    name: 'recovered: back to the queue',
    from: 'running',
    transition: 'recovered',
    to: 'queued',
    act: ({ run }) => run.recovered({ then: 'queued', reason: 'interrupted', branch: null }),
    keys: { ...running, status: 'queued', attempts: 1, branch: undefined, error: 'interrupted', claimed_by: undefined },
    lines: [`${ID} recovered attempts=1 from=host:1 then=queued`],
    events: [],
  },
  {
    name: 'recovered: a landing commit kept',
    from: 'running',
    transition: 'recovered',
    to: 'queued',
    act: ({ run }) => run.recovered({ then: 'queued', reason: 'interrupted', kept: KEPT }),
    keys: { ...running, status: 'queued', attempts: 1, commit: COMMIT, error: 'interrupted', claimed_by: undefined },
    lines: [`${ID} recovered attempts=1 from=host:1 then=queued publish_only=yes`],
    events: [],
  },
  {
    name: 'recovered: out of attempts',
    from: 'running',
    transition: 'recovered',
    to: 'failed',
    act: ({ run }) => run.recovered({ then: 'failed', reason: 'interrupted' }),
    keys: { ...running, status: 'failed', attempts: 1, error: 'interrupted', claimed_by: undefined },
    lines: [`${ID} recovered attempts=1 from=host:1 then=failed`, `${ID} failed attempts=1 reason=interrupted`],
    events: [['task:failed', { id: ID, attempt: 1, reason: 'interrupted' }]],
  },
  {
    name: 'recovered to finalize: still running',
    from: 'running',
    transition: 'recovered',
    to: 'running',
    act: ({ run }) => run.finalizing(COMMIT),
    keys: { ...running, status: 'running', attempts: 1 },
    lines: [`${ID} recovered attempts=1 from=host:1 then=finalize commit=c0ffee1`],
    events: [],
  },
  {
    name: 'finalized: done',
    from: 'running',
    transition: 'finalized',
    to: 'done',
    act: ({ run }) => run.finalized({ kind: 'done', commit: COMMIT, branch: BRANCH }),
    keys: { ...running, status: 'done', attempts: 1, commit: COMMIT, finished_at: TIME, claimed_by: undefined },
    lines: [`${ID} done attempt=1 commit=c0ffee1 branch=${BRANCH} recovered=yes`],
    events: [['task:done', { id: ID, attempt: 1, commit: COMMIT, branch: BRANCH }]],
  },
  {
    name: 'finalized: the push failed, requeued to publish',
    from: 'running',
    transition: 'finalized',
    to: 'queued',
    act: ({ run }) => run.finalized({ kind: 'requeued', commit: COMMIT, branch: BRANCH, reason: 'push to origin failed' }),
    keys: { ...running, status: 'queued', attempts: 1, commit: COMMIT, error: 'push to origin failed', claimed_by: undefined },
    lines: [`${ID} requeued attempt=1 reason="push to origin failed" publish_only=yes`],
    events: [['task:requeued', { id: ID, reason: 'push to origin failed' }]],
  },
  {
    name: 'approve on request: a planned draft enters the queue',
    from: 'draft',
    transition: 'approved',
    to: 'queued',
    act: (s) => approveOnRequest(s.locks, s, s.task, { plan: '20261201-044200-login', forced: true }),
    keys: { status: 'queued' },
    lines: [`${ID} approved plan=20261201-044200-login forced=yes`],
    events: [],
  },
  ...(['failed', 'blocked', 'draft', 'cancelled', 'done'] as const).map((from): Case => ({
    name: `requeue on request from ${from}`,
    from,
    transition: 'requeued',
    to: 'queued',
    act: (s) => requeueOnRequest(s.locks, s, s.task),
    keys: {
      ...keysOf(from),
      status: 'queued',
      attempts: 0,
      error: undefined,
      finished_at: undefined,
      started_at: undefined,
      claimed_by: undefined,
      // A failed task's commit failed to publish: kept for the next claim to publish.
      commit: from === 'failed' ? COMMIT : undefined,
    },
    lines: [`${ID} requeued from=${from} attempts=${keysOf(from).attempts ?? 0}`],
    events: [],
  })),
];

/** The owned keys BEFORE puts in a file of this status, as parsed values. */
function keysOf(status: Status): Record<string, string | number> {
  const parsed = BEFORE[status].map((line) => {
    const [key = '', ...rest] = line.split(': ');
    const raw = rest.join(': ');
    const value = /^\d+$/.test(raw) ? Number(raw) : raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    return [key, value] as const;
  });
  return Object.fromEntries(parsed);
}

const left = cleanUpAfterEach();

async function setup(status: Status, emitted: Emitted): Promise<Setup> {
  const dir = await left.tempDir('nightshift-transitions-');
  await mkdir(join(dir, 'tasks'));
  const file = join(dir, 'tasks', `${ID}.md`);
  const front = ['title: Add login form', 'reviewer: alice   # the user key, kept', `status: ${status}`, ...BEFORE[status]];
  await writeFile(file, `---\n${front.join('\n')}\n---\n# Goal\nA login form.\n`);
  const task = await readTask(file);
  const events = new DaemonEvents();
  const names: Array<keyof DaemonEventMap> = [
    'task:claimed',
    'task:attempt-failed',
    'task:done',
    'task:failed',
    'task:blocked',
    'task:cancelled',
    'task:requeued',
  ];
  for (const name of names) events.on(name, (payload: unknown) => void emitted.push([name, payload]));
  const locks = join(dir, 'locks');
  const progress = new ProgressLog(join(dir, 'progress.txt'));
  const run = taskTransitions(
    { progress, events },
    guardedTaskFile(locks, task, (t) => t.status !== 'cancelled'),
  );
  return { task, locks, progress, events, run };
}

async function readTask(file: string): Promise<Task> {
  const entry = await readTaskEntry(file, ID);
  if (entry.kind !== 'task') throw new Error(`task file does not parse: ${entry.invalid.reason}`);
  return entry.task;
}

async function progressLines(s: Setup): Promise<string[]> {
  const text = await readFile(s.progress.file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => line.replace(/^\S+ /, ''));
}

describe('every legal transition', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const emitted: Emitted = [];
    const s = await setup(c.from, emitted);
    await c.act(s);
    const after = await readTask(s.task.file);
    expect(after.status).toBe(c.to);
    for (const key of OWNED_KEYS) {
      const want = c.keys[key];
      if (want instanceof RegExp) expect(String(after.frontmatter[key]), key).toMatch(want);
      else expect(after.frontmatter[key], key).toEqual(want);
    }
    // The user's keys and the body, byte for byte.
    expect(after.text).toContain('reviewer: alice   # the user key, kept\n');
    expect(after.body).toBe(s.task.body);
    expect(await progressLines(s)).toEqual(c.lines);
    expect(emitted).toEqual(c.events);
  });

  it('the cases above cover every entry of the legality table', () => {
    const legal = Object.entries(LEGAL).flatMap(([from, byTransition]) =>
      Object.entries(byTransition).flatMap(([transition, tos]) => tos.map((to) => `${from} ${transition} ${to}`)),
    );
    const covered = new Set(cases.map((c) => `${c.from} ${c.transition} ${c.to}`));
    expect(legal.filter((l) => !covered.has(l))).toEqual([]);
    expect([...covered].filter((c) => !legal.includes(c))).toEqual([]);
  });
});

describe('illegal transitions', () => {
  const transitions = [...new Set(Object.values(LEGAL).flatMap((t) => Object.keys(t)))] as Transition[];

  it('the table refuses every transition it does not list, naming from and to', () => {
    for (const from of STATUSES) {
      for (const transition of transitions) {
        for (const to of STATUSES) {
          const listed = LEGAL[from][transition]?.includes(to) ?? false;
          expect(isLegal(transition, from, to), `${from} ${transition} ${to}`).toBe(listed);
          if (listed) continue;
          expect(() => assertLegal(transition, from, to)).toThrow(InternalError);
          expect(() => assertLegal(transition, from, to)).toThrow(`${transition}: ${from} -> ${to}`);
        }
      }
    }
  });

  it.each<[string, Status, (run: TaskTransitions) => Promise<unknown>]>([
    ['claim of a running task', 'running', (run) => run.claim({ by: 'host:2', executor: 'shell', branch: BRANCH })],
    ['done of a queued task', 'queued', (run) => run.done({ attempt: 1, commit: COMMIT, branch: BRANCH, durationMs: 1, usage: {} })],
    ['attempt of a failed task', 'failed', (r) => r.startAttempt({ attempt: 3, of: 3, baseCommit: BASE, publishOnly: true, count: true })],
    ['requeue of a queued task', 'queued', (run) => run.requeued({ attempt: 1 })],
    ['recovery of a done task', 'done', (run) => run.recovered({ then: 'queued', reason: 'interrupted' })],
    ['finalizing a blocked task', 'blocked', (run) => run.finalized({ kind: 'done', commit: COMMIT, branch: BRANCH })],
    ['blocking a running task as if it were queued', 'running', (run) => run.blocked('no attempt given')],
    // cancelNoticed throws synchronously; the then turns that into the rejection every row is checked for.
    ['noticing a cancel of a done task', 'done', (run) => Promise.resolve().then(() => run.cancelNoticed())],
  ])('%s is refused and changes nothing', async (_name, from, act) => {
    const emitted: Emitted = [];
    const s = await setup(from, emitted);
    await expect(act(s.run)).rejects.toThrow(InternalError);
    expect((await readTask(s.task.file)).text).toBe(s.task.text);
    expect(await progressLines(s)).toEqual([]);
    expect(emitted).toEqual([]);
  });

  it('requeue and cancel on request refuse what a person may not do, without a line', async () => {
    for (const [from, act] of [
      ['running', (s: Setup) => requeueOnRequest(s.locks, s, s.task)],
      ['queued', (s: Setup) => requeueOnRequest(s.locks, s, s.task)],
      ['done', (s: Setup) => cancelOnRequest(s.locks, s, s.task, false)],
      ['cancelled', (s: Setup) => cancelOnRequest(s.locks, s, s.task, false)],
    ] as const) {
      const s = await setup(from, []);
      expect(await act(s)).toEqual({ kind: 'refused', status: from });
      expect((await readTask(s.task.file)).text).toBe(s.task.text);
      expect(await progressLines(s)).toEqual([]);
    }
  });
});
