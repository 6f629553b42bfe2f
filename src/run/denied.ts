import { oneLine } from '../errors.js';
import type { AttemptOutcome, AttemptReport } from './outcome.js';

/** Remembers the commands an agent was refused (Claude Code's permission_denials) for the attempt's reason. */
export function noteDenied(report: AttemptReport, denied: string[] | undefined): void {
  if (!denied?.length) return;
  report.denied = [...new Set([...(report.denied ?? []), ...denied])];
}

/**
 * A failed attempt whose agent was refused commands says which: "no changes" alone hides that the agent
 * could not run the tests, and the next prompt tells it what not to try again.
 */
export function withDenied(outcome: AttemptOutcome, report: AttemptReport): AttemptOutcome {
  if (outcome.kind !== 'failure' || !report.denied?.length) return outcome;
  const list = report.denied.map((c) => `\`${oneLine(c, 120)}\``).join(', ');
  const said = `the agent was refused ${report.denied.length === 1 ? 'this command' : 'these commands'}: ${list}`;
  const hint = 'Those commands are not allowed here; use only the commands the rules allow.';
  return { ...outcome, reason: oneLine(`${outcome.reason}; ${said}`), detail: `${outcome.detail}\n\nNote: ${said}. ${hint}` };
}
