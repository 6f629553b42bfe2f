import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');

export function machineInfo() {
  const c = cpus();
  let osName = `${type()} ${release()}`;
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
    if (pretty) osName = `${pretty}, kernel ${release()}`;
  } catch {
    // not Linux, or no os-release
  }
  return {
    cpu_model: c[0]?.model?.trim() ?? 'unknown',
    cpu_count: c.length,
    total_mem_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    git: execFileSync('git', ['--version'], { encoding: 'utf8' })
      .trim()
      .replace(/^git version /, ''),
    os: osName,
    loadavg_at_start: loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

export function nightshiftInfo() {
  const git = (args) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  let commit = 'unknown';
  let dirty = false;
  try {
    commit = git(['rev-parse', '--short=12', 'HEAD']);
    // Saved results are not code: a run that just wrote latest.json is not from a modified checkout.
    dirty = git(['status', '--porcelain', '--untracked-files=no', '--', '.', ':!bench/results']) !== '';
  } catch {
    // not a git checkout (an unpacked tarball)
  }
  const version = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')).version;
  return { version, commit, dirty };
}

/** pass / MISS / - for a row, from `{ op, value }` or a precomputed `{ text, pass }`. */
export function verdict(row) {
  const t = row.target;
  if (!t) return undefined;
  if (!t.op) return t.pass ?? undefined;
  return t.op === '<=' ? row.value <= t.value : row.value >= t.value;
}

export function targetText(row) {
  const t = row.target;
  if (!t) return '-';
  return t.text ?? `${t.op} ${t.value}`;
}

export function valueText(row) {
  return row.extra ? `${row.value} (${row.extra})` : String(row.value);
}

const resultText = (row) => {
  const v = verdict(row);
  return v === undefined ? '-' : v ? 'pass' : 'MISS';
};

export function textTable(rows) {
  const head = ['figure', 'value', 'target', 'result', 'runs'];
  const body = rows.map((r) => [r.label, valueText(r), targetText(r), resultText(r), r.runs ?? '']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

export function markdownTable(rows) {
  const esc = (s) => s.replace(/\|/g, '\\|');
  const out = ['| figure | value | target | result | runs |', '| --- | --- | --- | --- | --- |'];
  for (const r of rows)
    out.push(`| ${esc(r.label)} | ${esc(valueText(r))} | ${esc(targetText(r))} | ${resultText(r)} | ${esc(r.runs ?? '')} |`);
  return out.join('\n');
}

export function machineLine(m) {
  return `${m.cpu_count} x ${m.cpu_model}, ${m.total_mem_gb} GB, ${m.os}, Node ${m.node}, git ${m.git}`;
}
