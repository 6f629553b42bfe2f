import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { hasCode } from '../errors.js';
import { resolveCommit, taskBranch, type Git } from '../git/git.js';
import { taskTrailers } from '../git/trailers.js';
import type { Paths } from '../paths.js';
import type { Task } from '../task/task.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { RunContext } from './context.js';

/** A commit nightshift made and checked (guards, test, review passed), and the commit it sits on. */
export interface Verified {
  commit: string;
  baseCommit: string;
}

/**
 * nightshift's own record of the commit it checked for a task, written before publishing it and removed
 * before any executor runs: the task file's `commit:` and the branch are within an executor's reach, so
 * neither alone proves that nightshift checked a commit. (.nightshift/ is daemon state; an executor is
 * never told where it is.)
 */
const recordFile = (paths: Paths, id: string) => join(paths.state, 'verified', `${id}.json`);

/**
 * Written before every push (`durable` false: an fsync per task costs more than the record is worth then;
 * a power cut only means the task runs again) and durably once a commit is kept for a later claim.
 */
export async function recordVerified(paths: Paths, id: string, verified: Verified, durable = false): Promise<void> {
  await mkdir(join(paths.state, 'verified'), { recursive: true });
  await writeFileAtomic(recordFile(paths, id), JSON.stringify({ commit: verified.commit, base_commit: verified.baseCommit }), { durable });
}

export async function forgetVerified(paths: Paths, id: string): Promise<void> {
  await rm(recordFile(paths, id), { force: true });
}

async function readVerified(paths: Paths, id: string): Promise<Verified | undefined> {
  try {
    const raw = JSON.parse(await readFile(recordFile(paths, id), 'utf8')) as { commit?: unknown; base_commit?: unknown };
    if (typeof raw.commit !== 'string' || typeof raw.base_commit !== 'string') return undefined;
    return { commit: raw.commit, baseCommit: raw.base_commit };
  } catch (err) {
    if (hasCode(err, 'ENOENT') || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/**
 * The verified commit a task kept when publishing it failed, if everything still agrees: the task file's
 * `commit:` and `base_commit:`, nightshift's record, and `nightshift/<id>`, which must hold exactly that
 * commit, one commit on top of base_commit with the task's trailer. Anything else (a branch moved, a
 * commit: edited, no record) is not trusted: the task runs from the start.
 */
export async function keptCommit(ctx: RunContext, task: Task): Promise<Verified | undefined> {
  if (!task.commit || !task.baseCommit) return undefined;
  const kept = await checkKept(ctx, task.id, task.commit);
  return kept?.baseCommit === task.baseCommit ? kept : undefined;
}

/** nightshift's record for `commit`, if `nightshift/<id>` holds exactly that commit, on the recorded base. */
export async function checkKept(ctx: RunContext, id: string, commit: string): Promise<Verified | undefined> {
  if (ctx.rules.push === 'none') return undefined;
  const recorded = await readVerified(ctx.paths, id);
  if (!recorded || recorded.commit !== commit) return undefined;
  const tip = await resolveCommit(ctx.git, `refs/heads/${taskBranch(id)}`);
  if (tip !== recorded.commit) return undefined;
  return (await isTaskCommit(ctx.git, tip, id, recorded.baseCommit)) ? recorded : undefined;
}

/** Whether `commit` carries the `Nightshift-Task: <id>` trailer and, when given, has exactly one parent, `parent`. */
export async function isTaskCommit(git: Git, commit: string, id: string, parent?: string): Promise<boolean> {
  const read = await taskTrailers(git, commit);
  if (!read) return false;
  if (parent !== undefined && read.parents.join(' ') !== parent) return false;
  return read.tasks.includes(id);
}
