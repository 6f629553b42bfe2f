import type { Logger } from 'pino';
import { oneLine } from '../errors.js';
import type { DaemonEvents } from '../run/events.js';
import type { ProgressLog } from '../progress/log.js';
import { maskSecrets } from '../util/secrets.js';
import type { AgentVerdict, InfraCause } from './agents/types.js';
import type { ExecutorHealth } from './health.js';

/** What parking needs from the daemon: the shared health, and where the parking is announced. */
export interface ParkingDeps {
  health: ExecutorHealth;
  logger: Pick<Logger, 'warn'>;
  progress: Pick<ProgressLog, 'append'>;
  events: Pick<DaemonEvents, 'emit'>;
}

/**
 * Parks an executor that could not run (for the whole daemon: later tasks skip it), announcing it once.
 * Returns when it comes back by itself, or undefined when it waits for a restart. Task executors and
 * reviewers are parked alike.
 */
export async function parkExecutor(
  deps: ParkingDeps,
  name: string,
  verdict: Extract<AgentVerdict, { kind: 'infra-failure' }>,
  taskId: string,
): Promise<Date | undefined> {
  const until = verdict.resetAt ?? coolOffEnd(verdict.cause);
  // The reason quotes CLI output; it goes to the status file and `daemon status` too.
  const parking = { executor: name, cause: verdict.cause, reason: maskSecrets(oneLine(verdict.reason, 200)), until };
  if (deps.health.park(parking)) {
    deps.logger.warn({ executor: name, cause: verdict.cause, until, task: taskId }, 'executor parked');
    await deps.progress.append(undefined, 'executor-parked', {
      executor: name,
      cause: verdict.cause,
      until: until ? until.toISOString().replace(/\.\d{3}Z$/, 'Z') : 'restart',
      task: taskId,
      reason: parking.reason,
    });
    deps.events.emit('executor:parked', { executor: name, cause: verdict.cause, reason: parking.reason, until: until?.toISOString() });
  }
  return deps.health.parkedNow(name)?.until;
}

/** How long an executor rests after a failure that usually passes by itself, when the CLI gave no reset time. */
export const COOL_OFF_MS: Partial<Record<InfraCause, number>> = {
  server: 10 * 60_000,
  network: 10 * 60_000,
  'rate-limit': 5 * 60_000,
  'usage-limit': 60 * 60_000,
};

/**
 * When a parked executor is tried again. An outage or a rate limit passes by itself: one 500 at 2 a.m.
 * must not park an agent for the rest of the night. Logged out, not installed or misconfigured needs a
 * person, so those stay parked until the daemon restarts (undefined).
 */
function coolOffEnd(cause: InfraCause, now = Date.now()): Date | undefined {
  const ms = COOL_OFF_MS[cause];
  return ms === undefined ? undefined : new Date(now + ms);
}
