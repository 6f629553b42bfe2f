import { oneLine } from '../errors.js';
import type { SpawnOutcome } from '../exec/spawn.js';
import { formatDuration } from '../util/duration.js';
import { AttemptDeadline } from './deadline.js';
import type { AttemptOutcome } from './outcome.js';
import { lastLine, logHeader, tailSince } from './output.js';

/**
 * Turns a step's process outcome into an attempt failure, or undefined when the step succeeded. Every step
 * (setup, executor, tests, reviewer) reads the same way: what happened, its last line, its output's tail.
 * `from` is where the step's output starts in `logFile`; `stopSignal` set means the daemon is stopping.
 */
export async function stepFailure(
  step: string,
  outcome: SpawnOutcome,
  at: { logFile: string; from: number; stopSignal: AbortSignal },
): Promise<AttemptOutcome | undefined> {
  const { logFile, from } = at;
  if (outcome.kind === 'exited' && outcome.code === 0) return undefined;
  if (outcome.kind === 'aborted' || at.stopSignal.aborted) return { kind: 'interrupted' };
  const tail = await tailSince(logFile, from);
  const last = lastLine(tail);
  let reason: string;
  switch (outcome.kind) {
    case 'exited':
      reason = `${step} failed (exit ${outcome.code})${last ? `: ${last}` : ''}`;
      break;
    case 'signalled':
      reason = `${step} was killed by ${outcome.signal}${last ? `: ${last}` : ''}`;
      break;
    case 'timed-out':
      reason =
        AttemptDeadline.over(outcome)?.reason(step) ??
        (outcome.limit === 'stall'
          ? `${step} stalled: no output for ${formatDuration(outcome.afterMs)}, stopped`
          : `${step} timed out after ${formatDuration(outcome.afterMs)}, stopped`);
      break;
    case 'not-found':
      reason = `${step}: ${outcome.message}`;
      break;
    default: {
      const never: never = outcome;
      throw new Error(`unexpected outcome ${JSON.stringify(never)}`);
    }
  }
  await logHeader(logFile, reason);
  const detail = tail ? `${reason}\n\nLast output:\n\`\`\`\n${tail}\n\`\`\`` : reason;
  return { kind: 'failure', reason: oneLine(reason), detail, retry: true };
}
