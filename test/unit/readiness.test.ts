import { describe, expect, it } from 'vitest';
import { assessQueue, readyInOrder, type Readiness } from '../../src/task/readiness.js';
import { parseTaskText } from '../../src/task/parse.js';
import type { TaskEntry } from '../../src/task/task.js';

interface Spec {
  status?: string;
  deps?: string[];
  priority?: number;
  /** File name when it differs from `<id>.md` (ordering ties are broken by file name). */
  file?: string;
}

/** A task entry built through the real parser, so the plan sees exactly what the daemon would. */
function task(id: string, spec: Spec = {}): TaskEntry {
  const lines = ['---', `title: Task ${id}`];
  if (spec.status) lines.push(`status: ${spec.status}`);
  if (spec.deps) lines.push(`depends_on: [${spec.deps.join(', ')}]`);
  if (spec.priority !== undefined) lines.push(`priority: ${spec.priority}`);
  lines.push('---', 'body', '');
  const result = parseTaskText(id, `/repo/tasks/${spec.file ?? `${id}.md`}`, lines.join('\n'));
  if (result.kind !== 'ok') throw new Error(`fixture ${id} does not parse: ${result.reason}`);
  return { kind: 'task', task: result.task };
}

function invalidEntry(id: string): TaskEntry {
  return { kind: 'invalid', invalid: { id, file: `/repo/tasks/${id}.md`, reason: 'no frontmatter' } };
}

function plan(entries: TaskEntry[]): Record<string, Readiness> {
  return Object.fromEntries(assessQueue(entries));
}

describe('assessQueue: one dependency in each state', () => {
  // [dependency status, readiness of the dependent]
  it.each<[string, Readiness]>([
    ['done', { kind: 'ready' }],
    ['queued', { kind: 'waiting', on: ['001-dep'] }],
    ['running', { kind: 'waiting', on: ['001-dep'] }],
    // A draft is not picked up yet, but the producer may still finish it: wait, do not give up.
    ['draft', { kind: 'waiting', on: ['001-dep'] }],
    ['failed', { kind: 'blocked', reason: 'dependency 001-dep is failed' }],
    ['cancelled', { kind: 'blocked', reason: 'dependency 001-dep is cancelled' }],
    ['blocked', { kind: 'blocked', reason: 'dependency 001-dep is blocked' }],
  ])('dependency %s', (status, expected) => {
    const result = plan([task('001-dep', { status }), task('002-main', { deps: ['001-dep'] })]);
    expect(result['002-main']).toEqual(expected);
  });

  it('blocks on a dependency that does not exist, saying so', () => {
    expect(plan([task('002-main', { deps: ['001-gone'] })])['002-main']).toEqual({
      kind: 'blocked',
      reason: 'dependency 001-gone does not exist in tasks/',
      provisional: true,
    });
  });

  it('blocks on an invalid dependency and says how to recover', () => {
    const r = plan([invalidEntry('001-broken'), task('002-main', { deps: ['001-broken'] })])['002-main'];
    expect(r).toEqual({
      kind: 'blocked',
      reason: expect.stringMatching(/^dependency 001-broken is an invalid task file; fix it, then requeue/),
      provisional: true,
    });
  });

  it('is ready without dependencies', () => {
    expect(plan([task('001-a')])).toEqual({ '001-a': { kind: 'ready' } });
  });

  it('waits on every unfinished dependency and ignores finished ones', () => {
    const r = plan([
      task('001-a', { status: 'done' }),
      task('002-b'),
      task('003-c', { status: 'running' }),
      task('004-main', { deps: ['001-a', '002-b', '003-c'] }),
    ]);
    expect(r['004-main']).toEqual({ kind: 'waiting', on: ['002-b', '003-c'] });
  });

  it('a blocking dependency wins over waiting ones', () => {
    const r = plan([task('001-a'), task('002-b', { status: 'failed' }), task('003-main', { deps: ['001-a', '002-b'] })]);
    expect(r['003-main']).toEqual({ kind: 'blocked', reason: 'dependency 002-b is failed' });
  });

  it('assesses only queued tasks', () => {
    const statuses = ['running', 'done', 'failed', 'blocked', 'cancelled', 'draft'];
    const entries = statuses.map((status, i) => task(`00${i}-${status}`, { status }));
    expect(assessQueue([...entries, task('009-queued')])).toEqual(new Map([['009-queued', { kind: 'ready' }]]));
  });

  it('is pure: the same entries give the same plan', () => {
    const entries = [task('001-a'), task('002-b', { deps: ['001-a'] }), task('003-c', { deps: ['003-d'] })];
    expect(assessQueue(entries)).toEqual(assessQueue(entries));
  });
});

describe('assessQueue: cycles', () => {
  it('rejects a self-dependency at parse time, so it never reaches the plan', () => {
    const r = parseTaskText('001-self', '/repo/tasks/001-self.md', '---\ntitle: x\ndepends_on: [001-self]\n---\n');
    expect(r).toEqual({ kind: 'invalid', reason: 'depends_on lists the task itself; remove it' });
  });

  it('blocks both members of a 2-cycle, each reason naming the path from itself', () => {
    const r = plan([task('001-a', { deps: ['002-b'] }), task('002-b', { deps: ['001-a'] })]);
    expect(r).toEqual({
      '001-a': { kind: 'blocked', reason: 'dependency cycle: 001-a -> 002-b -> 001-a' },
      '002-b': { kind: 'blocked', reason: 'dependency cycle: 002-b -> 001-a -> 002-b' },
    });
  });

  it('blocks every member of a 3-cycle whatever the file order', () => {
    const entries = [task('003-c', { deps: ['001-a'] }), task('001-a', { deps: ['002-b'] }), task('002-b', { deps: ['003-c'] })];
    for (const order of [entries, [...entries].reverse()]) {
      expect(plan(order)).toEqual({
        '001-a': { kind: 'blocked', reason: 'dependency cycle: 001-a -> 002-b -> 003-c -> 001-a' },
        '002-b': { kind: 'blocked', reason: 'dependency cycle: 002-b -> 003-c -> 001-a -> 002-b' },
        '003-c': { kind: 'blocked', reason: 'dependency cycle: 003-c -> 001-a -> 002-b -> 003-c' },
      });
    }
  });

  it('a task depending on a cycle member is blocked in the same pass, naming the member and the cycle', () => {
    const r = plan([task('001-a', { deps: ['002-b'] }), task('002-b', { deps: ['001-a'] }), task('003-after', { deps: ['001-a'] })]);
    expect(r['003-after']).toEqual({
      kind: 'blocked',
      reason: 'dependency 001-a is blocked (dependency cycle: 001-a -> 002-b -> 001-a)',
      cause: 'dependency cycle: 001-a -> 002-b -> 001-a',
    });
    expect(r['001-a']?.kind).toBe('blocked');
  });

  it('a finished task on a loop is no deadlock: its dependent runs', () => {
    // 001-a already ran; someone later made it depend on 002-b. 002-b only waits for 001-a, which is done.
    const r = plan([task('001-a', { status: 'done', deps: ['002-b'] }), task('002-b', { deps: ['001-a'] })]);
    expect(r).toEqual({ '002-b': { kind: 'ready' } });
  });

  it('overlapping loops: every task on one is blocked in one pass', () => {
    // 001-a <-> 002-b, plus 001-a -> 003-c -> 002-b.
    const specs: Array<[string, string[]]> = [
      ['001-a', ['002-b', '003-c']],
      ['002-b', ['001-a']],
      ['003-c', ['002-b']],
    ];
    const r = plan(specs.map(([id, deps]) => task(id, { deps })));
    expect(Object.keys(r).sort()).toEqual(['001-a', '002-b', '003-c']);
    for (const one of Object.values(r)) expect(one.kind).toBe('blocked');
  });

  it('a missing dependency is not a cycle', () => {
    const r = plan([task('001-a', { deps: ['002-b'] }), task('002-b', { deps: ['009-missing'] })]);
    expect(r).toEqual({
      // Provisional too: in watch mode it gets the same few seconds for 009-missing to appear.
      '001-a': {
        kind: 'blocked',
        reason: 'dependency 002-b is blocked (dependency 009-missing does not exist in tasks/)',
        cause: 'dependency 009-missing does not exist in tasks/',
        provisional: true,
      },
      '002-b': { kind: 'blocked', reason: 'dependency 009-missing does not exist in tasks/', provisional: true },
    });
  });

  it('a diamond is not a cycle', () => {
    const r = plan([
      task('001-root', { status: 'done' }),
      task('002-left', { deps: ['001-root'] }),
      task('003-right', { deps: ['001-root'] }),
      task('004-join', { deps: ['002-left', '003-right'] }),
    ]);
    expect(r).toEqual({
      '002-left': { kind: 'ready' },
      '003-right': { kind: 'ready' },
      '004-join': { kind: 'waiting', on: ['002-left', '003-right'] },
    });
  });

  it('a chain of 30,000 dependencies, and a loop closing it, neither overflow the stack nor name every step', () => {
    const chain = Array.from({ length: 30_000 }, (_, i) => task(`t${i}`, { deps: [`t${(i + 1) % 30_000}`] }));
    const r = assessQueue(chain);
    expect(r.get('t0')).toMatchObject({
      kind: 'blocked',
      reason: 'dependency cycle: t0 -> t1 -> t2 -> t3 -> t4 -> ... (29995 more) -> t0',
    });
    const open = chain.slice(0, -1);
    // Opened, the chain ends in a missing task: all of it is (provisionally) blocked by that, at any depth.
    expect(assessQueue(open).get('t0')).toEqual({
      kind: 'blocked',
      reason: 'dependency t1 is blocked (dependency t29999 does not exist in tasks/)',
      cause: 'dependency t29999 does not exist in tasks/',
      provisional: true,
    });
  });
});

describe('assessQueue: blocking is transitive', () => {
  it('a failed head blocks a whole 10,000-task chain in one pass, each naming its own dependency and the root cause', () => {
    const n = 10_000;
    const id = (i: number) => `t${String(i).padStart(5, '0')}`;
    const chain = Array.from({ length: n }, (_, i) => task(id(i), i === 0 ? { status: 'failed' } : { deps: [id(i - 1)] }));
    const started = performance.now();
    const r = assessQueue(chain);
    const ms = performance.now() - started;
    expect(r.size).toBe(n - 1);
    expect(r.get(id(1))).toEqual({ kind: 'blocked', reason: 'dependency t00000 is failed' });
    expect(r.get(id(2))).toEqual({
      kind: 'blocked',
      reason: 'dependency t00001 is blocked (dependency t00000 is failed)',
      cause: 'dependency t00000 is failed',
    });
    expect(r.get(id(n - 1))).toEqual({
      kind: 'blocked',
      reason: 'dependency t09998 is blocked (dependency t00000 is failed)',
      cause: 'dependency t00000 is failed',
    });
    for (const one of r.values()) expect(one.kind).toBe('blocked');
    // Linear: well under a second even on a loaded machine (the old one-level-per-scan took minutes).
    expect(ms).toBeLessThan(1000);
  });

  it('whatever the file order: dependents listed before their dependencies are blocked too', () => {
    const r = plan([task('003-c', { deps: ['002-b'] }), task('002-b', { deps: ['001-a'] }), task('001-a', { status: 'cancelled' })]);
    expect(r).toEqual({
      '002-b': { kind: 'blocked', reason: 'dependency 001-a is cancelled' },
      '003-c': {
        kind: 'blocked',
        reason: 'dependency 002-b is blocked (dependency 001-a is cancelled)',
        cause: 'dependency 001-a is cancelled',
      },
    });
  });

  it('a diamond over a blocked task blocks the join once, and a running dependency still only waits', () => {
    const r = plan([
      task('001-root', { status: 'blocked' }),
      task('002-left', { deps: ['001-root'] }),
      task('003-right', { status: 'running' }),
      task('004-join', { deps: ['003-right', '002-left'] }),
    ]);
    expect(r['004-join']).toEqual({
      kind: 'blocked',
      reason: 'dependency 002-left is blocked (dependency 001-root is blocked)',
      cause: 'dependency 001-root is blocked',
    });
    expect(plan([task('001-a', { status: 'running' }), task('002-b', { deps: ['001-a'] }), task('003-c', { deps: ['002-b'] })])).toEqual({
      '002-b': { kind: 'waiting', on: ['001-a'] },
      '003-c': { kind: 'waiting', on: ['002-b'] },
    });
  });
});

describe('readyInOrder', () => {
  const ids = (entries: TaskEntry[]) => readyInOrder(entries, assessQueue(entries)).map((t) => t.id);

  it('orders by priority, highest first, then by file name', () => {
    const entries = [
      task('003-c', { priority: 0 }),
      task('001-a', { priority: 0 }),
      task('005-e', { priority: 5 }),
      task('002-b', { priority: -1 }),
      task('004-d', { priority: 5 }),
    ];
    expect(ids(entries)).toEqual(['004-d', '005-e', '001-a', '003-c', '002-b']);
  });

  it('breaks ties by file name, not id (".markdown" sorts after ".md" for the same stem)', () => {
    const entries = [task('abc', { file: 'abc.md' }), task('ab', { file: 'ab.markdown' })];
    // "ab.markdown" < "abc.md" byte-wise.
    expect(ids(entries)).toEqual(['ab', 'abc']);
  });

  it('compares file names byte-wise, not by locale', () => {
    expect(ids([task('b-task'), task('a_task'), task('a-task'), task('a.task')])).toEqual(['a-task', 'a.task', 'a_task', 'b-task']);
  });

  it('leaves out waiting, blocked, invalid and non-queued tasks', () => {
    const entries = [
      task('001-done', { status: 'done' }),
      task('002-wait', { deps: ['003-ready'] }),
      task('003-ready'),
      task('004-blocked', { deps: ['009-missing'] }),
      invalidEntry('005-invalid'),
      task('006-draft', { status: 'draft', priority: 9 }),
    ];
    expect(ids(entries)).toEqual(['003-ready']);
  });
});
