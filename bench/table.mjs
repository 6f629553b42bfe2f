#!/usr/bin/env node
// Prints a saved result as the markdown table and machine line the README's Performance section shows:
//   node bench/table.mjs [bench/results/latest.json]
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { machineLine, markdownTable } from './lib/report.mjs';

const file = resolve(process.argv[2] ?? resolve(import.meta.dirname, 'results/latest.json'));
const result = JSON.parse(readFileSync(file, 'utf8'));
const load = `load average ${result.machine.loadavg_at_start.join(' ')} at the start`;
process.stdout.write(
  `${markdownTable(result.figures)}\n\n${result.date}, nightshift ${result.nightshift.commit}, ${machineLine(result.machine)}; ${load}; the bench took ${Math.round(result.duration_s.total / 60)} min.\n`,
);
