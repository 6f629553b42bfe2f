import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SpendLedger, ledgerFile } from '../budget/ledger.js';
import { hasCode } from '../errors.js';
import type { Paths } from '../paths.js';
import { writeFileAtomic } from '../util/atomic.js';
import { maskSecrets } from '../util/secrets.js';
import type { Readiness } from './gate.js';

/** Tokens and dollars, as the agents reported them; either may be missing (Codex reports no cost). */
export interface Spend {
  tokens: number;
  cost_usd: number;
}

/** One planner or reviewer run, for the spend ledger and `plan show`. */
export interface StepSpend extends Spend {
  step: string;
  executor: string;
}

export interface PlannedEntry {
  id: string;
  title: string;
  depends_on: string[];
  readiness?: Readiness;
  /** What it ended as: a draft, or queued (ready, with --queue or auto_queue). */
  status?: 'draft' | 'queued';
  /** Static checks it failed (the plan was refused). */
  failed_checks?: string[];
}

/** `.nightshift/plans/<id>/plan.json`: what `plan show` prints. Prompts, transcripts and answers sit beside it. */
export interface PlanRecord {
  id: string;
  goal: string;
  created_at: string;
  base: string;
  base_commit: string;
  planner: string;
  reviewer: string;
  inputs: Array<{ file: string; sha256: string }>;
  state: 'planning' | 'written' | 'failed';
  error?: string;
  tasks: PlannedEntry[];
  questions: string[];
  /** Planning and review together: sum `usage` across plans for a day's planning spend. */
  usage: Spend;
  steps: StepSpend[];
}

export function plansDir(paths: Paths): string {
  return join(paths.state, 'plans');
}

export function recordDir(paths: Paths, id: string): string {
  return join(plansDir(paths), id);
}

/** Makes the record's folder: `id`, or `id-2`, `id-3`... when another plan of the same goal began in the same second. */
export async function claimPlanId(paths: Paths, id: string): Promise<string> {
  await mkdir(plansDir(paths), { recursive: true });
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? id : `${id}-${n}`;
    try {
      await mkdir(recordDir(paths, candidate));
      return candidate;
    } catch (err) {
      if (!hasCode(err, 'EEXIST')) throw err;
    }
  }
}

export async function saveRecord(paths: Paths, record: PlanRecord): Promise<void> {
  const dir = recordDir(paths, record.id);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, 'plan.json'), maskSecrets(`${JSON.stringify(record, null, 2)}\n`));
  await recordPlanSpend(paths, record);
}

/**
 * Planning spend counts against the day and run budgets like a task's: each step goes into the spend ledger
 * once, under a key of the plan and the step's place in it, however often the record is saved.
 */
async function recordPlanSpend(paths: Paths, record: PlanRecord): Promise<void> {
  const ledger = new SpendLedger(ledgerFile(paths.state));
  const at = new Date().toISOString();
  for (const [i, s] of record.steps.entries()) {
    if (s.tokens === 0 && s.cost_usd === 0) continue;
    await ledger.record({
      key: `plan:${record.id}:${i}:${s.step}`,
      at,
      source: 'planner',
      executor: s.executor,
      costUsd: s.cost_usd,
      tokens: s.tokens,
    });
  }
}

export async function loadRecord(paths: Paths, id: string): Promise<PlanRecord | undefined> {
  try {
    return JSON.parse(await readFile(join(recordDir(paths, id), 'plan.json'), 'utf8')) as PlanRecord;
  } catch (err) {
    if (hasCode(err, 'ENOENT') || hasCode(err, 'ENOTDIR')) return undefined;
    throw err;
  }
}

/** Plan ids, oldest first (ids start with their UTC time). */
export async function planIds(paths: Paths): Promise<string[]> {
  try {
    return (await readdir(plansDir(paths))).filter((n) => !n.startsWith('.')).sort();
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return [];
    throw err;
  }
}

/** Adds one step's usage to the record's list and total. */
export function addSpend(record: PlanRecord, step: string, executor: string, usage: { tokens?: number; costUsd?: number }): void {
  const tokens = usage.tokens ?? 0;
  const cost = usage.costUsd ?? 0;
  record.steps.push({ step, executor, tokens, cost_usd: cost });
  record.usage = { tokens: record.usage.tokens + tokens, cost_usd: Math.round((record.usage.cost_usd + cost) * 1e6) / 1e6 };
}
