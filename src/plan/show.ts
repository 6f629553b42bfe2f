import type { PlanRecord } from './record.js';

/** `plan show`: the plan, its readiness table, its questions and what it cost, for people. Pure. */
export function formatPlan(record: PlanRecord): string {
  const lines = [
    `plan ${record.id}  ${record.state}`,
    `goal: ${record.goal}`,
    `base: ${record.base} (${record.base_commit.slice(0, 7)})  planner: ${record.planner}  reviewer: ${record.reviewer}`,
  ];
  for (const input of record.inputs) lines.push(`input: ${input.file} (sha256 ${input.sha256.slice(0, 12)})`);
  if (record.error) lines.push(`error: ${record.error}`);
  if (record.tasks.length > 0) {
    lines.push('', table(record));
    for (const t of record.tasks) {
      const r = t.readiness;
      const notes = [...(r?.reason ? [`not ready: ${r.reason}`] : []), ...(r?.gaps ?? []).map((g) => `gap: ${g}`)];
      notes.push(...(r?.questions ?? []).map((q) => `question: ${q}`), ...(t.failed_checks ?? []).map((c) => `check failed: ${c}`));
      if (notes.length > 0) lines.push('', `${t.id}:`, ...notes.map((n) => `  - ${n}`));
    }
  }
  if (record.questions.length > 0) lines.push('', 'questions:', ...record.questions.map((q) => `  - ${q}`));
  const cost = record.usage.cost_usd > 0 ? `, $${record.usage.cost_usd.toFixed(4)}` : '';
  lines.push('', `spent: ${record.usage.tokens} tokens${cost} over ${record.steps.length} run${record.steps.length === 1 ? '' : 's'}`);
  return `${lines.join('\n')}\n`;
}

function table(record: PlanRecord): string {
  const rows = [['task', 'status', 'planner', 'reviewer', 'ready', 'title']];
  for (const t of record.tasks) {
    const r = t.readiness;
    rows.push([
      t.id,
      t.status ?? '-',
      fmt(r?.planner_confidence),
      fmt(r?.reviewer_confidence),
      r ? (r.ready ? 'yes' : 'no') : '-',
      t.title,
    ]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}

function fmt(n: number | undefined): string {
  return n === undefined ? '-' : n.toFixed(2);
}
