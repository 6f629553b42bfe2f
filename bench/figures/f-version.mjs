import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { BIN, BenchError, runTimed } from '../lib/proc.mjs';
import { benchRoot } from '../lib/sandbox.mjs';
import { median, round } from '../lib/stats.mjs';

/** f. CLI start-up: `nightshift --version` wall time, one warm-up run first. */
export async function version({ quick }) {
  const runs = quick ? 3 : 10;
  const expected = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../package.json'), 'utf8')).version;
  const times = [];
  for (let i = 0; i <= runs; i++) {
    const res = await runTimed(process.execPath, [BIN, '--version'], {
      cwd: benchRoot(),
      env: process.env,
      timeoutMs: 30_000,
      phase: 'f: nightshift --version',
    });
    if (res.code !== 0 || !res.stdout.includes(expected))
      throw new BenchError(`f: nightshift --version exited ${res.code} printing ${JSON.stringify(res.stdout)}`);
    if (i > 0) times.push(res.ms);
  }
  return [
    {
      key: 'f.version',
      label: 'f. nightshift --version (ms)',
      value: round(median(times), 1),
      target: { op: '<=', value: 250 },
      runs: `${runs} runs`,
      raw: times.map((v) => round(v, 1)),
    },
  ];
}
