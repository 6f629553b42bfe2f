import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { cleanUpAfterAll } from '../helpers/cleanup.js';
import { looksSecret } from '../../src/util/secrets.js';
import { listFiles, taskText, type Sandbox } from '../helpers/repo.js';
import { readTask } from '../helpers/task.js';
import { exitedWithPeakRss, spawnCli, waitFor } from '../helpers/wait.js';

// Every rules.md here says sandbox: none: the executors and the test talk through files outside the worktree.

const execFileP = promisify(execFile);

/** Fake credentials, shaped like real ones, set in the daemon's environment. */
const SECRETS = {
  GITHUB_TOKEN: 'ghp_m3gFmqJ6fCS3ODl6Vg8zoGWwe47e8fEKFaQO',
  AWS_ACCESS_KEY_ID: 'AKIAF7JKNDWOFEQ74NPM',
  GITHUB_PAT: 'pat-4f3e2d1c0b9a8f7e',
  DATABASE_URL: 'postgres://app:Pg-s3cret-9f8e7d@127.0.0.1:5432/app',
};
/** What must never appear: every value above, and the password inside the URL on its own. */
const NEEDLES = [...Object.values(SECRETS), 'Pg-s3cret-9f8e7d'];
/** A token no variable holds: masked by its shape alone. */
const LOOSE_TOKEN = 'ghp_Li9DWnVwOuQEGfzOHVXCVIEUDJnjixICMMXg';

/** The daemon's environment: the fake secrets, and none of the test machine's own secret-looking variables. */
function daemonEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...SECRETS };
  for (const name of Object.keys(process.env)) if (looksSecret(name) && !(name in SECRETS)) env[name] = undefined;
  return env;
}

const LINE_BYTES = 200_000_000;

/**
 * Executors that flood, dump the environment or leak tokens, in one --once run. The daemon must survive
 * a 200 MB line with flat memory, cap the transcript, mask every secret in what it writes, and refuse
 * to commit a change that holds one.
 */
describe('hostile output: huge lines and leaked secrets', () => {
  const left = cleanUpAfterAll();
  let sb: Sandbox;
  let run: { code: number; stdout: string; stderr: string };
  let peakKb = 0;

  beforeAll(async () => {
    sb = await left.sandbox({ rules: '---\nsandbox: none\npush: branch\nmax_attempts: 1\nconcurrency: 2\ntest: "true"\n---\n' });
    await sb.write(
      'tasks/001-long-line.md',
      taskText({
        title: 'Prints a 200 MB line between two secrets',
        run: `echo "before $GITHUB_TOKEN"; head -c ${LINE_BYTES} /dev/zero | tr '\\0' x; echo; echo "after $GITHUB_TOKEN and $AWS_ACCESS_KEY_ID and $DATABASE_URL"; echo done > out.txt`,
      }),
    );
    await sb.write('tasks/002-env-dump.md', taskText({ title: 'Dumps its environment', run: 'env > env.txt; env -0 > env.bin; env' }));
    // Put together at run time: the task file itself (the test's, not nightshift's) never holds the token.
    const split = `${LOOSE_TOKEN.slice(0, 10)}""${LOOSE_TOKEN.slice(10)}`;
    await sb.write(
      'tasks/003-loose-token.md',
      taskText({ title: 'Writes a token', run: `echo "token: ${split}"; echo "token=${split}" > cfg.txt` }),
    );
    const daemon = spawnCli({ ...sb, env: { ...sb.env, ...daemonEnv() } }, ['daemon', 'start', '--once']);
    ({ run, peakKb } = await exitedWithPeakRss(daemon, 20));
  }, 180_000);

  it('survives a 200 MB line with flat memory: task done, the line capped with a marker, secrets around it masked', async () => {
    expect(run.stdout).toContain('nightshift: 1 done, 2 failed, 0 blocked');
    const { fm } = await readTask(sb, '001-long-line');
    expect(fm.status).toBe('done');
    expect((await sb.git(['show', '--format=', '--name-only', String(fm.commit)])).trim()).toBe('out.txt');
    const log = await sb.read('.nightshift/logs/001-long-line/1.log');
    expect((await stat(join(sb.repo, '.nightshift/logs/001-long-line/1.log'))).size).toBeLessThan(2 * 1024 * 1024);
    expect(log).toContain('\nbefore ***\n');
    expect(log).toContain('\nafter *** and *** and postgres://app:***@127.0.0.1:5432/app\n');
    const m = /\n(x+)\n\[nightshift: line over 1 MiB, (\d+) bytes cut\]\n/.exec(log);
    expect(m).not.toBeNull();
    const kept = (m?.[1] ?? '').length;
    expect(kept).toBeGreaterThan(1024 * 1024 - 1024);
    expect(kept).toBeLessThanOrEqual(1024 * 1024);
    expect(kept + Number(m?.[2])).toBe(LINE_BYTES);
    console.log(`daemon peak RSS (VmHWM) with a 200 MB line: ${Math.round(peakKb / 1024)} MB`);
    expect(peakKb).toBeGreaterThan(0);
    expect(peakKb).toBeLessThan(300 * 1024);
  });

  it('refuses a change holding the values of secret variables, naming the files, never the values', async () => {
    const { fm } = await readTask(sb, '002-env-dump');
    expect(fm.status).toBe('failed');
    expect(fm.error).toBe(
      'guard failed: secrets: the change contains the values of $AWS_ACCESS_KEY_ID, $DATABASE_URL, $GITHUB_PAT, $GITHUB_TOKEN in env.bin, env.txt',
    );
    const log = await sb.read('.nightshift/logs/002-env-dump/1.log');
    expect(log).toContain('\nGITHUB_TOKEN=***\n');
    expect(log).toContain('\nAWS_ACCESS_KEY_ID=***\n');
    expect(log).toContain('\nGITHUB_PAT=***\n');
    expect(log).toContain('\nDATABASE_URL=postgres://app:***@127.0.0.1:5432/app\n');
  });

  it('refuses a change holding a token of a known shape, and masks it in the transcript', async () => {
    const { fm } = await readTask(sb, '003-loose-token');
    expect(fm.status).toBe('failed');
    expect(fm.error).toBe('guard failed: secrets: the change contains a GitHub token in cfg.txt');
    expect(await sb.read('.nightshift/logs/003-loose-token/1.log')).toContain('\ntoken: ***\n');
  });

  it('writes no secret into any file under .nightshift, progress.txt, the task files or the remote', async () => {
    const files = [
      ...(await listFiles(join(sb.repo, '.nightshift'))),
      join(sb.repo, 'progress.txt'),
      ...(await listFiles(join(sb.repo, 'tasks'))),
    ];
    expect(files.some((f) => f.endsWith('daemon.log'))).toBe(true);
    const leaks: string[] = [];
    for (const file of files) {
      const text = await readFile(file, 'latin1');
      for (const needle of [...NEEDLES, LOOSE_TOKEN]) if (text.includes(needle)) leaks.push(`${file}: ${needle.slice(0, 6)}`);
    }
    expect(leaks).toEqual([]);
    const { stdout } = await execFileP('git', ['cat-file', '--batch-all-objects', '--batch'], {
      cwd: sb.remote,
      maxBuffer: 256 * 1024 * 1024,
      encoding: 'latin1',
    });
    for (const needle of [...NEEDLES, LOOSE_TOKEN]) expect(stdout.includes(needle)).toBe(false);
    const refs = (await sb.git(['for-each-ref', '--format=%(refname)'], sb.remote)).trim().split('\n');
    expect(refs).toEqual(['refs/heads/main', 'refs/heads/nightshift/001-long-line']);
  });
});

describe('hostile output: the daemon killed mid-output', () => {
  const left = cleanUpAfterAll();
  let sb: Sandbox;

  it('leaves a transcript with every secret masked', async () => {
    sb = await left.sandbox({ rules: '---\nsandbox: none\nmax_attempts: 1\n---\n' });
    await sb.write(
      'tasks/001-chatty.md',
      taskText({
        title: 'Prints secrets until stopped',
        run: 'while :; do echo "tick $GITHUB_TOKEN $AWS_ACCESS_KEY_ID"; sleep 0.05; done',
      }),
    );
    const daemon = spawnCli({ ...sb, env: { ...sb.env, ...daemonEnv() } }, ['daemon', 'start', '--once']);
    const logFile = join(sb.repo, '.nightshift/logs/001-chatty/1.log');
    await waitFor(
      'five ticks in the transcript',
      async () => {
        const text = await readFile(logFile, 'utf8').catch(() => '');
        return (text.match(/tick/g)?.length ?? 0) >= 5;
      },
      30_000,
    );
    const owner = JSON.parse(await sb.read('.nightshift/locks/001-chatty.lock/owner.json')) as { pgid?: number };
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    // The executor's group outlives a SIGKILLed daemon (it is detached); the next daemon would stop it.
    if (owner.pgid) {
      try {
        process.kill(-owner.pgid, 'SIGKILL');
      } catch {
        // gone already: its pipe to the daemon broke
      }
    }
    const log = await readFile(logFile, 'latin1');
    expect(log).toContain('\ntick *** ***\n');
    for (const needle of NEEDLES) expect(log.includes(needle)).toBe(false);
  }, 60_000);
});
