import { readFile } from 'node:fs/promises';
import { toError } from '../errors.js';
import { agentNamed } from '../exec/agents/index.js';
import type { AgentUsage } from '../exec/agents/types.js';
import { commandUsage } from '../exec/commandUsage.js';
import type { RunContext } from '../run/context.js';
import { addUsage } from '../run/usage.js';
import type { Task } from '../task/task.js';
import { attemptLogFile, spendKey } from './attemptSpend.js';

/** A section header run/output.ts writes: `\n==> <ISO time> <text>\n`. */
const HEADER = /\n==> \d{4}-\d\d-\d\dT[\d:.]+Z ([^\n]*)\n/g;

/**
 * A run that died (kill -9, a crash) may have had executors that finished and reported usage before it
 * could record them. Recovery reads the dead attempt's transcript and records what it says under the key
 * the live run would have used: if the live run did record it, the ledger keeps the first and this counts
 * nothing; if it did not, the spend is not lost.
 */
export async function recoverSpend(ctx: RunContext, task: Task): Promise<void> {
  if (!ctx.budget || task.attempts < 1) return;
  try {
    const bytes = await readFile(attemptLogFile(ctx, task.id, task.attempts)).catch(() => undefined);
    if (!bytes) return;
    const found = attemptSections(bytes.toString('latin1'), task.id, task.attempts);
    if (!found) return;
    let used: AgentUsage = {};
    const executors: string[] = [];
    for (const section of found.sections) {
      const name = /^executor ([a-z0-9][a-z0-9_-]*)$/.exec(section.header)?.[1];
      if (!name) continue;
      const usage = usageOf(ctx, name, Buffer.from(section.body, 'latin1').toString('utf8'));
      if (usage.costUsd === undefined && usage.tokens === undefined) continue;
      used = addUsage(used, usage);
      executors.push(name);
    }
    await ctx.budget.record({
      key: spendKey(task.id, task.startedAt, task.attempts, found.offset),
      at: new Date().toISOString(),
      source: 'executor',
      task: task.id,
      attempt: task.attempts,
      executor: [...new Set(executors)].join('+') || undefined,
      costUsd: used.costUsd,
      tokens: used.tokens,
    });
  } catch (err) {
    ctx.logger.warn({ err: toError(err), task: task.id }, 'could not read what the interrupted attempt spent');
  }
}

/**
 * The last `attempt <n> of <id>` section of a transcript and the sections after it. `offset` is where that
 * attempt's header starts, in bytes (the text is read as latin1: one character per byte).
 */
export function attemptSections(
  text: string,
  id: string,
  attempt: number,
): { offset: number; sections: Array<{ header: string; body: string }> } | undefined {
  const headers = [...text.matchAll(HEADER)];
  const start = headers.findLastIndex((h) => (h[1] as string).startsWith(`attempt ${attempt} of ${id}: `));
  if (start < 0) return undefined;
  const sections = headers.slice(start + 1).map((h, i, all) => {
    const from = (h.index ?? 0) + h[0].length;
    const next = all[i + 1];
    return { header: h[1] as string, body: text.slice(from, next ? next.index : text.length) };
  });
  return { offset: headers[start]?.index ?? 0, sections };
}

/** What one executor's section says it spent: a command's usage lines, or the agent's own output. */
function usageOf(ctx: RunContext, name: string, output: string): AgentUsage {
  const agent = Object.hasOwn(ctx.rules.executors, name) ? undefined : agentNamed(name);
  if (!agent) return commandUsage(output);
  try {
    return agent.interpret(output, { code: 1 }).usage ?? {};
  } catch {
    return {};
  }
}
