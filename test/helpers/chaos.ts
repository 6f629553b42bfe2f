import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { expect } from 'vitest';
import { defaultWorktreeRoot } from '../../src/paths.js';
import type { Leftovers } from './cleanup.js';
import { progressEvents, runCli, taskText, type Sandbox } from './repo.js';
import { poolAfterRun, readTask } from './task.js';
import { killMatching, livePidsMatching, sleepMarker, spawnCli, waitFor } from './wait.js';

export interface ChaosFigures {
  tasks: number;
  kills: number;
  /** Tasks found running after a kill, each of which the next start had to recover. */
  interrupted: number;
  recoveredLines: number;
  finalized: number;
  attempts: number;
  seconds: number;
}

const RULES = '---\npush: branch\nmax_attempts: 50\nretry_backoff: 100ms\nstop_grace: 1s\nconcurrency: 3\n---\n';
const ids = (n: number) => Array.from({ length: n }, (_, i) => `${String(i + 1).padStart(3, '0')}-chaos`);

/**
 * Runs `tasks` trivial tasks under a daemon that is SIGKILLed `kills` times at random moments (after a
 * random number of progress lines, plus a random pause) and restarted each time, then checks the end
 * state: everything done exactly once, one trailer commit per branch, files intact, nothing left behind.
 */
export async function chaosRun(left: Leftovers, tasks: number, kills: number): Promise<ChaosFigures> {
  const started = Date.now();
  const sb = await left.sandbox(RULES);
  // sleep 0.NNN: a fraction of a second, and a marker /proc can find.
  const marker = sleepMarker(0);
  const bodies = new Map<string, string>();
  for (const id of ids(tasks)) {
    const body = `# Goal\n\nChaos task ${id}: write ${id}.txt.\n`;
    bodies.set(id, body);
    await sb.write(`tasks/${id}.md`, taskText({ title: `Chaos ${id}`, run: `echo ${id} > ${id}.txt; sleep ${marker}` }, body));
  }
  const base = (await sb.git(['rev-parse', 'main'])).trim();
  const lines = async () => (await sb.read('progress.txt').catch(() => '')).split('\n').filter(Boolean).length;
  const checks: Array<{ after: number; running: string[] }> = [];
  try {
    for (let k = 0; k < kills; k++) {
      const before = await lines();
      const daemon = spawnCli(sb, ['daemon', 'start']);
      const wanted = before + randomInt(2, 12);
      await waitFor(`progress line ${wanted}`, async () => (await lines()) >= wanted || (await allDone(sb, tasks)), 120_000);
      await new Promise((r) => setTimeout(r, randomInt(0, 400)));
      daemon.child.kill('SIGKILL');
      await daemon.exited;
      const running: string[] = [];
      for (const id of ids(tasks)) if ((await readTask(sb, id)).fm.status === 'running') running.push(id);
      checks.push({ after: await lines(), running });
    }
    const final = spawnCli(sb, ['daemon', 'start']);
    await waitFor('every task done', () => allDone(sb, tasks), 60_000 + tasks * 5_000);
    final.child.kill('SIGTERM');
    expect((await final.exited).code).toBe(0);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${await diagnose(sb, tasks)}`, { cause: err });
  } finally {
    await killMatching(marker);
  }

  // Every task done, its file intact, exactly one commit with its trailer on its branch, local and remote.
  const progress = progressEvents(await sb.read('progress.txt'));
  let attempts = 0;
  for (const id of ids(tasks)) {
    const { fm, body } = await readTask(sb, id);
    expect(fm).toMatchObject({ status: 'done', title: `Chaos ${id}` });
    expect(body).toBe(bodies.get(id));
    attempts += Number(fm.attempts);
    const branch = `nightshift/${id}`;
    for (const where of [sb.repo, sb.remote]) {
      const commits = (await sb.git(['rev-list', `${base}..${branch}`], where)).trim().split('\n');
      expect(commits).toEqual([fm.commit]);
      expect((await sb.git(['log', '-1', '--format=%(trailers:key=Nightshift-Task,valueonly)', branch], where)).trim()).toBe(id);
    }
    // Never two: a kill between writing `done` to the file and appending the line can leave none.
    expect(progress.filter((e) => e.id === id && e.event === 'done').length).toBeLessThanOrEqual(1);
  }
  // Each task found running after a kill was recovered by a later start. A kill can also land inside that
  // recovery, after it put the task back in the queue and before its line was appended (the same window as
  // for `done`): the task is then simply claimed again, and that is what the trail must show instead.
  const all = (await sb.read('progress.txt')).split('\n').filter(Boolean);
  for (const { after, running } of checks) {
    const later = all.slice(after);
    for (const id of running) {
      const trail = all.filter((l) => l.includes(` ${id} `) || l.includes(' - daemon-')).join('\n');
      const dealtWith = later.some((l) => l.includes(` ${id} recovered `) || l.includes(` ${id} claimed `));
      expect(dealtWith, `${id} was running after a kill (line ${after}) and never recovered:\n${trail}`).toBe(true);
    }
  }
  // Nothing left behind but the worktree pool (at most `concurrency` idle, detached slots, no lease held),
  // no process, no stray lock.
  const pool = await poolAfterRun(sb);
  expect(pool.leases).toEqual([]);
  for (const slot of pool.worktrees) expect(slot).toMatch(/^_pool-[1-3] detached$/);
  const wtRoot = defaultWorktreeRoot(realpathSync(sb.repo), sb.env);
  // _attempt-files: the copies each slot's executor was shown (task file, prompts), emptied at each use.
  const folders = existsSync(wtRoot) ? readdirSync(wtRoot).filter((n) => n !== '_leases' && n !== '_attempt-files') : [];
  expect(folders.sort()).toEqual(pool.worktrees.map((w) => w.split(' ')[0]).sort());
  expect(await livePidsMatching(marker)).toEqual([]);
  // No claim is left. (A kill inside a millisecond edit or takeover can leave that mutex's lock; it goes
  // stale after 10 s, the next edit takes it over, and `clean` removes it.)
  expect(readdirSync(join(sb.repo, '.nightshift/locks')).filter((n) => /^\d{3}-chaos\.lock$/.test(n))).toEqual([]);
  expect(existsSync(join(sb.repo, '.nightshift/daemon.pid'))).toBe(false);

  return {
    tasks,
    kills,
    interrupted: checks.reduce((n, c) => n + c.running.length, 0),
    recoveredLines: progress.filter((e) => e.event === 'recovered').length,
    finalized: progress.filter((e) => e.event === 'recovered' && e.fields.then === 'finalize').length,
    attempts,
    seconds: Math.round((Date.now() - started) / 1000),
  };
}

/** What a stuck run looks like, for the failure message. */
async function diagnose(sb: Sandbox, tasks: number): Promise<string> {
  const statuses: string[] = [];
  for (const id of ids(tasks)) statuses.push(`${id}: ${String((await readTask(sb, id).catch(() => undefined))?.fm.status)}`);
  const tail = (await sb.read('progress.txt').catch(() => '')).split('\n').slice(-40).join('\n');
  const locks = existsSync(join(sb.repo, '.nightshift/locks')) ? readdirSync(join(sb.repo, '.nightshift/locks')).join(' ') : '';
  const log = (await sb.read('.nightshift/daemon.log').catch(() => ''))
    .split('\n')
    .filter((l) => /"level":[456]0/.test(l))
    .slice(-20)
    .join('\n');
  return `statuses: ${statuses.join(', ')}\nlocks: ${locks}\nprogress tail:\n${tail}\nwarnings:\n${log}`;
}

async function allDone(sb: Sandbox, tasks: number): Promise<boolean> {
  for (const id of ids(tasks)) {
    const fm = (await readTask(sb, id).catch(() => undefined))?.fm;
    if (fm?.status !== 'done') return false;
  }
  return true;
}

/**
 * Two daemons (--allow-multiple) on one checkout race through `tasks` tasks; every executor appends its
 * task id to a shared ledger. Each id must appear exactly once.
 */
export async function raceRun(
  left: Leftovers,
  tasks: number,
): Promise<{ tasks: number; seconds: number; byDaemon: Record<string, number> }> {
  const started = Date.now();
  // The executors append to a ledger outside the worktree, which the sandbox would hide: unsandboxed.
  const sb = await left.sandbox('---\nconcurrency: 3\nsandbox: none\n---\n');
  const ledger = join(sb.dir, 'ledger');
  await writeFile(ledger, '');
  for (const id of ids(tasks)) {
    await sb.write(
      `tasks/${id}.md`,
      taskText({ title: id, run: `echo "${id} $NIGHTSHIFT_WORKTREE" >> '${ledger}'; echo ${id} > ${id}.txt` }),
    );
  }
  const a = runCli(['daemon', 'start', '--once', '--allow-multiple'], sb.repo, sb.env, 900_000);
  const b = runCli(['daemon', 'start', '--once', '--allow-multiple'], sb.repo, sb.env, 900_000);
  const results = await Promise.all([a, b]);
  for (const r of results) expect(r.stderr).toBe('');
  const entries = (await readFile(ledger, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => l.split(' ')[0]);
  const twice = entries.filter((id, i) => entries.indexOf(id) !== i);
  const trail = (await sb.read('progress.txt')).split('\n').filter((l) => twice.some((id) => l.includes(` ${id} `)));
  expect(entries.sort(), `ran more than once: ${twice.join(', ')}\n${trail.join('\n')}\n${await diagnose(sb, tasks)}`).toEqual(ids(tasks));
  const byDaemon: Record<string, number> = {};
  for (const e of progressEvents(await sb.read('progress.txt')).filter((e) => e.event === 'claimed')) {
    byDaemon[e.fields.by as string] = (byDaemon[e.fields.by as string] ?? 0) + 1;
  }
  for (const id of ids(tasks)) expect((await readTask(sb, id)).fm.status).toBe('done');
  return { tasks, seconds: Math.round((Date.now() - started) / 1000), byDaemon };
}
