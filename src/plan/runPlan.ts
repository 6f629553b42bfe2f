import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { executorKnown, loadRules, unknownExecutorReason } from '../config/rules.js';
import { readScope } from '../config/scope.js';
import { UsageError, hasCode, toError } from '../errors.js';
import { currentBranch, openGit, resolveCommit } from '../git/git.js';
import { addPlanCheckout, checkoutChanged, treePaths } from '../git/planCheckout.js';
import { removeWorktree } from '../git/worktrees.js';
import type { Paths } from '../paths.js';
import { ProgressLog, utcStamp } from '../progress/log.js';
import { chooseSandbox } from '../sandbox/choose.js';
import { slugify } from '../task/id.js';
import { loadTasks } from '../task/store.js';
import { approveTasks } from './approve.js';
import { checkPlan } from './checks.js';
import { draftText, writeDrafts } from './drafts.js';
import type { Readiness } from './gate.js';
import { reviewPlan } from './review.js';
import { plannerPrompt, type PlanContext } from './prompts.js';
import { addSpend, claimPlanId, recordDir, saveRecord, type PlanRecord } from './record.js';
import { askForAnswer } from './ask.js';
import type { PlanAnswer } from './schema.js';

export interface PlanRequest {
  paths: Paths;
  goal: string;
  /** --from files, relative to `cwd`. */
  from?: string[];
  cwd: string;
  planner?: string;
  reviewer?: string;
  /** --queue: queue ready tasks (as auto_queue does). */
  queue?: boolean;
}

export type PlanResult = { kind: 'written'; record: PlanRecord } | { kind: 'failed'; record: PlanRecord; reason: string };

/**
 * `nightshift plan`: the planner turns the goal into tasks, static checks and a blind readiness review
 * judge each, and every task is written to tasks/ as a draft (ready ones queued with --queue or auto_queue).
 * Anything that goes wrong before the drafts are written leaves tasks/ as it was.
 */
export async function runPlan(req: PlanRequest): Promise<PlanResult> {
  const { paths } = req;
  const rules = await loadRules(paths.rules);
  const planner = req.planner ?? rules.plan.planner ?? rules.executor;
  const reviewer = req.reviewer ?? rules.plan.reviewer ?? planner;
  if (planner === undefined || reviewer === undefined) {
    throw new UsageError(
      'no planner: rules.md names no executor',
      'set plan: { planner: claude, reviewer: codex } in rules.md, or give --planner',
    );
  }
  for (const [flag, name] of [
    ['planner', planner],
    ['reviewer', reviewer],
  ] as const) {
    if (name === 'shell')
      throw new UsageError(`--${flag} shell: the shell executor cannot plan or review`, 'name an agent or a custom executor');
    if (!executorKnown(rules, name)) throw new UsageError(`${flag}: ${unknownExecutorReason(name)}`, 'name one rules.md knows');
  }
  const inputs = await readInputs(req.cwd, req.from ?? []);
  const git = openGit(paths.root);
  const base = rules.base ?? (await currentBranch(git)) ?? 'HEAD';
  const baseCommit = await resolveCommit(git, base);
  if (!baseCommit) throw new UsageError(`base "${base}" names no commit`, 'commit something first, or set base: in rules.md');

  const id = await claimPlanId(paths, planId(req.goal));
  const record: PlanRecord = {
    id,
    goal: req.goal,
    created_at: utcStamp(),
    base,
    base_commit: baseCommit,
    planner,
    reviewer,
    inputs: inputs.map((i) => ({ file: i.name, sha256: i.sha256 })),
    state: 'planning',
    tasks: [],
    questions: [],
    usage: { tokens: 0, cost_usd: 0 },
    steps: [],
  };
  const dir = recordDir(paths, id);
  await saveRecord(paths, record);
  const fail = async (reason: string): Promise<PlanResult> => {
    record.state = 'failed';
    record.error = reason;
    await saveRecord(paths, record);
    return { kind: 'failed', record, reason };
  };

  const checkout = join(paths.worktrees, `plan-${id}`);
  try {
    await mkdir(paths.worktrees, { recursive: true });
    await addPlanCheckout(git, checkout, baseCommit);
    const entries = await loadTasks(paths.tasks);
    const existing = entries.map((e) =>
      e.kind === 'task'
        ? { id: e.task.id, title: e.task.title, status: e.task.status }
        : { id: e.invalid.id, title: '(invalid file)', status: 'invalid' },
    );
    const context: PlanContext = {
      goal: req.goal,
      inputs,
      scopeBody: await readScope(paths.scope),
      rulesBody: rules.body,
      kinds: Object.keys(rules.routes),
      existing,
      baseCommit,
    };
    const step = {
      root: paths.root,
      rules,
      worktree: checkout,
      recordDir: dir,
      timeoutMs: rules.timeoutMs,
      stallTimeoutMs: rules.stallTimeoutMs,
      sandbox: await chooseSandbox(rules),
    };
    const planned = await askForAnswer<PlanAnswer>(
      { ...step, executor: planner, name: 'planner', prompt: plannerPrompt(context), schema: 'plan' },
      (s, usage) => addSpend(record, s, planner, usage),
    );
    if (planned.kind === 'failed') return await fail(planned.reason);
    const plan = planned.value;
    record.questions = plan.questions;
    record.tasks = plan.tasks.map((t) => ({ id: t.id, title: t.title, depends_on: t.depends_on }));
    await saveRecord(paths, record);

    const checks = checkPlan(plan, new Set(existing.map((e) => e.id)), await treePaths(git, baseCommit));
    if (checks.failed.size > 0) {
      for (const t of record.tasks) t.failed_checks = checks.failed.get(t.id);
      const named = [...checks.failed].map(([task, why]) => `\n  - ${task}: ${why.join('; ')}`).join('');
      return await fail(`the plan failed its checks:${named}`);
    }

    const reviewed = await reviewPlan(plan, context, rules.plan, checks.notAtomic, { ...step, executor: reviewer }, (s, usage) =>
      addSpend(record, s, reviewer, usage),
    );
    if (reviewed.kind === 'failed') return await fail(reviewed.reason);
    const verdicts = reviewed.verdicts;
    if (await checkoutChanged(openGit(checkout))) return await fail(`the planner or reviewer changed the checkout it may only read`);

    const drafts = plan.tasks.map((t) => ({ id: t.id, text: draftText(t, id, baseCommit, verdicts.get(t.id) as Readiness) }));
    const written = await writeDrafts(paths.tasks, drafts);
    if (written !== 'written') return await fail(`task ${written.taken} appeared in tasks/ while planning`);
    for (const t of record.tasks) {
      t.readiness = verdicts.get(t.id);
      t.status = 'draft';
    }
    await logPlanned(new ProgressLog(paths.progress), record);
    if (req.queue || rules.plan.autoQueue) await queueReady(paths, record);
    record.state = 'written';
    await saveRecord(paths, record);
    return { kind: 'written', record };
  } catch (err) {
    // A crash of ours (disk full, git gone): the record says so too, then the error goes on up.
    await fail(`nightshift failed while planning: ${toError(err).message}`).catch(() => undefined);
    throw err;
  } finally {
    await removeWorktree(git, checkout);
  }
}

async function logPlanned(progress: ProgressLog, record: PlanRecord): Promise<void> {
  const ready = record.tasks.filter((t) => t.readiness?.ready).length;
  await progress.append(undefined, 'planned', {
    plan: record.id,
    tasks: record.tasks.length,
    ready,
    planner: record.planner,
    tokens: record.usage.tokens,
    cost_usd: record.usage.cost_usd || undefined,
  });
  await progress.appendAll(
    record.tasks.map((t) => ({
      id: t.id,
      event: 'plan-reviewed' as const,
      fields: {
        plan: record.id,
        planner: t.readiness?.planner_confidence,
        reviewer: t.readiness?.reviewer_confidence,
        ready: t.readiness?.ready ? 'yes' : 'no',
      },
    })),
  );
}

/** Ready tasks go through `approve` like a person's; the others stay drafts with their reasons. */
async function queueReady(paths: Paths, record: PlanRecord): Promise<void> {
  const ready = record.tasks.filter((t) => t.readiness?.ready).map((t) => t.id);
  if (ready.length === 0) return;
  const results = await approveTasks({ paths, progress: new ProgressLog(paths.progress), ids: ready });
  for (const r of results) {
    const entry = record.tasks.find((t) => t.id === r.id);
    if (entry && r.kind === 'queued') entry.status = 'queued';
  }
}

/** --from files: their text for the prompt, their hash for the record. */
async function readInputs(cwd: string, files: string[]): Promise<Array<{ name: string; text: string; sha256: string }>> {
  const inputs = [];
  for (const f of files) {
    const path = resolve(cwd, f);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      if (hasCode(err, 'ENOENT')) throw new UsageError(`--from ${f}: no such file`, 'name a spec, design note or PRD to plan from');
      if (hasCode(err, 'EISDIR')) throw new UsageError(`--from ${f} is a folder`, 'name files, one --from each');
      throw err;
    }
    inputs.push({ name: relative(cwd, path) || f, text: bytes.toString('utf8'), sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  return inputs;
}

/** 20261201-044200-add-login-form: sorts by time, safe as a folder name and a frontmatter value. */
export function planId(goal: string, now: Date = new Date()): string {
  const stamp = utcStamp(now).replace(/[-:]/g, '').replace('T', '-').replace('Z', '');
  return `${stamp}-${slugify(goal).slice(0, 30).replace(/-+$/, '')}`;
}
