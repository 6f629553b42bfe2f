import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cli, mustRun, BenchError, tail } from '../lib/proc.mjs';
import { makeSandbox } from '../lib/sandbox.mjs';
import { median, round } from '../lib/stats.mjs';
import { ids, noopTask, RULES_BRANCH, writeTask } from '../lib/tasks.mjs';
import { verifyBranches, verifyDone } from '../lib/verify.mjs';

export const FLOOR = resolve(import.meta.dirname, '../floor.sh');

/**
 * a. Per-task overhead on a small repo: N no-op tasks through `daemon start --once --concurrency 1`
 * against two floors doing the same git work in plain git (floor.sh): a fresh worktree per task, and one
 * worktree re-pointed per task (what nightshift's pool does). Each side on its own fresh sandbox, in the
 * same run, the order rotated from run to run.
 */
export async function overhead({ quick, runs, log }) {
  const tasks = quick ? 10 : 50;
  const ms = { nightshift: [], fresh: [], reuse: [] };
  const gitPerTask = [];
  for (let r = 0; r < runs; r++) {
    const ns = await makeSandbox({ name: `a-nightshift-${r}`, fileCount: 200, rules: RULES_BRANCH });
    const fresh = await makeSandbox({ name: `a-fresh-${r}`, fileCount: 200, rules: RULES_BRANCH });
    const reuse = await makeSandbox({ name: `a-reuse-${r}`, fileCount: 200, rules: RULES_BRANCH });
    const taskIds = ids(`a${r}`, tasks);
    for (const id of taskIds) writeTask(ns.repo, id, noopTask(id));
    const floor = (sb, mode) => async () => {
      const phase = `a run ${r + 1} ${mode} script`;
      const args = [FLOOR, mode, sb.repo, join(sb.dir, 'floor-worktrees'), 'main', ...taskIds];
      const res = await mustRun('sh', args, { cwd: sb.repo, env: sb.env, timeoutMs: 300_000, phase });
      await verifyBranches(sb, taskIds, { prefix: 'nightshift', phase });
      ms[mode].push(res.ms / tasks);
    };
    const sides = [
      async () => {
        const phase = `a run ${r + 1} nightshift`;
        const res = await cli(ns, ['daemon', 'start', '--once', '--concurrency', '1'], { phase, timeoutMs: 300_000 });
        if (res.code !== 0) throw new BenchError(`a run ${r + 1}: nightshift exited ${res.code}\n${tail(res.stdout)}${tail(res.stderr)}`);
        await verifyDone(ns, taskIds, { pushed: true, phase: `a run ${r + 1}` });
        ms.nightshift.push(res.ms / tasks);
        gitPerTask.push(gitProcesses(ns) / tasks);
      },
      floor(fresh, 'fresh'),
      floor(reuse, 'reuse'),
    ];
    // Rotate the order so a machine that slows down (or warms up) over the run favours no side.
    for (let i = 0; i < sides.length; i++) await sides[(i + r) % sides.length]();
    const last = (xs) => xs.at(-1).toFixed(1);
    log(
      `a run ${r + 1}/${runs}: nightshift ${last(ms.nightshift)} ms/task (${last(gitPerTask)} git processes), ` +
        `fresh-worktree script ${last(ms.fresh)}, re-pointed-worktree script ${last(ms.reuse)}`,
    );
    await ns.remove();
    await fresh.remove();
    await reuse.remove();
  }
  const note = `${runs} runs x ${tasks} tasks, 200-file repo`;
  const ratio = (floorMs) => ms.nightshift.map((v, i) => v / floorMs[i]);
  const row = (key, label, xs, extra = {}) => ({
    key,
    label,
    value: round(median(xs), 1),
    runs: note,
    raw: xs.map((v) => round(v, 1)),
    ...extra,
  });
  const ratioRow = (key, label, xs, target) => ({
    key,
    label,
    value: round(median(xs), 2),
    target: { op: '<=', value: target },
    runs: 'median of per-run ratios',
    raw: xs.map((v) => round(v, 2)),
  });
  return [
    row('a.nightshift', 'a. per task, nightshift --once -c 1 (ms)', ms.nightshift),
    row('a.git', 'a. per task, git processes nightshift started', gitPerTask, { runs: `${note}; from daemon.log` }),
    row('a.script', 'a. per task, plain git, fresh worktree per task (ms)', ms.fresh),
    row('a.script-reuse', 'a. per task, plain git, one re-pointed worktree (ms)', ms.reuse),
    ratioRow('a.ratio', 'a. ratio nightshift / fresh-worktree script', ratio(ms.fresh), 1.0),
    ratioRow('a.ratio-reuse', 'a. ratio nightshift / re-pointed-worktree script', ratio(ms.reuse), 2.0),
  ];
}

/**
 * Git processes the daemon started for its tasks: the sum of `gitProcesses` over the daemon log's
 * "attempt finished" lines (each counts since the task's previous attempt, the first since the claim).
 */
function gitProcesses(sb) {
  let sum = 0;
  for (const line of readFileSync(join(sb.repo, '.nightshift', 'daemon.log'), 'utf8').split('\n')) {
    if (!line.includes('"attempt finished"')) continue;
    const n = JSON.parse(line).gitProcesses;
    if (typeof n !== 'number') throw new BenchError('a: daemon.log has an "attempt finished" line without gitProcesses');
    sum += n;
  }
  return sum;
}
