import { cli, BenchError, tail } from '../lib/proc.mjs';
import { makeSandbox } from '../lib/sandbox.mjs';
import { median, round } from '../lib/stats.mjs';
import { ids, noopTask, writeTask } from '../lib/tasks.mjs';
import { verifyDone } from '../lib/verify.mjs';

const rules = (sandbox) => `---\npush: none\nmax_attempts: 1\nsandbox: ${sandbox}\nsetup: "true"\ntest: "true"\n---\nBenchmark project.\n`;

/**
 * j. What the sandbox costs per attempt: the same no-op tasks (setup, the shell executor and the test
 * command: three sandboxed steps each) through `daemon start --once --concurrency 1` with `sandbox: bwrap`
 * and with `sandbox: none`, on fresh sandboxes side by side, the order alternating. The figure is the
 * difference per task.
 */
export async function sandboxOverhead({ quick, runs, log }) {
  const tasks = quick ? 10 : 30;
  const ms = { bwrap: [], none: [] };
  for (let r = 0; r < runs; r++) {
    const sides = ['bwrap', 'none'].map((mode) => async () => {
      const sb = await makeSandbox({ name: `h-${mode}-${r}`, fileCount: 200, rules: rules(mode) });
      const taskIds = ids(`h${r}${mode[0]}`, tasks);
      for (const id of taskIds) writeTask(sb.repo, id, noopTask(id));
      const phase = `h run ${r + 1} sandbox: ${mode}`;
      const res = await cli(sb, ['daemon', 'start', '--once', '--concurrency', '1'], { phase, timeoutMs: 300_000 });
      if (res.code !== 0) throw new BenchError(`${phase}: nightshift exited ${res.code}\n${tail(res.stdout)}${tail(res.stderr)}`);
      await verifyDone(sb, taskIds, { pushed: false, phase });
      ms[mode].push(res.ms / tasks);
      await sb.remove();
    });
    for (let i = 0; i < sides.length; i++) await sides[(i + r) % sides.length]();
    log(`h run ${r + 1}/${runs}: sandbox: bwrap ${ms.bwrap.at(-1).toFixed(1)} ms/task, sandbox: none ${ms.none.at(-1).toFixed(1)} ms/task`);
  }
  const diff = ms.bwrap.map((v, i) => v - ms.none[i]);
  const note = `${runs} runs x ${tasks} tasks, 3 steps each`;
  return [
    {
      key: 'j.bwrap',
      label: 'j. per task, sandbox: bwrap (ms)',
      value: round(median(ms.bwrap), 1),
      runs: note,
      raw: ms.bwrap.map((v) => round(v, 1)),
    },
    {
      key: 'j.none',
      label: 'j. per task, sandbox: none (ms)',
      value: round(median(ms.none), 1),
      runs: note,
      raw: ms.none.map((v) => round(v, 1)),
    },
    {
      key: 'j.overhead',
      label: 'j. sandbox overhead per attempt (ms)',
      value: round(median(diff), 1),
      target: { op: '<=', value: 50 },
      runs: 'median of per-run differences',
      raw: diff.map((v) => round(v, 1)),
    },
  ];
}
