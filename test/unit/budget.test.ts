import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpendLedger, type SpendEntry } from '../../src/budget/ledger.js';
import { attemptSections } from '../../src/budget/recoverSpend.js';
import { dayWindow, queueFigures, reachedBudget, taskAllowance } from '../../src/budget/spend.js';
import { budgetView, shortFigures } from '../../src/budget/view.js';
import { parseRules } from '../../src/config/rules.js';
import type { BudgetRules } from '../../src/config/types.js';
import { claude } from '../../src/exec/agents/claude.js';
import { commandUsage } from '../../src/exec/commandUsage.js';
import { claudeTokens, commandTokens } from '../../src/budget/tokenWatch.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';

const left = cleanUpAfterEach();

const entry = (key: string, at: string, costUsd?: number, tokens?: number): SpendEntry => ({
  key,
  at,
  source: 'executor',
  costUsd,
  tokens,
});

describe('rules.md budget:', () => {
  it('reads every key, day_starts as minutes after local midnight', () => {
    const rules = parseRules(
      '---\nbudget: { per_task_usd: 2, per_day_usd: 20, per_run_usd: 10, per_task_tokens: 2000000, per_day_tokens: 50000000, day_starts: "06:30", hard: true }\n---\n',
    );
    expect(rules.budget).toEqual({
      limits: { per_task_usd: 2, per_day_usd: 20, per_run_usd: 10, per_task_tokens: 2_000_000, per_day_tokens: 50_000_000 },
      dayStartsMinutes: 390,
      hard: true,
    });
    expect(parseRules('---\nbase: main\n---\n').budget).toBeUndefined();
    expect(parseRules('---\nbudget: { per_day_usd: 1.5 }\n---\n').budget).toEqual({
      limits: { per_day_usd: 1.5 },
      dayStartsMinutes: 0,
      hard: false,
    });
  });

  it('lists every problem at once, each saying how to write it', () => {
    let message = '';
    try {
      parseRules('---\nbudget: { per_day_usd: -1, per_task_tokens: 1.5, day_starts: "25:00", hard: "yes", weekly: 3 }\n---\n');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('budget: unknown key "weekly"');
    expect(message).toContain('budget.per_day_usd must be a number of dollars above 0, got -1');
    expect(message).toContain('budget.per_task_tokens must be a whole number of tokens above 0, got 1.5');
    expect(message).toContain('budget.day_starts must be a local time of day like "06:00", got "25:00"');
    expect(message).toContain('budget.hard must be true or false, got "yes"');
    expect(() => parseRules('---\nbudget: 20\n---\n')).toThrow(/budget must be a map, like budget: \{ per_day_usd: 20/);
  });
});

describe('budget days', () => {
  it('run from local midnight, or from day_starts (before it: since yesterday)', () => {
    const at = (h: number, m = 0) => new Date(2026, 10, 21, h, m);
    expect(dayWindow(at(3))).toEqual({ start: new Date(2026, 10, 21, 0, 0), end: new Date(2026, 10, 22, 0, 0) });
    expect(dayWindow(at(3), 360)).toEqual({ start: new Date(2026, 10, 20, 6, 0), end: new Date(2026, 10, 21, 6, 0) });
    expect(dayWindow(at(6), 360)).toEqual({ start: new Date(2026, 10, 21, 6, 0), end: new Date(2026, 10, 22, 6, 0) });
    expect(dayWindow(new Date(2026, 11, 31, 23, 59), 0).end).toEqual(new Date(2027, 0, 1, 0, 0));
  });

  it('count only the spend of the current day; the run figure counts since the daemon started', () => {
    const budget: BudgetRules = { limits: { per_day_usd: 1, per_day_tokens: 1000, per_run_usd: 0.5 }, dayStartsMinutes: 360, hard: false };
    const entries = [
      entry('a', new Date(2026, 10, 21, 5, 59).toISOString(), 0.7, 900), // yesterday's budget day
      entry('b', new Date(2026, 10, 21, 6, 1).toISOString(), 0.3, 100),
      entry('c', new Date(2026, 10, 21, 7, 0).toISOString(), 0.25, 50),
    ];
    const now = new Date(2026, 10, 21, 8, 0);
    const figures = queueFigures(budget, entries, now, new Date(2026, 10, 21, 6, 30));
    expect(figures).toEqual([
      { budget: 'per_day_usd', spent: 0.55, limit: 1, unit: 'usd' },
      { budget: 'per_day_tokens', spent: 150, limit: 1000, unit: 'tokens' },
      { budget: 'per_run_usd', spent: 0.25, limit: 0.5, unit: 'usd' },
    ]);
    expect(reachedBudget(figures)).toBeUndefined();
    const more = [...entries, entry('d', new Date(2026, 10, 21, 7, 30).toISOString(), 0.25)];
    expect(reachedBudget(queueFigures(budget, more, now, new Date(2026, 10, 21, 6, 30)))).toEqual({
      budget: 'per_run_usd',
      spent: 0.5,
      limit: 0.5,
      unit: 'usd',
    });
    const view = budgetView(budget, more, now, new Date(2026, 10, 21, 6, 30));
    expect(view.reached).toBe('budget per_run_usd reached ($0.50 of $0.50)');
    expect(shortFigures(view)).toEqual(['$0.80/$1.00 day', '150/1k tok day', '$0.50/$0.50 run']);
  });

  it('a task may spend what is left of per_task_usd; at or over it, or over per_task_tokens, it fails', () => {
    const budget: BudgetRules = { limits: { per_task_usd: 2, per_task_tokens: 1000 }, dayStartsMinutes: 0, hard: false };
    expect(taskAllowance(budget, {})).toEqual({ remainingUsd: 2, remainingTokens: 1000 });
    expect(taskAllowance(budget, { costUsd: 0.75, tokens: 10 })).toEqual({ remainingUsd: 1.25, remainingTokens: 990 });
    expect(taskAllowance(budget, { costUsd: 2.1 })).toEqual({ remainingUsd: 0, over: 'budget: per_task_usd reached ($2.10 of $2.00)' });
    expect(taskAllowance(budget, { tokens: 1000 }).over).toBe('budget: per_task_tokens reached (1,000 tokens of 1,000 tokens)');
    expect(taskAllowance(undefined, { costUsd: 99 })).toEqual({ remainingUsd: undefined, remainingTokens: undefined });
  });
});

describe('the spend ledger', () => {
  it('counts a key once, whoever records it again (live run, recovery, a second process)', async () => {
    const file = join(await left.tempDir(), 'budget', 'ledger.jsonl');
    const a = new SpendLedger(file);
    expect(await a.record(entry('attempt:x:1', '2026-11-21T03:00:00.000Z', 0.5))).toBe(true);
    expect(await a.record(entry('attempt:x:1', '2026-11-21T03:00:01.000Z', 0.5))).toBe(false);
    const b = new SpendLedger(file);
    expect(await b.record(entry('attempt:x:1', '2026-11-21T03:00:02.000Z', 0.5))).toBe(false);
    expect(await b.record(entry('attempt:y:1', '2026-11-21T03:00:03.000Z', 0.25))).toBe(true);
    // The first process sees what the second appended.
    expect((await a.entries()).map((e) => [e.key, e.costUsd])).toEqual([
      ['attempt:x:1', 0.5],
      ['attempt:y:1', 0.25],
    ]);
    expect((await readFile(file, 'utf8')).trim().split('\n')).toHaveLength(2);
  });

  it('skips a line torn by a crash and never glues the next entry onto it', async () => {
    const file = join(await left.tempDir(), 'ledger.jsonl');
    await writeFile(file, `${JSON.stringify(entry('a', '2026-11-21T03:00:00.000Z', 1))}\n{"key":"torn","at":"2026-11-2`);
    const ledger = new SpendLedger(file);
    expect((await ledger.entries()).map((e) => e.key)).toEqual(['a']);
    await ledger.record(entry('b', '2026-11-21T03:00:01.000Z', 2));
    expect((await new SpendLedger(file).entries()).map((e) => e.key)).toEqual(['a', 'b']);
    // Foreign lines are skipped too: the ledger is never rewritten.
    await appendFile(file, 'not json\n{"key":1}\n');
    expect((await new SpendLedger(file).entries()).map((e) => e.key)).toEqual(['a', 'b']);
  });
});

describe('what executors report', () => {
  it('a command executor: the last `nightshift: usage` line counts', () => {
    expect(commandUsage('hello\nnightshift: usage cost_usd=0.1 tokens=100\nworking\nnightshift: usage cost_usd=0.25 tokens=300\n')).toEqual(
      {
        costUsd: 0.25,
        tokens: 300,
      },
    );
    expect(commandUsage('nightshift: usage tokens=42')).toEqual({ tokens: 42 });
    expect(commandUsage('  nightshift: usage cost_usd=1.5  \r\n')).toEqual({ costUsd: 1.5 });
    expect(commandUsage('echo nightshift: usage cost_usd=9\nnightshift: usage cost_usd=-1\nnightshift: usage cost_usd=abc')).toEqual({});
  });

  it('Claude Code gets --max-budget-usd with what is left, before the user args', () => {
    const input = { promptFile: '/p', promptBytes: 1, worktree: '/w', options: { args: ['--x'] } };
    expect(claude.invocation({ ...input, maxBudgetUsd: 1.25 }).argv.slice(-3)).toEqual(['--max-budget-usd', '1.25', '--x']);
    expect(claude.invocation(input).argv).not.toContain('--max-budget-usd');
  });

  it('recovery finds the dead attempt in its transcript, where the live run would have keyed it', () => {
    const h = (text: string) => `\n==> 2026-11-21T03:00:00.000Z ${text}\n`;
    const earlier = `${h('attempt 1 of t: worktree /w on b from abc')}${h('executor spend')}nightshift: usage cost_usd=0.1\n`;
    const dead = `${h('attempt 1 of t: worktree /w on b from abc')}${h('executor spend')}nightshift: usage cost_usd=0.2\n${h('executor spend finished')}`;
    const found = attemptSections(earlier + dead, 't', 1);
    expect(found?.offset).toBe(Buffer.byteLength(earlier));
    expect(found?.sections.map((s) => s.header)).toEqual(['executor spend', 'executor spend finished']);
    expect(found?.sections[0]?.body).toBe('nightshift: usage cost_usd=0.2\n');
    expect(attemptSections(earlier, 't', 2)).toBeUndefined();
  });
});

describe('streamed token counts', () => {
  it("a command's running total, and Claude Code's assistant messages each counted once", () => {
    const command = commandTokens();
    for (const l of ['nightshift: usage tokens=400', 'other', 'nightshift: usage cost_usd=0.1 tokens=1500']) command.line(l);
    expect(command.total).toBe(1500);
    const claude = claudeTokens();
    const msg = (id: string, output: number) =>
      JSON.stringify({
        type: 'assistant',
        message: { id, usage: { input_tokens: 100, output_tokens: output, cache_read_input_tokens: 7, cache_creation_input_tokens: 3 } },
      });
    for (const l of [msg('m1', 1), msg('m1', 20), msg('m2', 5), '{"type":"user"}', 'not json']) claude.line(l);
    expect(claude.total).toBe(130 + 115);
  });
});
