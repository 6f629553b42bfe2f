import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { onCleanup, removeDirLater } from '../lib/cleanup.mjs';
import { median, round } from '../lib/stats.mjs';

const DIST = resolve(import.meta.dirname, '../../dist');

/**
 * h. Fleet claims: machines (clones of one bare repository served by `git daemon` on 127.0.0.1) race to
 * claim the same queue of tasks through claim refs, as `queue: remote` does: a push with a lease expecting
 * the ref absent, then a read-back. Latency is one claim attempt (won or lost); throughput is claims won
 * per second across the fleet. Each machine claims one task at a time, like a daemon with one free slot.
 */
export async function fleetClaims({ quick, log }) {
  const { ClaimRefs } = await import(pathToFileURL(join(DIST, 'fleet/claimRefs.js')).href);
  const { openGit } = await import(pathToFileURL(join(DIST, 'git/git.js')).href);
  const tasks = quick ? 20 : 60;
  const rows = [];
  for (const machines of quick ? [1, 4] : [1, 2, 4, 8]) {
    const dir = mkdtempSync(join(tmpdir(), `nightshift-bench-h${machines}-`));
    removeDirLater(dir);
    const remote = join(dir, 'remote.git');
    execFileSync('git', ['init', '--quiet', '--bare', '--initial-branch=main', remote]);
    const port = await freePort();
    const daemon = spawn(
      'git',
      ['daemon', '--reuseaddr', '--export-all', '--enable=receive-pack', `--base-path=${dir}`, '--listen=127.0.0.1', `--port=${port}`, dir],
      { stdio: 'ignore', detached: true },
    );
    const stop = onCleanup(() => process.kill(-daemon.pid, 'SIGKILL'));
    const url = `git://127.0.0.1:${port}/remote.git`;
    await waitListening(url);
    const fleet = [];
    for (let m = 0; m < machines; m++) {
      const clone = join(dir, `m${m}`);
      mkdirSync(clone);
      execFileSync('git', ['init', '--quiet', '--initial-branch=main'], { cwd: clone });
      execFileSync('git', ['remote', 'add', 'origin', url], { cwd: clone });
      const git = openGit(clone, { identity: { name: 'bench', email: 'bench@localhost' } });
      fleet.push(new ClaimRefs(git, { remote: 'origin', prefix: 'refs/nightshift/' }, { machine: `m${m}`, pid: m }));
    }
    const ids = Array.from({ length: tasks }, (_, i) => `${String(i + 1).padStart(3, '0')}-h`);
    const latencies = [];
    let next = 0;
    let won = 0;
    const started = performance.now();
    // Every machine walks the queue from the first unclaimed task it knows of; a lost race moves it on.
    await Promise.all(
      fleet.map(async (refs) => {
        while (next < ids.length) {
          const id = ids[next];
          const t = performance.now();
          const r = await refs.claim(id);
          latencies.push(performance.now() - t);
          if (r.kind === 'claimed') won++;
          if (r.kind === 'unreachable') throw new Error(`h: ${r.message}`);
          if (ids[next] === id) next++;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const claimed = execFileSync('git', ['for-each-ref', 'refs/nightshift/claims/'], { cwd: remote, encoding: 'utf8' })
      .trim()
      .split('\n').length;
    if (claimed !== tasks || won !== tasks) throw new Error(`h: ${machines} machines claimed ${won} (refs: ${claimed}) of ${tasks} tasks`);
    log(`h ${machines} machine(s): ${tasks} claims in ${seconds.toFixed(1)} s, ${latencies.length} attempts`);
    rows.push(
      {
        key: `i.latency.${machines}`,
        label: `i. fleet claim attempt, ${machines} machine(s), median (ms)`,
        value: round(median(latencies), 1),
        runs: `${latencies.length} attempts, ${tasks} tasks`,
        raw: latencies.map((v) => round(v, 1)),
      },
      {
        key: `i.throughput.${machines}`,
        label: `i. fleet claims/s, ${machines} machine(s)`,
        value: round(tasks / seconds, 1),
        runs: `${tasks} tasks`,
      },
    );
    stop();
    process.kill(-daemon.pid, 'SIGKILL');
  }
  return rows;
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolvePort(port));
    });
  });
}

async function waitListening(url) {
  for (let i = 0; i < 300; i++) {
    try {
      execFileSync('git', ['ls-remote', url], { stdio: 'ignore', timeout: 5000 });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`h: git daemon at ${url} never answered`);
}
