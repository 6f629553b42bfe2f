import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BenchError, clockTicks, cpuTicks, startDaemonProcess } from '../lib/proc.mjs';
import { ProgressWatch } from '../lib/progress.mjs';
import { makeSandbox } from '../lib/sandbox.mjs';
import { median, round } from '../lib/stats.mjs';
import { ids, noopTask, RULES_LOCAL, writeTask } from '../lib/tasks.mjs';
import { verifyDone } from '../lib/verify.mjs';

const LEVELS = [1, 2, 4, 8];

/**
 * g. Throughput: 24 tasks that each sleep 1 s, at concurrency 1, 2, 4, 8. Timed from daemon spawn to the
 * last `done` line; the daemon's CPU (children included) gives the CPU-bound floor: a run cannot beat
 * total CPU / cores, so "near-linear until CPU-bound" = within reach of max(sleep floor, CPU floor).
 */
export async function scaling({ quick, runs, log }) {
  const tasks = quick ? 8 : 24;
  const cores = cpus().length;
  const wall = new Map(LEVELS.map((c) => [c, []]));
  const cpu = new Map(LEVELS.map((c) => [c, []]));
  for (let r = 0; r < runs; r++) {
    for (const c of LEVELS) {
      const res = await oneRun(c, tasks, r);
      wall.get(c).push(res.wall);
      cpu.get(c).push(res.cpu);
      log(`g run ${r + 1}/${runs} concurrency ${c}: ${res.wall.toFixed(2)} s, ${res.cpu.toFixed(2)} CPU s`);
    }
  }
  const base = median(wall.get(1));
  return LEVELS.map((c) => {
    const w = median(wall.get(c));
    const speedup = base / w;
    const cpuFloor = median(cpu.get(c)) / cores;
    const floor = Math.max((tasks * 1) / c, cpuFloor);
    // Pass: efficiency >= 0.75, or within 1.5x of what the CPU allows once the tasks are CPU-bound.
    const pass = speedup / c >= 0.75 || w <= floor * 1.5;
    return {
      key: `g.c${c}`,
      label: `g. ${tasks} x sleep 1, concurrency ${c} (s)`,
      value: round(w, 2),
      extra: `speedup ${round(speedup, 2)}x, efficiency ${round(speedup / c, 2)}, CPU floor ${round(cpuFloor, 1)} s`,
      target: { text: c === 1 ? '-' : 'eff >= 0.75 or CPU-bound', pass: c === 1 ? undefined : pass },
      runs: `${runs} run${runs > 1 ? 's' : ''}`,
      raw: {
        wall_s: wall.get(c).map((v) => round(v, 2)),
        cpu_s: cpu.get(c).map((v) => round(v, 2)),
        speedup: round(speedup, 2),
        efficiency: round(speedup / c, 2),
        cpu_floor_s: round(cpuFloor, 2),
      },
    };
  });
}

async function oneRun(c, tasks, r) {
  const phase = `g concurrency ${c}`;
  const sb = await makeSandbox({ name: `g-c${c}-${r}`, fileCount: 200, rules: RULES_LOCAL });
  const taskIds = ids(`g${c}`, tasks);
  for (const id of taskIds) writeTask(sb.repo, id, noopTask(id, { run: `sleep 1 && echo ${id} > bench-${id}.txt` }));
  const progress = new ProgressWatch(join(sb.repo, 'progress.txt'));
  const started = performance.now();
  const daemon = startDaemonProcess(sb, ['--concurrency', String(c)]);
  const alive = () => (daemon.exit ? `the daemon exited (${daemon.exit.code ?? daemon.exit.signal})\n${daemon.stderr()}` : undefined);
  try {
    let last = 0;
    for (const id of taskIds) {
      const line = await progress.waitFor((l) => l.id === id && (l.event === 'done' || l.event === 'failed'), {
        timeoutMs: 180_000,
        phase,
        alive,
      });
      last = Math.max(last, line.t);
    }
    const t = cpuTicks(daemon.pid);
    const cpuS = (t.utime + t.stime + t.cutime + t.cstime) / clockTicks();
    const exit = await daemon.stop();
    if (exit.code !== 0) throw new BenchError(`${phase}: the daemon exited ${exit.code ?? exit.signal} on stop\n${daemon.stderr()}`);
    await verifyDone(sb, taskIds, { pushed: false, phase });
    return { wall: (last - started) / 1000, cpu: cpuS };
  } finally {
    await daemon.stop();
    progress.close();
    await sb.remove();
  }
}
