import { setBranch, type Git } from '../git/git.js';
import { readHead, type HeadState } from '../git/head.js';
import { isValidId } from '../task/id.js';

/**
 * nightshift commits only on nightshift/<id>. An executor that detaches HEAD or switches to a branch of
 * its own would otherwise have its work folded onto a HEAD no branch follows, and the task's branch pushed
 * at base: a false `done`. Checked after the executor (its commits on top of base are fine) and before the
 * commit (the branch must be exactly base_commit then: the guards folded everything into the index).
 */
export interface HeadGuardInput {
  taskId: string;
  attempt: number;
  branch: string;
  baseCommit: string;
  /** Who ran last, for the reason: "the executor", "the test command or the reviewer". */
  who: string;
  /** after-executor: the branch may hold commits on base; before-commit: it must be base itself. */
  stage: 'after-executor' | 'before-commit';
}

/** One guard line when HEAD is not where nightshift commits, else undefined. `read`: HEAD as just read, if it was. */
export async function guardHead(wt: Git, input: HeadGuardInput, read?: HeadState): Promise<string | undefined> {
  const { branch, baseCommit, who } = input;
  const { commit: head, ref: on } = read ?? (await readHead(wt));
  if (on === `refs/heads/${branch}`) {
    if (input.stage === 'after-executor' || head === baseCommit) return undefined;
    return `HEAD: ${who} moved ${branch} to ${head ? head.slice(0, 7) : 'nothing'}; nightshift commits on base_commit ${baseCommit.slice(0, 7)} only`;
  }
  let where: string;
  if (!head) where = 'left HEAD on no commit (an unborn branch)';
  else if (!on || on === 'HEAD') where = `left HEAD detached at ${head.slice(0, 7)}`;
  else where = `switched HEAD to ${on.replace(/^refs\/heads\//, 'branch ')} at ${head.slice(0, 7)}`;
  let line = `HEAD: ${who} ${where}; nightshift commits only on ${branch}`;
  const kept = head && head !== baseCommit ? await keepWork(wt, input, head) : undefined;
  if (kept) line += `; that commit is kept on branch ${kept}`;
  return line;
}

/** Keeps the commit HEAD points at on nightshift-recovery/<id>/attempt-<n> (the ref guard ignores those). */
async function keepWork(wt: Git, input: HeadGuardInput, head: string): Promise<string | undefined> {
  if (!isValidId(input.taskId)) return undefined;
  const name = `nightshift-recovery/${input.taskId}/attempt-${input.attempt}`;
  try {
    await setBranch(wt, name, head);
    return name;
  } catch {
    return undefined;
  }
}
