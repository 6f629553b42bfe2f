import type { AgentUsage } from './agents/types.js';

/**
 * `nightshift: usage cost_usd=0.42 tokens=18342` on a line of its own: how a command executor reports what
 * it spent. Each such line is a running total for this run of the command; the last one counts. Either
 * figure may be left out.
 */
const MARKER = /^nightshift: usage((?: +[a-z_]+=[^\s]+)+) *$/;

/** What a command executor's output says it spent (empty when it says nothing). Pure. */
export function commandUsage(output: string): AgentUsage {
  let usage: AgentUsage = {};
  for (const raw of output.split(/\r?\n/)) {
    const m = MARKER.exec(raw.trim());
    if (!m) continue;
    const found: AgentUsage = {};
    for (const pair of (m[1] as string).trim().split(/ +/)) {
      const [key, value] = pair.split('=') as [string, string];
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0) continue;
      if (key === 'cost_usd') found.costUsd = n;
      else if (key === 'tokens') found.tokens = Math.round(n);
    }
    if (found.costUsd !== undefined || found.tokens !== undefined) usage = found;
  }
  return usage;
}
