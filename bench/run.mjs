#!/usr/bin/env node
// `npm run bench`: builds nothing itself (the npm script builds first), drives the built CLI as a child
// process against scratch repos under the OS temp folder, prints one table, saves it as bench/results/latest.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { installSignalHandlers, releaseAll } from './lib/cleanup.mjs';
import { BenchError } from './lib/proc.mjs';
import { machineInfo, machineLine, markdownTable, nightshiftInfo, textTable, verdict } from './lib/report.mjs';
import { overhead } from './figures/a-overhead.mjs';
import { bigRepo } from './figures/b-big-repo.mjs';
import { claimLatency } from './figures/c-claim.mjs';
import { manyTasks } from './figures/d-many-tasks.mjs';
import { version } from './figures/f-version.mjs';
import { scaling } from './figures/g-scaling.mjs';
import { dashboard } from './figures/h-dashboard.mjs';
import { fleetClaims } from './figures/i-fleet.mjs';
import { sandboxOverhead } from './figures/j-sandbox.mjs';

const ALL = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
const USAGE = `usage: npm run bench -- [--only a,b,...] [--runs N] [--quick] [--markdown]
  a  per-task overhead vs plain git scripts (200-file repo)     e  idle CPU of a daemon with 10,000 tasks
  b  per-task time on a 20,000-file repo vs fresh worktrees     f  nightshift --version
  c  claim latency of an idle daemon                             g  throughput at concurrency 1, 2, 4, 8
  d  10,000 tasks: list, start -> first claim, peak RSS         h  dashboard on 10,000 tasks: first paint, live update (Chromium)
                                                               i  fleet claims vs machines (git daemon on 127.0.0.1)
                                                               j  sandbox overhead per attempt (bwrap vs none)
  --runs N    repetitions of the slow figures (a, b, d's daemon starts, g, j); default 3 for a, d and j, 5 for b, 2 for g
  --quick     smaller repos and queues, one run each: a smoke check, not figures to publish
  --markdown  also print the table as markdown (for the README)`;

function parseArgs(argv) {
  const opts = { only: new Set(ALL), runs: undefined, quick: false, markdown: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') opts.quick = true;
    else if (a === '--markdown') opts.markdown = true;
    else if (a === '--help' || a === '-h') usage();
    else if (a.startsWith('--only')) {
      const picked = value()
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean);
      const bad = picked.filter((p) => !ALL.includes(p));
      if (bad.length > 0 || picked.length === 0) usage(`--only takes letters from ${ALL.join(',')}; got ${bad.join(',') || 'nothing'}`);
      opts.only = new Set(picked);
    } else if (a.startsWith('--runs')) {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1 || n > 50) usage('--runs takes a whole number from 1 to 50');
      opts.runs = n;
    } else usage(`unknown option ${a}`);
  }
  return opts;
}

function usage(problem) {
  if (problem) process.stderr.write(`bench: ${problem}\n`);
  process.stderr.write(`${USAGE}\n`);
  process.exit(problem ? 2 : 0);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  installSignalHandlers();
  const want = opts.only;
  const runsFor = (dflt) => opts.runs ?? (opts.quick ? 1 : dflt);
  const log = (msg) => process.stderr.write(`  ${msg}\n`);
  const machine = machineInfo();
  const nightshift = nightshiftInfo();
  process.stderr.write(
    `nightshift bench: ${[...want].join(',')}${opts.quick ? ' (quick)' : ''} on ${machineLine(machine)}; nightshift ${nightshift.commit}${nightshift.dirty ? ' (dirty)' : ''}\n`,
  );

  const plan = [
    ['a', () => overhead({ quick: opts.quick, runs: runsFor(3), log })],
    ['b', () => bigRepo({ quick: opts.quick, runs: runsFor(5), log })],
    ['c', () => claimLatency({ quick: opts.quick, log })],
    ['de', () => manyTasks({ quick: opts.quick, runs: runsFor(3), log, want })],
    ['f', () => version({ quick: opts.quick })],
    ['g', () => scaling({ quick: opts.quick, runs: runsFor(2), log })],
    ['h', () => dashboard({ quick: opts.quick, runs: runsFor(3), log })],
    ['i', () => fleetClaims({ quick: opts.quick, log })],
    ['j', () => sandboxOverhead({ quick: opts.quick, runs: runsFor(3), log })],
  ];
  const rows = [];
  const durations = {};
  const started = performance.now();
  for (const [keys, run] of plan) {
    if (![...keys].some((k) => want.has(k))) continue;
    const t = performance.now();
    process.stderr.write(`${keys}: running\n`);
    rows.push(...(await run()));
    durations[keys] = Math.round((performance.now() - t) / 1000);
    process.stderr.write(`${keys}: ${durations[keys]} s\n`);
  }
  const totalS = Math.round((performance.now() - started) / 1000);

  process.stdout.write(
    `\n${textTable(rows)}\n\nmachine: ${machineLine(machine)}; nightshift ${nightshift.commit}; bench took ${totalS} s\n`,
  );
  if (opts.markdown) process.stdout.write(`\n${markdownTable(rows)}\n`);

  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const full = want.size === ALL.length && !opts.quick && opts.runs === undefined;
  const result = {
    date,
    options: { only: [...want], runs: opts.runs ?? null, quick: opts.quick },
    machine: { ...machine, loadavg_at_end: loadavg().map((v) => Math.round(v * 100) / 100) },
    nightshift,
    duration_s: { total: totalS, ...durations },
    figures: rows.map((r) => ({ ...r, pass: verdict(r) ?? null })),
  };
  // One file, overwritten: git history keeps the earlier ones, and the options say what this run covered.
  const dir = resolve(import.meta.dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'latest.json');
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`saved ${file}${full ? '' : ` (a partial run: ${opts.quick ? 'quick' : `only ${[...want].join(',')}`})`}\n`);
}

main().then(
  () => releaseAll(),
  (err) => {
    process.stderr.write(`\nbench FAILED: ${err instanceof BenchError ? err.message : (err?.stack ?? err)}\n`);
    releaseAll();
    process.exit(1);
  },
);
