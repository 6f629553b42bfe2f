import { formatSpend } from '../budget/spend.js';
import { formatDuration } from '../util/duration.js';
import type { MorningReport } from './build.js';

/** The report as one markdown page: what a person reads in the morning. Pure. */
export function reportMarkdown(r: MorningReport): string {
  const out: string[] = [];
  const usd = (v: number | null) => (v === null ? '-' : formatSpend(v, 'usd'));
  const dur = (ms: number | null) => (ms === null ? '-' : formatDuration(ms));
  out.push(`# nightshift report: ${stamp(r.window.since)} to ${stamp(r.window.until)}`, '');
  out.push(
    `${r.landed.length} landed, ${r.failed.filter((f) => f.status === 'failed').length} failed, ` +
      `${r.failed.filter((f) => f.status === 'blocked').length} blocked, ${r.waiting.length} waiting; ` +
      `spent ${formatSpend(r.spend.total.usd, 'usd')}${r.spend.total.tokens > 0 ? `, ${formatSpend(r.spend.total.tokens, 'tokens')}` : ''}.`,
    '',
  );

  out.push(`## Landed (${r.landed.length})`, '');
  if (r.landed.length === 0) out.push('Nothing landed.', '');
  else {
    out.push('| task | branch | commit | duration | attempts | cost |', '| --- | --- | --- | --- | --- | --- |');
    for (const t of r.landed) {
      out.push(
        `| ${cell(t.id)} | ${cell(t.branch ?? '-')} | ${t.commit ? t.commit.slice(0, 7) : '-'} | ${dur(t.durationMs)} | ${t.attempts} | ${usd(t.costUsd)} |`,
      );
    }
    out.push('');
  }

  out.push(`## Failed or blocked (${r.failed.length})`, '');
  if (r.failed.length === 0) out.push('Nothing failed.', '');
  for (const t of r.failed)
    out.push(`- **${cell(t.id)}** (${t.status}, ${plural(t.attempts, 'attempt')}): ${cell(t.reason)}  `, `  requeue: \`${t.requeue}\``);
  if (r.failed.length > 0) out.push('');

  out.push(`## Still waiting (${r.waiting.length})`, '');
  if (r.waiting.length === 0) out.push('The queue is empty.', '');
  for (const t of r.waiting) out.push(`- **${cell(t.id)}** (${t.why}): ${cell(t.detail)}`);
  if (r.waiting.length > 0) out.push('');

  out.push('## Spend', '');
  if (r.spend.byExecutor.length === 0) out.push('No spend recorded.');
  for (const e of r.spend.byExecutor) {
    out.push(
      `- ${cell(e.executor)}: ${formatSpend(e.usd, 'usd')}${e.tokens > 0 ? `, ${formatSpend(e.tokens, 'tokens')}` : ''} (${plural(e.entries, 'attempt')})`,
    );
  }
  for (const b of r.spend.budgets) {
    out.push(
      `- budget ${b.budget}: ${formatSpend(b.spent, b.unit)} of ${formatSpend(b.limit, b.unit)}${b.spent >= b.limit ? ' (reached)' : ''}`,
    );
  }
  if (r.spend.perTask.usd !== undefined) out.push(`- budget per_task_usd: ${formatSpend(r.spend.perTask.usd, 'usd')} per task`);
  if (r.spend.perTask.tokens !== undefined) out.push(`- budget per_task_tokens: ${formatSpend(r.spend.perTask.tokens, 'tokens')} per task`);
  out.push('');

  const p = r.pauses;
  out.push('## Retries and pauses', '');
  out.push(
    `- ${plural(p.attemptFailures, 'failed attempt')}, ${plural(p.retries, 'retry', 'retries')}, ${plural(p.fallbacks, 'fallback')}`,
  );
  for (const x of p.parked) out.push(`- ${stamp(x.time)}: ${cell(x.executor)} parked (${cell(x.cause)}) until ${cell(x.until)}`);
  for (const x of p.budgetReached) {
    out.push(`- ${stamp(x.time)}: budget ${cell(x.budget)} reached (${x.spent} of ${x.limit})`);
  }
  out.push('');

  if (r.slowest.length > 0) {
    out.push('## Slowest', '', ...r.slowest.map((t) => `- ${cell(t.id)}: ${formatDuration(t.durationMs)}`), '');
  }
  if (r.mostExpensive.length > 0) {
    out.push('## Most expensive', '', ...r.mostExpensive.map((t) => `- ${cell(t.id)}: ${formatSpend(t.costUsd, 'usd')}`), '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** 2026-11-21 03:14Z */
function stamp(iso: string): string {
  return iso.replace(/T(\d\d:\d\d).*$/, ' $1Z');
}

/** Text from task files and executors inside a table cell or list item: one line, no table breaks. */
function cell(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/\|/g, '\\|');
}
