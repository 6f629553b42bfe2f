import { TaskError, oneLine } from '../errors.js';
import type { AttemptOutcome, GuardedChange } from './outcome.js';
import { foldCommitsOnto, type Git } from '../git/git.js';
import { readHead, type HeadState } from '../git/head.js';
import { stageAll } from '../git/stage.js';
import { writeTree } from '../git/commit.js';
import type { Rules } from '../config/rules.js';
import type { Task } from '../task/task.js';
import { checkGuards, checkRefs, checkWorktree, type GuardRules } from './guards.js';
import { changedPaths, changeFacts, rawRecordsOf, readStagedDiff, readWorktree } from '../git/inspect.js';
import { refMoves, restoreRef, snapshotRefs } from '../git/inspect.js';
import { guardSecrets } from './secretGuard.js';

/** What the ref guard compares: refs before the executor ran (see snapshotRefs). */
export type RefSnapshot = Map<string, string>;

/** The rules that apply to one task's change: rules.md, with the task's own scope and lower line limit. */
export function guardRulesFor(task: Task, rules: Rules): GuardRules {
  const limits = [rules.maxChangedLines, task.maxChangedLines].filter((n): n is number => n !== undefined);
  return {
    files: task.files,
    protect: rules.protect,
    tests: rules.tests,
    maxChangedLines: limits.length > 0 ? Math.min(...limits) : undefined,
  };
}

/**
 * Compares branches and tags with the snapshot taken before the executor ran, restores what is safe to
 * restore, and returns one line per ref the executor must not have changed (`worktree` undefined: its HEAD
 * cannot be trusted, so no commit counts as the executor's own). Runs whatever the executor's
 * outcome: a base it moved is put back even when the attempt fails anyway.
 */
export async function guardRefs(input: {
  repo: Git;
  worktree: Git | undefined;
  base: string;
  baseCommit: string;
  refsBefore: RefSnapshot;
  /** Lines found before (the shared git state): listed first. */
  earlier?: string[];
}): Promise<RefGuard> {
  const { repo, baseCommit } = input;
  // Without a worktree to read (its .git points elsewhere), no commit counts as the executor's own. HEAD's
  // ref is read in the same process: the HEAD guard after the executor looks at this very reading.
  const [headRead, refsAfter] = await Promise.all([input.worktree ? readHead(input.worktree) : undefined, snapshotRefs(repo)]);
  if (headRead && headRead.commit === undefined) throw new Error("the worktree's HEAD names no commit");
  const executorHead = headRead?.commit ?? baseCommit;
  const moves = await refMoves(repo, input.refsBefore, refsAfter, baseCommit, executorHead);
  const violations: string[] = [...(input.earlier ?? [])];
  for (const finding of checkRefs(moves, input.base)) {
    if (!finding.restore) violations.push(`${finding.message} (left in place)`);
    else
      violations.push(`${finding.message} (${(await restoreRef(repo, finding.move)) ? 'restored' : 'changed again since, not restored'})`);
  }
  return { violations, head: executorHead, headRead };
}

/** What the ref guard found, and the worktree's HEAD it read (the executor's last commit, or base). */
export interface RefGuard {
  violations: string[];
  head: string;
  /** HEAD's commit and ref as read (undefined when the worktree could not be trusted). */
  headRead?: HeadState;
}

/** A failed attempt's outcome with the ref guard's findings added, so the next prompt names them too. */
export function withRefViolations(outcome: AttemptOutcome, violations: string[]): AttemptOutcome {
  if (outcome.kind !== 'failure' || violations.length === 0) return outcome;
  const also = `guard failed: ${violations.join('; ')}`;
  return { ...outcome, reason: oneLine(`${outcome.reason}; ${also}`), detail: `${outcome.detail}\n\n${also}` };
}

/**
 * Runs every guard on the attempt's change and stages it when the worktree checks pass: refs moved by the
 * executor (restored where safe), its own commits folded onto base_commit, sizes, symlinks and embedded
 * repositories read from the worktree before `git add`, then the staged change against the rules.
 */
export async function guardAndStage(input: {
  worktree: Git;
  baseCommit: string;
  /** What guardRefs found right after the executor. */
  refs: RefGuard;
  rules: Rules;
  task: Task;
}): Promise<GuardedChange> {
  const { worktree, baseCommit } = input;
  const refViolations = input.refs.violations;
  try {
    await foldCommitsOnto(worktree, baseCommit, input.refs.head);
  } catch (err) {
    if (err instanceof TaskError) {
      const reason = [err.message, ...refViolations].join('; ');
      return { kind: 'refused', reason, retry: err.retry };
    }
    throw err;
  }
  const { entries, staging } = await readWorktree(worktree);
  const early = [...refViolations, ...checkWorktree(entries, { maxFileSize: input.rules.maxFileSize })];
  // A worktree check failed: stop before `git add`, so a huge file or a nested repository never reaches git.
  if (early.length > refViolations.length) return { kind: 'violations', violations: early };

  await stageAll(worktree, staging);
  const staged = await readStagedDiff(worktree, baseCommit);
  const facts = await changeFacts(worktree, baseCommit, input.rules.tests, staged);
  const paths = changedPaths(facts.changes);
  if (paths.length === 0) return early.length > 0 ? { kind: 'violations', violations: early } : { kind: 'empty' };
  const secrets = await guardSecrets(worktree, baseCommit, process.env, rawRecordsOf(staged));
  const violations = [...early, ...checkGuards(facts, guardRulesFor(input.task, input.rules)), ...secrets];
  return violations.length > 0 ? { kind: 'violations', violations } : { kind: 'staged', paths, tree: await writeTree(worktree) };
}
