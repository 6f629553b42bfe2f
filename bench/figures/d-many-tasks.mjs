import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { writeBigQueue } from '../lib/bigQueue.mjs';
import { BenchError, cli, clockTicks, cpuTicks, peakRssMb, sleep, startDaemonProcess, tail } from '../lib/proc.mjs';
import { ProgressWatch } from '../lib/progress.mjs';
import { makeSandbox } from '../lib/sandbox.mjs';
import { median, round } from '../lib/stats.mjs';
import { verifyDone } from '../lib/verify.mjs';

const RULES = '---\npush: none\nmax_attempts: 3\nstop_grace: 20s\n---\nBenchmark project.\n';

/**
 * d. A queue of 10,000 task files: `nightshift list` wall time, daemon start -> first `claimed` line, and
 * the daemon's peak RSS. e. The same daemon once nothing is ready: CPU seconds over an idle minute.
 */
export async function manyTasks({ quick, runs, log, want }) {
  const total = quick ? 1_000 : 10_000;
  let listRuns = want.has('d') ? (quick ? 2 : 5) : 0;
  const starts = want.has('d') ? runs : 1;
  const idleMs = quick ? 10_000 : 60_000;
  const sb = await makeSandbox({ name: 'd-many', fileCount: 200, rules: RULES });
  const { ready, counts } = await writeBigQueue(sb.repo, { total, ready: starts + 2 });
  log(
    `d: ${total} task files (${Object.entries(counts)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ')})`,
  );
  const rows = [];

  const listMs = [];
  for (let i = 0; i < listRuns; i++) {
    const res = await cli(sb, ['list'], { phase: 'd: nightshift list', timeoutMs: 120_000 });
    const lines = res.stdout.split('\n').filter(Boolean).length;
    if (res.code !== 0 || lines < total)
      throw new BenchError(`d: nightshift list exited ${res.code} with ${lines} lines for ${total} tasks\n${tail(res.stderr)}`);
    listMs.push(res.ms);
    // A slow list is slow either way: three runs say so as well as five, and keep the bench short.
    if (i === 0 && res.ms > 4000) listRuns = Math.min(listRuns, 3);
  }
  if (listRuns > 0) {
    log(`d: list (ms): ${listMs.map((v) => Math.round(v)).join(' ')}`);
    rows.push({
      key: 'd.list',
      label: `d. nightshift list, ${total / 1000}k tasks (ms)`,
      value: round(median(listMs), 1),
      target: { op: '<=', value: 1500 },
      runs: `${listRuns} runs`,
      raw: listMs.map((v) => round(v, 1)),
    });
  }

  const progress = new ProgressWatch(join(sb.repo, 'progress.txt'));
  const claimMs = [];
  let daemon;
  try {
    for (let k = 0; k < starts; k++) {
      const from = progress.mark();
      const started = performance.now();
      daemon = startDaemonProcess(sb, ['--concurrency', '1']);
      const d = daemon;
      const alive = () => (d.exit ? `the daemon exited (${d.exit.code ?? d.exit.signal})\n${d.stderr()}` : undefined);
      const claimed = await progress.waitFor((l) => l.event === 'claimed', {
        from,
        timeoutMs: 120_000,
        phase: 'd: daemon start -> first claim',
        alive,
      });
      claimMs.push(claimed.t - started);
      if (k < starts - 1) {
        const exit = await daemon.stop();
        if (exit.code !== 0) throw new BenchError(`d: the daemon exited ${exit.code ?? exit.signal} on stop\n${daemon.stderr()}`);
      }
    }
    if (want.has('d')) log(`d: start -> first claim (ms): ${claimMs.map((v) => Math.round(v)).join(' ')}`);

    // The last daemon runs what is left, then has nothing ready: that is the idle daemon of e.
    const d = daemon;
    const alive = () => (d.exit ? `the daemon exited (${d.exit.code ?? d.exit.signal})\n${d.stderr()}` : undefined);
    for (const id of ready) {
      await progress.waitFor((l) => l.id === id && l.event === 'done', {
        timeoutMs: 120_000,
        phase: `d: ready task ${id} to be done`,
        alive,
      });
    }
    const invalid = progress.lines.filter((l) => l.event === 'invalid' || l.event === 'failed');
    if (invalid.length > 0)
      throw new BenchError(
        `d: unexpected progress lines:\n${invalid
          .slice(0, 5)
          .map((l) => l.text)
          .join('\n')}`,
      );

    const settledAfter = await settle(daemon.pid);
    const hz = clockTicks();
    const linesBefore = progress.mark();
    const t0 = cpuTicks(daemon.pid);
    const w0 = performance.now();
    // Sampled each second too, so a periodic cost (a rescan every 30 s) shows as spikes, not an average.
    const perSecond = [];
    let prev = t0;
    while (performance.now() - w0 < idleMs - 500) {
      await sleep(Math.min(1000, idleMs - (performance.now() - w0)));
      const now = cpuTicks(daemon.pid);
      perSecond.push(now.utime + now.stime + now.cutime + now.cstime - (prev.utime + prev.stime + prev.cutime + prev.cstime));
      prev = now;
    }
    const t1 = cpuTicks(daemon.pid);
    const wall = performance.now() - w0;
    const perMinute = (ticks) => round((ticks / hz) * (60_000 / wall), 3);
    const self = t1.utime + t1.stime - t0.utime - t0.stime;
    const kids = t1.cutime + t1.cstime - t0.cutime - t0.cstime;
    const idleLines = progress.mark() - linesBefore;
    log(
      `e: idle ${round(wall / 1000, 1)} s after settling ${round(settledAfter / 1000, 1)} s: daemon ${self} ticks, its children ${kids} ticks (CLK_TCK ${hz}), ${idleLines} progress lines; ticks per second: ${perSecond.join(' ')}`,
    );
    const rss = peakRssMb(daemon.pid);

    const exit = await daemon.stop();
    if (exit.code !== 0) throw new BenchError(`d: the daemon exited ${exit.code ?? exit.signal} on stop\n${daemon.stderr()}`);
    await verifyDone(sb, ready, { pushed: false, phase: 'd' });

    if (want.has('d')) {
      rows.push({
        key: 'd.first_claim',
        label: 'd. daemon start -> first claim (ms)',
        value: round(median(claimMs), 1),
        target: { op: '<=', value: 2000 },
        runs: `${starts} starts`,
        raw: claimMs.map((v) => round(v, 1)),
      });
      rows.push({
        key: 'd.peak_rss',
        label: 'd. daemon peak RSS, VmHWM (MB)',
        value: round(rss, 1),
        target: { op: '<=', value: 200 },
        runs: 'after the idle minute',
        raw: [round(rss, 1)],
      });
    }
    if (want.has('e')) {
      rows.push({
        key: 'e.idle_cpu',
        label: `e. idle CPU, ${total / 1000}k tasks (s per minute)`,
        value: perMinute(self + kids),
        target: { op: '<=', value: 0.5 },
        runs: `${round(wall / 1000, 0)} s, children incl.`,
        raw: {
          self_s: perMinute(self),
          children_s: perMinute(kids),
          idle_ms: round(wall, 0),
          progress_lines: idleLines,
          ticks_per_second: perSecond,
        },
      });
    }
  } finally {
    await daemon?.stop();
    progress.close();
  }
  await sb.remove();
  return rows;
}

/** Waits until the daemon has used (almost) no CPU for 3 s in a row: its start-up scan and tasks are over. */
async function settle(pid) {
  const started = performance.now();
  let quiet = 0;
  let last = cpuTicks(pid);
  while (quiet < 3 && performance.now() - started < 90_000) {
    await sleep(1000);
    const now = cpuTicks(pid);
    const used = now.utime + now.stime + now.cutime + now.cstime - (last.utime + last.stime + last.cutime + last.cstime);
    quiet = used <= 1 ? quiet + 1 : 0;
    last = now;
  }
  return performance.now() - started;
}
