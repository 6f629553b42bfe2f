import { commitOnBranch } from '../git/commit.js';
import type { Git } from '../git/git.js';
import type { HeadState } from '../git/head.js';
import type { AttemptOutcome } from './outcome.js';
import type { RunContext } from './context.js';
import { guardHead } from './headGuard.js';
import { watchRemoteBase, type RemoteBaseWatch } from './remoteBase.js';
import { guardFailure, openStepGuard, type StepGuard } from './stepGuard.js';

/**
 * What an attempt checks beyond its change: the shared git state and rules.md/scope.md around each step
 * (StepGuard), the remote's base, and where HEAD is. Opened right before the executor starts.
 */
export interface AttemptWatch {
  /** For the test command and the reviewer: run()/around() each. */
  shared: StepGuard;
  /**
   * Runs the executor step. Right after it, before nightshift runs any other git command, the shared
   * state is compared and restored (fs only); then the remote's base is looked at while `alongside` runs
   * (the ref guard: both only read until they find something). Returns the step's result, the guard
   * lines (without "guard failed: ") and what `alongside` returned.
   */
  executor<T, U>(step: () => Promise<T>, alongside: () => Promise<U>): Promise<[T, string[], U]>;
  /**
   * HEAD still on nightshift/<id> holding base_commit or commits on it; else one line (work kept). `read`:
   * the ref guard's reading of HEAD right after the executor (one git process fewer), when it made one.
   */
  headAfterExecutor(read?: HeadState): Promise<string | undefined>;
  /**
   * nightshift's commit of `tree` on base_commit, once HEAD is checked again (on the branch, the branch
   * exactly at base_commit) and the remote's base is unmoved since the executor's check: both only when a
   * test command or a reviewer ran since.
   */
  commit(
    tree: string,
    messageFile: string,
    logFile: string,
  ): Promise<{ kind: 'committed'; commit: string } | { kind: 'failed'; outcome: AttemptOutcome }>;
}

export async function watchAttempt(
  ctx: RunContext,
  input: { taskId: string; attempt: number; branch: string; baseCommit: string; worktree: string; wt: Git },
): Promise<AttemptWatch> {
  const { taskId, attempt, branch, baseCommit, wt } = input;
  const shared = openStepGuard(ctx, { taskId, attempt });
  const remote: RemoteBaseWatch = await watchRemoteBase(ctx, input);
  let stepsAfterExecutor = false;
  const later: StepGuard = {
    before: () => {
      stepsAfterExecutor = true;
      return shared.before();
    },
    after: (who) => shared.after(who),
    run: (who, step) => {
      stepsAfterExecutor = true;
      return shared.run(who, step);
    },
    around: (who, step) => {
      stepsAfterExecutor = true;
      return shared.around(who, step);
    },
  };
  return {
    shared: later,
    async executor(step, alongside) {
      const [result, lines] = await shared.run('the executor', step);
      const [moved, also] = await Promise.all([remote.check('the executor'), alongside()]);
      return [result, moved ? [...lines, moved] : lines, also];
    },
    headAfterExecutor: (read) => guardHead(wt, { taskId, attempt, branch, baseCommit, who: 'the executor', stage: 'after-executor' }, read),
    async commit(tree, messageFile, logFile) {
      const who = 'the test command or the reviewer';
      // Nothing ran since the executor's checks without a test command or a reviewer: no second ls-remote,
      // and HEAD is where the guards' fold just put it (the commit below moves the branch only if it is
      // still base_commit, whatever happened since).
      const stage = 'before-commit';
      const head = stepsAfterExecutor ? await guardHead(wt, { taskId, attempt, branch, baseCommit, who, stage }) : undefined;
      const moved = stepsAfterExecutor ? await remote.check(who) : undefined;
      const lines = [head, moved].filter((l): l is string => l !== undefined);
      if (lines.length > 0) return { kind: 'failed', outcome: await guardFailure(lines, logFile) };
      const made = await commitOnBranch(wt, { tree, parent: baseCommit, branch, messageFile });
      return made.kind === 'committed' ? made : { kind: 'failed', outcome: await guardFailure([made.reason], logFile) };
    },
  };
}
