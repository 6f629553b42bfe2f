import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MorningReport } from '../../src/report/build.js';
import { cleanUpAfterAll } from '../helpers/cleanup.js';
import { taskText, type Sandbox } from '../helpers/repo.js';
import { readTask } from '../helpers/task.js';

/**
 * A real night of 30 tasks run by the built CLI with command executors: 15 land, 4 fail their attempts,
 * 2 fail over their own budget, 2 are blocked on an executor rules.md does not allow, 2 on a failed
 * dependency, 3 wait for an executor parked on a usage limit and 2 wait on one of those. `nightshift
 * report` must then say exactly what the task files say, in JSON and in markdown.
 */
const left = cleanUpAfterAll();

const NIGHT = [
  '#!/bin/sh',
  'case "$NIGHTSHIFT_TASK_ID" in',
  '  *-ok-*) echo "nightshift: usage cost_usd=0.1 tokens=1000"; echo ok > "out-$NIGHTSHIFT_TASK_ID.txt" ;;',
  '  *-fail) echo "nightshift: usage cost_usd=0.05 tokens=500"; echo "cannot do it"; exit 3 ;;',
  '  *-pricey) echo "nightshift: usage cost_usd=0.6 tokens=6000"; echo "too hard"; exit 1 ;;',
  'esac',
].join('\n');
const LIMITED = '#!/bin/sh\necho "nightshift: infra usage-limit reset=2099-01-01T00:00:00Z out of credits"\nexit 1';

const pad = (n: number) => String(n).padStart(3, '0');
function night(): Record<string, Record<string, unknown>> {
  const tasks: Record<string, Record<string, unknown>> = {};
  for (let i = 1; i <= 15; i++) tasks[`${pad(i)}-ok-${i}`] = { title: `Land ${i}` };
  for (let i = 16; i <= 19; i++) tasks[`${pad(i)}-fail`] = { title: `Fail ${i}` };
  for (let i = 20; i <= 21; i++) tasks[`${pad(i)}-ghost`] = { title: `Ghost ${i}`, executor: 'ghost' };
  for (let i = 22; i <= 23; i++) tasks[`${pad(i)}-after-fail`] = { title: `After ${i}`, depends_on: ['016-fail'] };
  for (let i = 24; i <= 26; i++) tasks[`${pad(i)}-limited`] = { title: `Limited ${i}`, executor: 'limited' };
  for (let i = 27; i <= 28; i++) tasks[`${pad(i)}-pricey`] = { title: `Pricey ${i}` };
  for (let i = 29; i <= 30; i++) tasks[`${pad(i)}-after-limited`] = { title: `Waits ${i}`, depends_on: ['024-limited'] };
  return tasks;
}

interface Night {
  sb: Sandbox;
  files: Map<string, Record<string, unknown>>;
  json: MorningReport;
  markdown: string;
}

async function runNight(): Promise<Night> {
  const sb = await left.sandbox();
  const bin = join(sb.dir, 'bin');
  await mkdir(bin);
  for (const [name, body] of [
    ['night', NIGHT],
    ['limited', LIMITED],
  ] as const) {
    await writeFile(join(bin, name), `${body}\n`);
    await chmod(join(bin, name), 0o755);
  }
  await sb.write(
    'rules.md',
    [
      '---',
      'executor: night',
      'concurrency: 3',
      'max_attempts: 2',
      'retry_backoff: 100ms',
      'budget: { per_task_usd: 0.5, per_day_usd: 100 }',
      'executors:',
      `  night: { command: ["${join(bin, 'night')}"] }`,
      `  limited: { command: ["${join(bin, 'limited')}"] }`,
      '---',
      '',
    ].join('\n'),
  );
  await sb.git(['add', 'rules.md']);
  await sb.git(['commit', '-qm', 'rules']);
  const tasks = night();
  for (const [id, fields] of Object.entries(tasks)) await sb.write(`tasks/${id}.md`, taskText(fields));
  const run = await sb.cli(['daemon', 'start', '--once'], { timeoutMs: 280_000 });
  expect(run.code).toBe(1);
  const files = new Map<string, Record<string, unknown>>();
  for (const id of Object.keys(tasks)) files.set(id, (await readTask(sb, id)).fm);
  const json = await sb.cli(['report', '--json']);
  expect(json.stderr).toBe('');
  const markdown = await sb.cli(['report']);
  expect(markdown.code).toBe(0);
  return { sb, files, json: JSON.parse(json.stdout) as MorningReport, markdown: markdown.stdout };
}

const status = (fm: Record<string, unknown>) => (fm.status as string | undefined) ?? 'queued';
const orNull = (v: unknown) => (v === undefined ? null : v);

describe('nightshift report on a night of 30 tasks', () => {
  let n: Night;
  it('the night ran as planned', async () => {
    n = await runNight();
    const by = (s: string) => [...n.files].filter(([, fm]) => status(fm) === s).map(([id]) => id);
    expect(by('done')).toHaveLength(15);
    expect(by('failed')).toHaveLength(6);
    expect(by('blocked')).toHaveLength(4);
    expect(by('queued')).toHaveLength(5);
    expect(n.files.get('027-pricey')?.error).toBe('budget: per_task_usd reached ($0.60 of $0.50)');
  }, 300_000);

  it('JSON: landed, failed and waiting tasks are exactly the task files', () => {
    const files = [...n.files];
    const landed = files
      .filter(([, fm]) => status(fm) === 'done')
      .map(([id, fm]) => ({
        id,
        title: fm.title,
        branch: orNull(fm.branch),
        commit: orNull(fm.commit),
        durationMs: Date.parse(String(fm.finished_at)) - Date.parse(String(fm.started_at)),
        attempts: fm.attempts,
        costUsd: orNull(fm.cost_usd),
        tokens: orNull(fm.tokens),
      }));
    expect(n.json.landed).toEqual(landed);
    const failed = files
      .filter(([, fm]) => status(fm) === 'failed' || status(fm) === 'blocked')
      .map(([id, fm]) => ({
        id,
        title: fm.title,
        status: status(fm),
        reason: fm.error,
        attempts: fm.attempts ?? 0,
        costUsd: orNull(fm.cost_usd),
        requeue: `nightshift requeue ${id}`,
      }));
    expect(n.json.failed).toEqual(failed);
    const waiting = n.json.waiting.map((w) => [w.id, w.why, w.detail]);
    expect(waiting).toEqual([
      ['024-limited', 'parked', 'executor limited is parked (usage-limit) until 2099-01-01T00:00:00Z'],
      ['025-limited', 'parked', 'executor limited is parked (usage-limit) until 2099-01-01T00:00:00Z'],
      ['026-limited', 'parked', 'executor limited is parked (usage-limit) until 2099-01-01T00:00:00Z'],
      ['029-after-limited', 'dependency', 'waits for 024-limited'],
      ['030-after-limited', 'dependency', 'waits for 024-limited'],
    ]);
    expect(waiting.map(([id]) => id)).toEqual(files.filter(([, fm]) => status(fm) === 'queued').map(([id]) => id));
  });

  it('JSON: spend, retries, pauses and the top tasks agree with the task files', () => {
    const files = [...n.files].map(([id, fm]) => ({ id, fm }));
    const cost = (fm: Record<string, unknown>) => Number(fm.cost_usd ?? 0);
    const total = Math.round(files.reduce((s, f) => s + cost(f.fm), 0) * 1e6) / 1e6;
    // 15 x $0.10, 4 x 2 attempts x $0.05, 2 x $0.60: nothing was interrupted, so the ledger is the files' sum.
    expect(total).toBe(3.1);
    expect(n.json.spend.total).toEqual({ usd: total, tokens: files.reduce((s, f) => s + Number(f.fm.tokens ?? 0), 0) });
    expect(n.json.spend.byExecutor).toEqual([{ executor: 'night', usd: total, tokens: n.json.spend.total.tokens, entries: 15 + 8 + 2 }]);
    expect(n.json.spend.budgets).toEqual([{ budget: 'per_day_usd', spent: total, limit: 100, unit: 'usd' }]);
    expect(n.json.spend.perTask).toEqual({ usd: 0.5 });
    expect(n.json.pauses).toMatchObject({ attemptFailures: 4 * 2 + 2, retries: 4 + 2, fallbacks: 0 });
    expect(n.json.pauses.parked).toEqual([
      expect.objectContaining({ executor: 'limited', cause: 'usage-limit', until: '2099-01-01T00:00:00Z' }),
    ]);
    const ended = files.filter((f) => ['done', 'failed', 'blocked'].includes(status(f.fm)));
    const expensive = ended
      .filter((f) => cost(f.fm) > 0)
      .sort((a, b) => cost(b.fm) - cost(a.fm) || a.id.localeCompare(b.id))
      .slice(0, 3)
      .map((f) => ({ id: f.id, costUsd: cost(f.fm) }));
    expect(n.json.mostExpensive).toEqual(expensive);
    const duration = (fm: Record<string, unknown>) => Date.parse(String(fm.finished_at)) - Date.parse(String(fm.started_at));
    const slowest = ended
      .filter((f) => f.fm.started_at && f.fm.finished_at)
      .sort((a, b) => duration(b.fm) - duration(a.fm) || a.id.localeCompare(b.id))
      .slice(0, 3)
      .map((f) => ({ id: f.id, durationMs: duration(f.fm) }));
    expect(n.json.slowest).toEqual(slowest);
  });

  it('markdown: one line per task with what the task file says', () => {
    const md = n.markdown;
    expect(md).toMatch(/^# nightshift report: /);
    expect(md).toContain('15 landed, 6 failed, 4 blocked, 5 waiting; spent $3.10, 31,000 tokens.');
    for (const t of n.json.landed) {
      expect(md).toContain(`| ${t.id} | ${t.branch} | ${String(t.commit).slice(0, 7)} | `);
    }
    for (const [id, fm] of n.files) {
      if (status(fm) === 'failed' || status(fm) === 'blocked') {
        expect(md).toContain(
          `- **${id}** (${status(fm)}, ${Number(fm.attempts ?? 0)} attempt${Number(fm.attempts ?? 0) === 1 ? '' : 's'}): ${String(fm.error)}  \n  requeue: \`nightshift requeue ${id}\``,
        );
      }
    }
    expect(md).toContain('- **024-limited** (parked): executor limited is parked (usage-limit) until 2099-01-01T00:00:00Z');
    expect(md).toContain('- **029-after-limited** (dependency): waits for 024-limited');
    expect(md).toContain('- night: $3.10, 31,000 tokens (25 attempts)');
    expect(md).toContain('- budget per_day_usd: $3.10 of $100.00');
    expect(md).toContain('- 10 failed attempts, 6 retries, 0 fallbacks');
    expect(md).toMatch(/## Most expensive\n\n- 027-pricey: \$0\.60\n- 028-pricey: \$0\.60\n/);
  });

  it('the daemon wrote the same page to .nightshift/reports/ when it stopped', async () => {
    const names = await readdir(join(n.sb.repo, '.nightshift', 'reports'));
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^\d{4}-\d\d-\d\d\.md$/);
    const written = await n.sb.read(`.nightshift/reports/${names[0]}`);
    // Same night, same tasks: only the window's end in the title may differ.
    const body = (text: string) => text.split('\n').slice(1).join('\n');
    expect(body(written)).toBe(body(n.markdown));
  });

  it('bad options say how to write them (exit 2)', async () => {
    const both = await n.sb.cli(['report', '--since', '12h', '--run', 'last']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give --since or --run, not both');
    const since = await n.sb.cli(['report', '--since', 'yesterday']);
    expect(since.code).toBe(2);
    expect(since.stderr).toContain('--since "yesterday" is not a duration');
    expect(since.stderr).toContain('hint: write it like 12h, 90m or 2d');
    const window = await n.sb.cli(['report', '--since', '12h', '--json']);
    expect((JSON.parse(window.stdout) as MorningReport).landed).toEqual(n.json.landed);
  });
});
