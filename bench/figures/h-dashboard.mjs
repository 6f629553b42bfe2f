import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { chromium } from 'playwright-core';
import { writeBigQueue } from '../lib/bigQueue.mjs';
import { CHROMIUM, HEADLESS_ARGS } from '../lib/chromium.mjs';
import { onCleanup, removeDirLater } from '../lib/cleanup.mjs';
import { BIN, BenchError } from '../lib/proc.mjs';
import { benchRoot, makeSandbox } from '../lib/sandbox.mjs';
import { median, round } from '../lib/stats.mjs';
import { noopTask } from '../lib/tasks.mjs';

/**
 * h. The dashboard on a 10,000-task queue, in headless Chromium: first contentful paint of the board
 * when it is the server's first request (every task file read and parsed), and again once warm; then how
 * long a task file dropped into tasks/ takes to show on the open page (watcher -> SSE -> fragment).
 */
export async function dashboard({ quick, runs, log }) {
  if (!existsSync(CHROMIUM)) throw new BenchError(`h: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM)`);
  const total = quick ? 2_000 : 10_000;
  const sb = await makeSandbox({ name: 'dashboard', fileCount: 20, rules: '---\npush: none\n---\nBenchmark project.\n' });
  await writeBigQueue(sb.repo, { total, ready: 0 });
  const profile = mkdtempSync(join(benchRoot(), 'chromium-'));
  removeDirLater(profile);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: HEADLESS_ARGS,
  });
  try {
    const cold = [];
    const warm = [];
    const live = [];
    for (let run = 0; run < runs; run++) {
      const server = await startServer(sb);
      try {
        const page = await context.newPage();
        cold.push(await firstPaint(page, server.url));
        warm.push(await firstPaint(page, server.url.replace(/\?token=.*/, '')));
        await page.waitForFunction("document.getElementById('live')?.textContent === 'live'");
        const id = `zz-live-${run}`;
        const t = performance.now();
        await writeFile(join(sb.repo, 'tasks', `${id}.md`), noopTask(id));
        await page.locator(`article[data-task="${id}"]`).waitFor({ state: 'attached', timeout: 30_000 });
        live.push(performance.now() - t);
        await page.close();
      } finally {
        await server.stop();
      }
      log(
        `h: run ${run + 1}: first paint ${round(cold.at(-1), 0)} ms cold, ${round(warm.at(-1), 0)} ms warm; dropped task shown after ${round(live.at(-1), 0)} ms`,
      );
    }
    const row = (key, label, values, target) => ({
      key,
      label,
      value: round(median(values), 0),
      target,
      runs: `${values.length} runs, ${total} tasks`,
      raw: values.map((v) => round(v, 0)),
    });
    return [
      row('h.first-paint', 'h. dashboard first paint, 10,000 tasks, cold server (ms)', cold, { op: '<=', value: 1000 }),
      row('h.first-paint-warm', 'h. dashboard first paint, warm (ms)', warm, { op: '<=', value: 1000 }),
      row('h.live-update', 'h. dropped task shown on the open page (ms)', live, { op: '<=', value: 1000 }),
    ];
  } finally {
    await context.close();
  }
}

/** First contentful paint as the browser reports it, from the start of navigation. */
async function firstPaint(page, url) {
  const res = await page.goto(url, { waitUntil: 'load', timeout: 60_000 });
  if (!res || res.status() !== 200) throw new BenchError(`h: ${url} answered ${res?.status()}`);
  // The load event may come before the first paint on a busy machine: wait for the paint entry itself.
  const fcp = await page.evaluate(`new Promise((resolve) => {
    new PerformanceObserver((list) => {
      const entry = list.getEntriesByName('first-contentful-paint')[0];
      if (entry) resolve(entry.startTime);
    }).observe({ type: 'paint', buffered: true });
    setTimeout(() => resolve(undefined), 20000);
  })`);
  if (typeof fcp !== 'number') throw new BenchError('h: the browser reported no first contentful paint');
  return fcp;
}

/** `nightshift dashboard --port 0` as a child; resolves with the address it prints. */
function startServer(sb) {
  const child = spawn(process.execPath, [BIN, 'dashboard', '--port', '0'], {
    cwd: sb.repo,
    env: sb.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const unregister = onCleanup(() => child.kill('SIGKILL'));
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await exited;
    }
    unregister();
  };
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr.on('data', (b) => (err += b));
    child.stdout.on('data', (b) => {
      out += b;
      const url = /dashboard on (http:\/\/\S+)/.exec(out)?.[1];
      if (url) resolve({ url, stop });
    });
    child.once('exit', (code) => reject(new BenchError(`h: nightshift dashboard exited ${code}: ${err.trim()}`)));
  });
}
