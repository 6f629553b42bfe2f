import { describe, expect, it } from 'vitest';
import { buildReport, parkedExecutors } from '../../src/report/build.js';
import { reportWindow, resolveWindow } from '../../src/report/collect.js';
import { reportMarkdown } from '../../src/report/markdown.js';
import { parseProgressLine, type ProgressLine } from '../../src/report/progressLines.js';
import { formatProgressLine } from '../../src/progress/log.js';
import { parseTaskText } from '../../src/task/parse.js';
import type { TaskEntry } from '../../src/task/task.js';

const line = (text: string) => parseProgressLine(text) as ProgressLine;

function entry(id: string, fm: string): TaskEntry {
  const parsed = parseTaskText(id, `/repo/tasks/${id}.md`, `---\ntitle: ${id}\n${fm}---\nbody\n`);
  if (parsed.kind !== 'ok') throw new Error(parsed.reason);
  return { kind: 'task', task: parsed.task };
}

describe('progress lines read back', () => {
  it('reads what progress/log.ts writes, quoted values included', () => {
    const written = formatProgressLine(new Date('2026-11-21T03:14:12.345Z'), '002-x', 'failed', {
      attempts: 2,
      reason: 'tests failed (exit 1): "x" = y',
    });
    expect(parseProgressLine(written)).toEqual({
      time: '2026-11-21T03:14:12Z',
      id: '002-x',
      event: 'failed',
      fields: { attempts: '2', reason: 'tests failed (exit 1): "x" = y' },
    });
    expect(parseProgressLine('2026-11-21T03:14:12Z - daemon-stop done=1')).toMatchObject({ id: undefined, event: 'daemon-stop' });
    expect(parseProgressLine('2026-11-21T03:14')).toBeUndefined();
  });
});

describe('the report window', () => {
  const progress = [
    line('2026-11-20T22:00:00Z - daemon-start pid=1'),
    line('2026-11-20T23:00:00Z - daemon-stop done=1'),
    line('2026-11-21T01:00:00Z - daemon-start pid=2'),
    line('2026-11-21T05:00:00Z - daemon-stop done=3'),
  ];
  const now = new Date('2026-11-21T07:00:00Z');
  it('--run last (the default) is the last daemon run; --since counts back from now', () => {
    expect(resolveWindow(reportWindow({}), progress, now)).toEqual({
      since: new Date('2026-11-21T01:00:00Z'),
      until: new Date('2026-11-21T05:00:00.999Z'),
    });
    expect(resolveWindow(reportWindow({ run: 'last' }), progress.slice(0, 3), now)).toEqual({
      since: new Date('2026-11-21T01:00:00Z'),
      until: now,
    });
    expect(resolveWindow(reportWindow({ since: '12h' }), progress, now).since).toEqual(new Date('2026-11-20T19:00:00Z'));
    expect(resolveWindow(reportWindow({}), [], now).since).toEqual(new Date(0));
    expect(() => reportWindow({ run: 'first' })).toThrow('--run "first" is not known');
  });

  it('an executor is parked until it resumes, its reset time passes, or (parked until a restart) the next daemon starts', () => {
    const lines = [
      line('2026-11-21T01:00:00Z - executor-parked executor=a cause=usage-limit until=2026-11-21T09:00:00Z'),
      line('2026-11-21T01:00:00Z - executor-parked executor=b cause=auth until=restart'),
      line('2026-11-21T01:00:00Z - executor-parked executor=c cause=server until=2026-11-21T02:00:00Z'),
      line('2026-11-21T01:30:00Z - executor-parked executor=d cause=rate-limit until=2026-11-21T09:00:00Z'),
      line('2026-11-21T01:40:00Z - executor-resumed executor=d was=rate-limit'),
    ];
    expect([...parkedExecutors(lines, now).keys()]).toEqual(['a', 'b']);
    expect([...parkedExecutors([...lines, line('2026-11-21T06:00:00Z - daemon-start pid=3')], now).keys()]).toEqual([]);
  });
});

describe('the report', () => {
  it('says why each queued task waits, and renders one page', () => {
    const entries = [
      entry(
        '001-a',
        'status: done\nattempts: 1\nbranch: nightshift/001-a\ncommit: 3f9c2d1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nstarted_at: 2026-11-21T02:00:00Z\nfinished_at: 2026-11-21T02:04:12Z\ncost_usd: 0.42\ntokens: 18342\n',
      ),
      entry(
        '002-b',
        'status: failed\nattempts: 3\nerror: "tests failed (exit 1): 3 | failing"\nstarted_at: 2026-11-21T02:00:00Z\nfinished_at: 2026-11-21T02:30:00Z\n',
      ),
      entry('003-c', 'depends_on: [002-b]\n'),
      entry('004-d', 'depends_on: [005-e]\n'),
      entry('005-e', ''),
      entry('006-old', 'status: done\nattempts: 1\nstarted_at: 2026-11-19T02:00:00Z\nfinished_at: 2026-11-19T02:04:12Z\n'),
    ];
    const report = buildReport({
      entries,
      progress: [line('2026-11-21T02:10:00Z 002-b retry-scheduled attempt=2 in=2s')],
      ledger: [{ key: 'k', at: '2026-11-21T02:04:00.000Z', source: 'executor', executor: 'claude', costUsd: 0.42, tokens: 18342 }],
      since: new Date('2026-11-21T01:00:00Z'),
      until: new Date('2026-11-21T05:00:00Z'),
      budgets: [{ budget: 'per_day_usd', spent: 0.42, limit: 0.4, unit: 'usd' }],
      perTask: { usd: 2 },
      budgetReached: 'budget per_day_usd reached ($0.42 of $0.40)',
    });
    expect(report.waiting.map((w) => [w.id, w.why, w.detail])).toEqual([
      ['003-c', 'dependency', 'dependency 002-b is failed'],
      ['004-d', 'dependency', 'waits for 005-e'],
      ['005-e', 'budget', 'budget per_day_usd reached ($0.42 of $0.40)'],
    ]);
    expect(reportMarkdown(report)).toBe(
      [
        '# nightshift report: 2026-11-21 01:00Z to 2026-11-21 05:00Z',
        '',
        '1 landed, 1 failed, 0 blocked, 3 waiting; spent $0.42, 18,342 tokens.',
        '',
        '## Landed (1)',
        '',
        '| task | branch | commit | duration | attempts | cost |',
        '| --- | --- | --- | --- | --- | --- |',
        '| 001-a | nightshift/001-a | 3f9c2d1 | 4m12s | 1 | $0.42 |',
        '',
        '## Failed or blocked (1)',
        '',
        '- **002-b** (failed, 3 attempts): tests failed (exit 1): 3 \\| failing  ',
        '  requeue: `nightshift requeue 002-b`',
        '',
        '## Still waiting (3)',
        '',
        '- **003-c** (dependency): dependency 002-b is failed',
        '- **004-d** (dependency): waits for 005-e',
        '- **005-e** (budget): budget per_day_usd reached ($0.42 of $0.40)',
        '',
        '## Spend',
        '',
        '- claude: $0.42, 18,342 tokens (1 attempt)',
        '- budget per_day_usd: $0.42 of $0.40 (reached)',
        '- budget per_task_usd: $2.00 per task',
        '',
        '## Retries and pauses',
        '',
        '- 0 failed attempts, 1 retry, 0 fallbacks',
        '',
        '## Slowest',
        '',
        '- 002-b: 30m0s',
        '- 001-a: 4m12s',
        '',
        '## Most expensive',
        '',
        '- 001-a: $0.42',
        '',
      ].join('\n'),
    );
  });
});
