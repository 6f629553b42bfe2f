import { resolveProgram } from '../exec/executorEnv.js';
import { ProcessTracker } from '../exec/processTracker.js';
import { spawnLogged, type SpawnOutcome, type SpawnRequest } from '../exec/spawn.js';
import { AttemptDeadline } from './deadline.js';
import { logHeader } from './output.js';

/**
 * Runs one step of an attempt (setup, an executor, the tests, the reviewer, land's retest) within what
 * is left of the attempt's deadline, and kills whatever the step started that still runs when it ends:
 * also what left its process group or dropped NIGHTSHIFT_WORKTREE (see exec/processTracker.ts).
 */
export async function spawnBounded(deadline: AttemptDeadline, worktree: string, req: SpawnRequest): Promise<SpawnOutcome> {
  const limit = deadline.limitFor(req.timeoutMs);
  if (limit.timeoutMs <= 0) return deadline.mark(AttemptDeadline.expired());
  const tracker = new ProcessTracker(worktree);
  const [program, ...args] = req.argv;
  let outcome: SpawnOutcome;
  try {
    outcome = await spawnLogged({
      ...req,
      // The executor's PATH no longer reaches into the checkout; a CLI installed only there still starts.
      argv: [resolveProgram(program, req.env?.PATH, process.env.PATH), ...args],
      timeoutMs: limit.timeoutMs,
      onStart: (pgid) => {
        tracker.start(pgid);
        req.onStart?.(pgid);
      },
    });
  } finally {
    const leftovers = await tracker.finish();
    if (leftovers > 0) await logHeader(req.logFile, `stopped ${leftovers} process${leftovers === 1 ? '' : 'es'} the step left running`);
  }
  if (limit.byDeadline && outcome.kind === 'timed-out' && outcome.limit === 'timeout') deadline.mark(outcome);
  return outcome;
}
