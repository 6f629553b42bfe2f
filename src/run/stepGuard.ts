import { join } from 'node:path';
import { oneLine } from '../errors.js';
import { logHeader } from './output.js';
import { gitCommonDir } from '../git/repoLock.js';
import type { AttemptOutcome } from './outcome.js';
import type { RunContext } from './context.js';
import { restoreShared } from './restoreShared.js';
import { diffShared, snapshotShared, type SharedPlaces, type SharedSnapshot } from './sharedState.js';

/**
 * Brackets each step that runs someone else's code in a worktree (the executor, the test command, the
 * reviewer): the shared git state and rules.md/scope.md are read before it and compared after it, and a
 * change is restored and fails the attempt. Call `after` before nightshift runs any git command there:
 * a filter or fsmonitor the step configured would otherwise run inside nightshift's own `git status`.
 */
export interface StepGuard {
  before(): Promise<void>;
  /** Guard lines (without "guard failed: "), one per kind of change; every change already restored. */
  after(who: string): Promise<string[]>;
  /** before(), the step, after() (also when the step throws): the step's result and the guard lines. */
  run<T>(who: string, step: () => Promise<T>): Promise<[T, string[]]>;
  /** run() for a step that ends the attempt or not: failed with the guard lines when something changed. */
  around(who: string, step: () => Promise<AttemptOutcome | undefined>): Promise<AttemptOutcome | undefined>;
}

/**
 * One watch per repository and daemon: steps of concurrent attempts overlap, and a snapshot taken while
 * another step runs could hold that step's change, which a later restore would then put back. So the
 * snapshot is taken only when no step runs; while any runs, each compares against that one, and the
 * change is restored (and blamed) by whichever step ends first.
 */
interface Watch {
  places: SharedPlaces;
  active: number;
  baseline?: SharedSnapshot;
  queue: Promise<unknown>;
}

const watches = new Map<string, Promise<Watch>>();

function watchFor(ctx: RunContext): Promise<Watch> {
  let watch = watches.get(ctx.paths.root);
  if (!watch) {
    watch = gitCommonDir(ctx.git).then((commonDir) => ({
      places: { commonDir, userFiles: [ctx.paths.rules, ctx.paths.scope] },
      active: 0,
      queue: Promise.resolve(),
    }));
    watch.catch(() => watches.delete(ctx.paths.root));
    watches.set(ctx.paths.root, watch);
  }
  return watch;
}

/** Runs fn after every earlier call on this watch: snapshots and restores never interleave. */
function serial<T>(watch: Watch, fn: () => Promise<T>): Promise<T> {
  const next = watch.queue.then(fn, fn);
  watch.queue = next.catch(() => undefined);
  return next;
}

export function openStepGuard(ctx: RunContext, attempt: { taskId: string; attempt: number }): StepGuard {
  let open = false;
  const guard: StepGuard = {
    async before() {
      const watch = await watchFor(ctx);
      await serial(watch, async () => {
        if (watch.active === 0 || !watch.baseline) watch.baseline = await snapshotShared(watch.places);
        watch.active++;
      });
      open = true;
    },
    async after(who) {
      if (!open) return [];
      open = false;
      const watch = await watchFor(ctx);
      return serial(watch, async () => {
        watch.active--;
        const before = watch.baseline as SharedSnapshot;
        const now = await snapshotShared(watch.places);
        const changes = diffShared(before, now);
        if (changes.length === 0) return [];
        const lines = await restoreShared({
          places: watch.places,
          before,
          after: now,
          changes,
          repo: ctx.git,
          quarantine: join(ctx.paths.state, 'quarantine'),
          root: ctx.paths.root,
          who,
        });
        ctx.logger.warn(
          { task: attempt.taskId, attempt: attempt.attempt, who, changes: lines },
          'shared git state changed by a step; restored',
        );
        return lines;
      });
    },
    async run(who, step) {
      await guard.before();
      let result;
      try {
        result = await step();
      } catch (err) {
        // Whatever the step changed is put back even when running it failed, and the watch is closed.
        await guard.after(who);
        throw err;
      }
      return [result, await guard.after(who)];
    },
    async around(who, step) {
      const [outcome, lines] = await guard.run(who, step);
      return withGuardLines(outcome, lines);
    },
  };
  return guard;
}

/**
 * A step's outcome with guard lines added: a success becomes a failure, a failure names them too (so the
 * next prompt does). An outcome that is not a failure or success (cancelled, interrupted) stays as it is.
 */
export function withGuardLines(outcome: AttemptOutcome | undefined, lines: string[]): AttemptOutcome | undefined {
  if (lines.length === 0) return outcome;
  const also = `guard failed: ${lines.join('; ')}`;
  if (outcome === undefined || outcome.kind === 'success')
    return {
      kind: 'failure',
      reason: oneLine(also),
      detail: `${also}\nLeave the repository's shared git state, rules.md and scope.md alone.`,
      retry: true,
    };
  if (outcome.kind !== 'failure') return outcome;
  return { ...outcome, reason: oneLine(`${outcome.reason}; ${also}`), detail: `${outcome.detail}\n\n${also}` };
}

/** A failed guard: its lines in the transcript, the reason and the next prompt. */
export async function guardFailure(lines: string[], logFile: string): Promise<AttemptOutcome> {
  const reason = `guard failed: ${lines.join('; ')}`;
  await logHeader(logFile, reason);
  const detail = `${reason}\nnightshift commits only what it checked, on its own branch: leave HEAD, the shared git state and the remote alone.`;
  return { kind: 'failure', reason: oneLine(reason), detail, retry: true };
}
