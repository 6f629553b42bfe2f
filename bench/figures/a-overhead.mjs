import { join, resolve } from 'node:path';
import { cli, mustRun, BenchError, tail } from '../lib/proc.mjs';
import { makeSandbox } from '../lib/sandbox.mjs';
import { median, round } from '../lib/stats.mjs';
import { ids, noopTask, RULES_BRANCH, writeTask } from '../lib/tasks.mjs';
import { verifyBranches, verifyDone } from '../lib/verify.mjs';

export const FLOOR = resolve(import.meta.dirname, '../floor.sh');

/**
 * a. Per-task overhead on a small repo: N no-op tasks through `daemon start --once --concurrency 1`
 * against floor.sh doing the same git work, each on its own fresh sandbox, alternating which goes first.
 */
export async function overhead({ quick, runs, log }) {
  const tasks = quick ? 10 : 50;
  const nsMs = [];
  const shMs = [];
  for (let r = 0; r < runs; r++) {
    const ns = await makeSandbox({ name: `a-nightshift-${r}`, fileCount: 200, rules: RULES_BRANCH });
    const sh = await makeSandbox({ name: `a-script-${r}`, fileCount: 200, rules: RULES_BRANCH });
    const taskIds = ids(`a${r}`, tasks);
    for (const id of taskIds) writeTask(ns.repo, id, noopTask(id));
    const sides = [
      async () => {
        const res = await cli(ns, ['daemon', 'start', '--once', '--concurrency', '1'], { phase: `a run ${r + 1} nightshift`, timeoutMs: 300_000 });
        if (res.code !== 0) throw new BenchError(`a run ${r + 1}: nightshift exited ${res.code}\n${tail(res.stdout)}${tail(res.stderr)}`);
        await verifyDone(ns, taskIds, { pushed: true, phase: `a run ${r + 1}` });
        nsMs.push(res.ms / tasks);
      },
      async () => {
        const res = await mustRun('sh', [FLOOR, 'fresh', sh.repo, join(sh.dir, 'floor-worktrees'), 'main', ...taskIds], { cwd: sh.repo, env: sh.env, timeoutMs: 300_000, phase: `a run ${r + 1} script` });
        await verifyBranches(sh, taskIds, { prefix: 'nightshift', phase: `a run ${r + 1} script` });
        shMs.push(res.ms / tasks);
      },
    ];
    // Alternate the order so a machine that slows down (or warms up) over the run favours neither side.
    if (r % 2 === 1) sides.reverse();
    for (const side of sides) await side();
    log(`a run ${r + 1}/${runs}: nightshift ${nsMs.at(-1).toFixed(1)} ms/task, script ${shMs.at(-1).toFixed(1)} ms/task`);
    await ns.remove();
    await sh.remove();
  }
  const ratios = nsMs.map((v, i) => v / shMs[i]);
  const note = `${runs} runs x ${tasks} tasks, 200-file repo`;
  return [
    { key: 'a.nightshift', label: 'a. per task, nightshift --once -c 1 (ms)', value: round(median(nsMs), 1), runs: note, raw: nsMs.map((v) => round(v, 1)) },
    { key: 'a.script', label: 'a. per task, raw git script (ms)', value: round(median(shMs), 1), runs: note, raw: shMs.map((v) => round(v, 1)) },
    { key: 'a.ratio', label: 'a. ratio nightshift / script', value: round(median(ratios), 2), target: { op: '<=', value: 1.25 }, runs: 'median of per-run ratios', raw: ratios.map((v) => round(v, 2)) },
  ];
}
