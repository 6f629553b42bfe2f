import { describe, expect, it } from 'vitest';
import { DEFAULT_RULES } from '../../src/config/types.js';
import { buildBoard, CARDS_PER_COLUMN, type BoardInput } from '../../src/dashboard/board.js';
import { queueAndDependencies } from '../../src/dashboard/snapshot.js';
import { markup, trusted } from '../../src/dashboard/views/html.js';
import { pathsFor } from '../../src/paths.js';
import { invalidEntry } from '../../src/task/read.js';
import { assessQueue } from '../../src/task/readiness.js';
import { parseTask } from '../../src/task/parse.js';
import type { TaskEntry } from '../../src/task/task.js';
import { taskText } from '../helpers/repo.js';

const paths = pathsFor('/repo');

function entry(id: string, fields: Record<string, unknown> = {}): TaskEntry {
  const parsed = parseTask(id, `/repo/tasks/${id}.md`, Buffer.from(taskText({ title: `Task ${id}`, ...fields })));
  if (parsed.kind !== 'ok') throw new Error(parsed.reason);
  return { kind: 'task', task: parsed.task };
}

function input(entries: TaskEntry[], status: Partial<BoardInput['status']> = {}): BoardInput {
  return {
    paths,
    entries,
    rules: { ...DEFAULT_RULES, routes: { docs: 'gemini' } },
    status: { daemons: [], parked: [], runningTasks: [], ...status },
  };
}

const ids = (board: ReturnType<typeof buildBoard>, column: string) => board.columns.find((c) => c.name === column)?.cards.map((c) => c.id);

describe('dashboard board', () => {
  it('sorts every file into its column; queued tasks that cannot start yet wait, with the reason', () => {
    const board = buildBoard(
      input(
        [
          entry('a-draft', { status: 'draft' }),
          entry('b-ready'),
          entry('c-after-draft', { depends_on: ['a-draft'] }),
          entry('d-docs', { kind: 'docs' }),
          entry('e-after-missing', { depends_on: ['nope'] }),
          entry('f-running', { status: 'running', attempts: 2 }),
          entry('g-done', { status: 'done', cost_usd: 0.25, tokens: 1000 }),
          entry('h-failed', { status: 'failed', error: 'tests failed', cost_usd: 0.5 }),
          invalidEntry('i-broken', '/repo/tasks/i-broken.md', 'bad YAML'),
        ],
        { parked: [{ executor: 'gemini', cause: 'rate-limit', reason: 'quota', until: '2026-12-01T06:00:00.000Z', daemon: 1 }] },
      ),
    );
    expect(ids(board, 'draft')).toEqual(['a-draft']);
    expect(ids(board, 'queued')).toEqual(['b-ready']);
    expect(ids(board, 'waiting')).toEqual(['c-after-draft', 'd-docs', 'e-after-missing']);
    expect(board.columns.find((c) => c.name === 'waiting')?.cards.map((c) => c.waitingOn)).toEqual([
      'waits for a-draft',
      'executor gemini parked (rate-limit)',
      'cannot start: dependency nope does not exist in tasks/',
    ]);
    expect(ids(board, 'running')).toEqual(['f-running']);
    expect(board.running).toMatchObject([{ id: 'f-running', attempt: 2, timeoutMs: DEFAULT_RULES.timeoutMs }]);
    expect(ids(board, 'invalid')).toEqual(['i-broken']);
    expect(board.columns.find((c) => c.name === 'invalid')?.cards[0]?.error).toBe('bad YAML');
    expect(board.spend).toEqual({ costUsd: 0.75, tokens: 1000 });
    expect(board.total).toBe(9);
    expect(board.counts).toMatchObject({ waiting: 3, queued: 1, done: 1, invalid: 1 });
  });

  it('filters by words and column, and caps the cards of a column while its count stays exact', () => {
    const many = Array.from({ length: CARDS_PER_COLUMN + 25 }, (_, i) => entry(`t-${String(i).padStart(3, '0')}`, { status: 'done' }));
    const board = buildBoard(input([...many, entry('x-login', { title: 'Fix the LOGIN page' })]));
    const done = board.columns.find((c) => c.name === 'done');
    expect(done?.total).toBe(CARDS_PER_COLUMN + 25);
    expect(done?.cards).toHaveLength(CARDS_PER_COLUMN);
    expect(ids(buildBoard(input([...many, entry('x-login', { title: 'Fix the LOGIN page' })]), { q: 'login fix' }), 'queued')).toEqual([
      'x-login',
    ]);
    const onlyQueued = buildBoard(input([...many, entry('x-login')]), { column: 'queued' });
    expect(onlyQueued.columns.map((c) => c.total)).toEqual([0, 1, 0, 0, 0, 0, 0, 0, 0]);
    expect(onlyQueued.counts.done).toBe(CARDS_PER_COLUMN + 25); // counts are of the whole queue
  });

  it('assesses readiness over the queued tasks and their dependencies only, with the same answers', () => {
    const entries = [
      ...Array.from({ length: 50 }, (_, i) => entry(`done-${i}`, { status: 'done' })),
      entry('q1', { depends_on: ['done-3'] }),
      entry('q2', { depends_on: ['q1', 'r1'] }),
      entry('r1', { status: 'running', depends_on: ['done-4'] }),
      entry('c1', { depends_on: ['c2'] }),
      entry('c2', { status: 'done', depends_on: ['c3'] }),
      entry('c3', { depends_on: ['c1'] }),
      entry('f1', { status: 'failed' }),
      entry('q3', { depends_on: ['f1'] }),
      entry('q4', { depends_on: ['q3'] }),
      entry('q5', { depends_on: ['broken'] }),
      entry('q6', { depends_on: ['ghost'] }),
      invalidEntry('broken', '/repo/tasks/broken.md', 'bad'),
    ];
    const reduced = queueAndDependencies(entries);
    expect(reduced.length).toBeLessThan(20);
    expect(assessQueue(reduced)).toEqual(assessQueue(entries));
  });
});

describe('dashboard markup', () => {
  it('escapes every value, and takes only trusted markup as is', () => {
    const title = '<script>alert("x")</script> & \'q\'';
    expect(markup`<a title="${title}">${title}</a>`.text).toBe(
      '<a title="&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#39;q&#39;">&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#39;q&#39;</a>',
    );
    expect(markup`<p>${[markup`<b>${'<i>'}</b>`, 'x']}${null}${false}${trusted('<em>ok</em>')}</p>`.text).toBe(
      '<p><b>&#60;i&#62;</b>x<em>ok</em></p>',
    );
  });
});
