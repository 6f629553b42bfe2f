import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BenchError, sleep, startDaemonProcess } from '../lib/proc.mjs';
import { ProgressWatch } from '../lib/progress.mjs';
import { makeSandbox } from '../lib/sandbox.mjs';
import { median, percentile, round } from '../lib/stats.mjs';
import { dropTask, ids, noopTask, RULES_LOCAL } from '../lib/tasks.mjs';
import { verifyDone } from '../lib/verify.mjs';

/**
 * c. Claim latency of an idle watch-mode daemon: a task file renamed into tasks/ -> its `claimed` line,
 * one file at a time, each dropped only after the previous task is done and the daemon has been idle a
 * moment (so the figure is the idle daemon's reaction, not a queue).
 */
export async function claimLatency({ quick, log }) {
  const drops = quick ? 5 : 20;
  const sb = await makeSandbox({ name: 'c-claim', fileCount: 200, rules: RULES_LOCAL });
  const progress = new ProgressWatch(join(sb.repo, 'progress.txt'));
  const daemon = startDaemonProcess(sb, ['--concurrency', '1']);
  const alive = () => (daemon.exit ? `the daemon exited (${daemon.exit.code ?? daemon.exit.signal})\n${daemon.stderr()}` : undefined);
  const latencies = [];
  const taskIds = ids('c', drops);
  try {
    await progress.waitFor((l) => l.event === 'daemon-start', { timeoutMs: 60_000, phase: 'c: daemon start', alive });
    await sleep(1000);
    for (const id of taskIds) {
      const from = progress.mark();
      dropTask(sb, id, noopTask(id));
      const dropped = performance.now();
      const claimed = await progress.waitFor((l) => l.id === id && l.event === 'claimed', {
        from,
        timeoutMs: 60_000,
        phase: `c: claim of ${id}`,
        alive,
      });
      latencies.push(claimed.t - dropped);
      await progress.waitFor((l) => l.id === id && (l.event === 'done' || l.event === 'failed'), {
        from,
        timeoutMs: 60_000,
        phase: `c: ${id} to finish`,
        alive,
      });
      await sleep(300);
    }
    const exit = await daemon.stop();
    if (exit.code !== 0) throw new BenchError(`c: the daemon exited ${exit.code ?? exit.signal} on stop\n${daemon.stderr()}`);
    await verifyDone(sb, taskIds, { pushed: false, phase: 'c' });
  } finally {
    await daemon.stop();
    progress.close();
  }
  await sb.remove();
  log(`c: claim latencies (ms): ${latencies.map((v) => Math.round(v)).join(' ')}`);
  const raw = latencies.map((v) => round(v, 1));
  return [
    {
      key: 'c.median',
      label: 'c. claim latency, median (ms)',
      value: round(median(latencies), 1),
      target: { op: '<=', value: 200 },
      runs: `${drops} drops`,
      raw,
    },
    {
      key: 'c.p95',
      label: 'c. claim latency, p95 (ms)',
      value: round(percentile(latencies, 95), 1),
      target: { op: '<=', value: 500 },
      runs: `${drops} drops`,
      raw,
    },
  ];
}
