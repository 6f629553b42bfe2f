import { join } from 'node:path';
import { cli, mustRun, BenchError, tail } from '../lib/proc.mjs';
import { ProgressWatch } from '../lib/progress.mjs';
import { makeSandbox } from '../lib/sandbox.mjs';
import { median, round } from '../lib/stats.mjs';
import { ids, noopTask, RULES_BRANCH, writeTask } from '../lib/tasks.mjs';
import { removeTaskFiles, verifyBranches, verifyDone } from '../lib/verify.mjs';
import { FLOOR } from './a-overhead.mjs';

/**
 * b. Steady state on a big repo: per task, after one warm-up task, nightshift against the raw git script
 * with a fresh worktree per task, and against one re-pointed worktree (the floor a pool can reach).
 * nightshift is timed from the bench's own stamps of progress.txt lines: warm-up `done` -> last `done`.
 */
export async function bigRepo({ quick, runs, log }) {
  const files = quick ? 2_000 : 20_000;
  const tasks = quick ? 2 : 5;
  log(`b: building a ${files}-file repo`);
  const sb = await makeSandbox({ name: 'b-big', fileCount: files, rules: RULES_BRANCH });
  // The script's branches are floor/<id>, its worktrees outside nightshift's folder: the same git work,
  // nothing a nightshift recovery or pool could take for its own.
  const floorRoot = join(sb.dir, 'floor-worktrees');
  const progress = new ProgressWatch(join(sb.repo, 'progress.txt'));
  const ns = [];
  const fresh = [];
  const reused = [];
  try {
    for (let r = 0; r < runs; r++) {
      const sides = [
        async () => ns.push(await nightshiftRun(sb, progress, r, tasks)),
        async () => fresh.push(await scriptRun(sb, floorRoot, 'fresh', r, tasks)),
        async () => reused.push(await scriptRun(sb, floorRoot, 'reuse', r, tasks)),
      ];
      if (r % 2 === 1) sides.reverse();
      for (const side of sides) await side();
      log(
        `b run ${r + 1}/${runs}: nightshift ${ns.at(-1).toFixed(2)} s/task, script fresh ${fresh.at(-1).toFixed(2)} s/task, script reused ${reused.at(-1).toFixed(2)} s/task`,
      );
    }
  } finally {
    progress.close();
  }
  await sb.remove();
  const speedups = ns.map((v, i) => fresh[i] / v);
  const note = `${runs} runs x ${tasks} tasks (+1 warm-up), ${files} files`;
  return [
    {
      key: 'b.nightshift',
      label: `b. per task, nightshift, ${files / 1000}k files (s)`,
      value: round(median(ns), 3),
      target: { op: '<=', value: 0.5 },
      runs: note,
      raw: ns.map((v) => round(v, 3)),
    },
    {
      key: 'b.script_fresh',
      label: 'b. per task, script, fresh worktree (s)',
      value: round(median(fresh), 3),
      runs: note,
      raw: fresh.map((v) => round(v, 3)),
    },
    {
      key: 'b.script_reused',
      label: 'b. per task, script, reused worktree (floor) (s)',
      value: round(median(reused), 3),
      runs: note,
      raw: reused.map((v) => round(v, 3)),
    },
    {
      key: 'b.speedup',
      label: 'b. speed-up vs fresh-worktree script (x)',
      value: round(median(speedups), 2),
      target: { op: '>=', value: 5 },
      runs: 'median of per-run ratios',
      raw: speedups.map((v) => round(v, 2)),
    },
  ];
}

async function nightshiftRun(sb, progress, r, tasks) {
  const phase = `b run ${r + 1} nightshift`;
  const warm = `b${r}-000-warmup`;
  const taskIds = ids(`b${r}`, tasks);
  writeTask(sb.repo, warm, noopTask(warm, { priority: 1 }));
  for (const id of taskIds) writeTask(sb.repo, id, noopTask(id));
  const from = progress.mark();
  const running = cli(sb, ['daemon', 'start', '--once', '--concurrency', '1'], { phase, timeoutMs: 600_000 });
  let exited;
  running.then(
    (res) => (exited = res),
    () => (exited = { code: 'error' }),
  );
  const alive = () => (exited ? `nightshift exited (${exited.code}) before the tasks were done\n${tail(exited.stderr ?? '')}` : undefined);
  const warmDone = await progress.waitFor((l) => l.id === warm && l.event === 'done', { from, timeoutMs: 300_000, phase, alive });
  let last = warmDone;
  for (const id of taskIds) {
    const line = await progress.waitFor((l) => l.id === id && (l.event === 'done' || l.event === 'failed'), {
      from,
      timeoutMs: 300_000,
      phase,
      alive,
    });
    if (line.t > last.t) last = line;
  }
  const res = await running;
  if (res.code !== 0) throw new BenchError(`${phase}: nightshift exited ${res.code}\n${tail(res.stdout)}${tail(res.stderr)}`);
  await verifyDone(sb, [warm, ...taskIds], { pushed: true, phase });
  removeTaskFiles(sb, [warm, ...taskIds]);
  return (last.t - warmDone.t) / 1000 / tasks;
}

async function scriptRun(sb, floorRoot, mode, r, tasks) {
  const phase = `b run ${r + 1} script (${mode})`;
  const warm = `${mode}${r}-000-warmup`;
  const taskIds = ids(`${mode}${r}`, tasks);
  const opts = { cwd: sb.repo, env: { ...sb.env, FLOOR_PREFIX: 'floor' }, timeoutMs: 600_000, phase };
  await mustRun('sh', [FLOOR, mode, sb.repo, floorRoot, 'main', warm], opts);
  const res = await mustRun('sh', [FLOOR, mode, sb.repo, floorRoot, 'main', ...taskIds], opts);
  await verifyBranches(sb, [warm, ...taskIds], { prefix: 'floor', phase });
  return res.ms / 1000 / tasks;
}
