import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanUpAfterAll } from '../helpers/cleanup.js';
import { progressEvents, taskText, type Sandbox } from '../helpers/repo.js';
import { readTask } from '../helpers/task.js';
import { exitedWithPeakRss, spawnCli } from '../helpers/wait.js';

// npx vitest run --config vitest.chaos.config.ts test/chaos/hostile-output.chaos.ts
// One 1 GB line: the daemon's peak RSS stays under 300 MB, the transcript is capped, daemon and task
// survive. Figures (peak RSS, throughput) are printed.
const TOKEN = 'ghp_m3gFmqJ6fCS3ODl6Vg8zoGWwe47e8fEKFaQO';
const LINE_BYTES = 1024 ** 3;

describe('hostile output (chaos)', () => {
  const left = cleanUpAfterAll();
  let sb: Sandbox;

  it('survives 1 GB on one line with flat memory', async () => {
    // The sandbox passes no token an executor was not given: sandbox_env lets this one in, to be masked.
    sb = await left.sandbox({ rules: '---\npush: branch\nmax_attempts: 1\ntest: "true"\nsandbox_env: [GITHUB_TOKEN]\n---\n' });
    await sb.write(
      'tasks/001-gigabyte.md',
      taskText({
        title: 'Prints 1 GB on one line',
        run: `echo "before $GITHUB_TOKEN"; head -c ${LINE_BYTES} /dev/zero | tr '\\0' x; echo "after $GITHUB_TOKEN"; echo done > out.txt`,
      }),
    );
    const started = Date.now();
    const daemon = spawnCli({ ...sb, env: { ...sb.env, GITHUB_TOKEN: TOKEN } }, ['daemon', 'start', '--once']);
    const { run, peakKb } = await exitedWithPeakRss(daemon, 50);

    expect(run.code).toBe(0);
    const { fm } = await readTask(sb, '001-gigabyte');
    expect(fm.status).toBe('done');
    const logFile = join(sb.repo, '.nightshift/logs/001-gigabyte/1.log');
    const size = (await stat(logFile)).size;
    expect(size).toBeLessThan(2 * 1024 * 1024);
    const log = await readFile(logFile, 'latin1');
    expect(log).toContain('\nbefore ***\n');
    // The line's end and what followed it on the same line are cut; the marker counts them.
    const m = /\n(x+)\n\[nightshift: line over 1 MiB, (\d+) bytes cut\]\n/.exec(log);
    expect(m).not.toBeNull();
    expect((m?.[1] ?? '').length + Number(m?.[2])).toBe(LINE_BYTES + `after ${TOKEN}`.length);
    expect(log.includes(TOKEN)).toBe(false);

    const events = progressEvents(await sb.read('progress.txt'));
    const at = (event: string) => Date.parse(events.find((e) => e.id === '001-gigabyte' && e.event === event)?.time ?? '');
    const seconds = (at('tests-passed') - at('attempt-started')) / 1000;
    console.log(
      `hostile output: 1 GB line, daemon peak RSS (VmHWM) ${Math.round(peakKb / 1024)} MB, transcript ${size} bytes, ` +
        `executor step about ${seconds}s (${Math.round(LINE_BYTES / 1024 / 1024 / Math.max(seconds, 1))} MB/s), whole run ${Math.round((Date.now() - started) / 1000)}s`,
    );
    expect(peakKb).toBeGreaterThan(0);
    expect(peakKb).toBeLessThan(300 * 1024);
  }, 600_000);
});
