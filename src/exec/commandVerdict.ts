import type { AgentVerdict, InfraCause } from './agents/types.js';

/** EX_TEMPFAIL from sysexits.h: "try again later", the conventional exit for "could not run now". */
export const EXIT_INFRA = 75;

const CAUSES: readonly InfraCause[] = ['auth', 'rate-limit', 'usage-limit', 'not-installed', 'network', 'server', 'other'];

/**
 * `nightshift: infra <cause> [reset=<ISO time>] [reason...]` as the last line of its output: how a command
 * executor says it could not run at all (so no attempt is spent and fallback applies). Only the last line
 * counts: a marker line in a file the command printed earlier (a change can plant one) is not its word.
 */
const MARKER = /^nightshift: infra ([a-z-]+)(?: reset=(\S+))?(?: (.*))?$/;

/**
 * Reads a command executor's exit and output tail into a verdict. Exit 0 is success; a non-zero exit is a
 * task failure unless the command reported an infrastructure failure (exit 75, or the marker line).
 * Pure: output text in, verdict out.
 */
export function commandVerdict(tail: string, exitCode: number): AgentVerdict {
  if (exitCode === 0) return { kind: 'success' };
  const lines = tail.split(/\r?\n/).map((l) => l.trim());
  const last = lines.filter(Boolean).at(-1);
  const m = last === undefined ? null : MARKER.exec(last);
  if (m) {
    const cause = (CAUSES as readonly string[]).includes(m[1] as string) ? (m[1] as InfraCause) : 'other';
    const reset = m[2] !== undefined ? new Date(m[2]) : undefined;
    const resetAt = reset && !Number.isNaN(reset.getTime()) ? reset : undefined;
    const said = m[3]?.trim();
    return { kind: 'infra-failure', cause, reason: said ? `${cause}: ${said}` : cause, resetAt };
  }
  if (exitCode === EXIT_INFRA) {
    return { kind: 'infra-failure', cause: 'other', reason: `exit ${EXIT_INFRA} (cannot run now)${last ? `: ${last}` : ''}` };
  }
  return { kind: 'task-failure', reason: `exit ${exitCode}` };
}
