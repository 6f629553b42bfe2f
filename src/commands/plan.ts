import { relative } from 'node:path';
import { UsageError } from '../errors.js';
import { loadRecord, planIds, recordDir } from '../plan/record.js';
import { runPlan } from '../plan/runPlan.js';
import { formatPlan } from '../plan/show.js';
import type { Output } from './output.js';
import { openRepo } from './repo.js';

export interface PlanOptions {
  cwd: string;
  goal: string;
  from?: string[];
  planner?: string;
  reviewer?: string;
  queue?: boolean;
  json?: boolean;
}

const NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** `nightshift plan "<goal>"`: exit 0 when the plan is written (drafts or queued), 1 when it failed. */
export async function planGoal(opts: PlanOptions, io: Output): Promise<number> {
  const paths = await openRepo(opts.cwd);
  if (opts.goal.trim() === '') throw new UsageError('the goal is empty', 'say what to build: nightshift plan "Add a login form"');
  for (const [flag, name] of [
    ['--planner', opts.planner],
    ['--reviewer', opts.reviewer],
  ] as const) {
    if (name !== undefined && !NAME.test(name))
      throw new UsageError(`${flag} ${JSON.stringify(name)} is not an executor name`, 'name one from rules.md, like --planner claude');
  }
  const result = await runPlan({
    paths,
    goal: opts.goal.trim(),
    from: opts.from,
    cwd: opts.cwd,
    planner: opts.planner,
    reviewer: opts.reviewer,
    queue: opts.queue,
  });
  const where = relative(opts.cwd, recordDir(paths, result.record.id)) || '.';
  if (opts.json) io.out(`${JSON.stringify(result.record, null, 2)}\n`);
  if (result.kind === 'failed') {
    io.err(`nightshift plan: ${result.reason}\nnothing was written to tasks/; the prompts and transcripts are in ${where}\n`);
    return 1;
  }
  if (!opts.json) {
    io.out(formatPlan(result.record));
    const drafts = result.record.tasks.filter((t) => t.status === 'draft').map((t) => t.id);
    if (drafts.length > 0) io.out(`\nreview the drafts, then: nightshift approve --plan ${result.record.id}  (or approve <ids...>)\n`);
  }
  return 0;
}

/** `nightshift plan show [<id>]`: the latest plan without an id. */
export async function showPlan(opts: { cwd: string; id?: string; json?: boolean }, io: Output): Promise<number> {
  const paths = await openRepo(opts.cwd);
  const id = opts.id ?? (await planIds(paths)).at(-1);
  if (id === undefined) throw new UsageError('no plans yet', 'make one: nightshift plan "<goal>"');
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(id) || id.includes('..'))
    throw new UsageError(`bad plan id ${JSON.stringify(id)}`, 'plan ids are folder names in .nightshift/plans/');
  const record = await loadRecord(paths, id);
  if (!record) throw new UsageError(`no plan "${id}"`, 'nightshift plan show (without an id) shows the latest');
  io.out(opts.json ? `${JSON.stringify(record, null, 2)}\n` : formatPlan(record));
  return 0;
}
