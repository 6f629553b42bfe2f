import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { cleanUpAfterAll, type Leftovers } from '../helpers/cleanup.js';
import { progressEvents, taskText, type Sandbox } from '../helpers/repo.js';
import { readTask } from '../helpers/task.js';
import { livePidsMatching, sleepMarker } from '../helpers/wait.js';
import { startDaemon } from '../../src/daemon/start.js';

/**
 * The hostile executors of issue 17 against `sandbox: bwrap` and `sandbox: none`. Every one runs in one
 * `--once` run of an in-process daemon (so its pid is this process's, written into the task that signals
 * it) with HOME pointing at a folder holding a canary ~/.ssh/id_rsa.
 */

const CANARY = `CANARY-${randomBytes(6).toString('hex')}`;
const ETC_FILE = `/etc/nightshift-hostile-${randomBytes(4).toString('hex')}`;
/** Where the checkout is, found the way any executor could: through the git dir its worktree shares. */
const CHECKOUT = '"$(git rev-parse --git-common-dir)/.."';

interface Setting {
  mode: 'bwrap' | 'none';
  /** A reachable 127.0.0.1 port (a server this test runs). */
  port: number;
  marker: string;
}

function hostileTasks(s: Setting): Record<string, Record<string, unknown>> {
  // Signal 0 only without the sandbox: a real SIGTERM would stop the test process it stands in for.
  const signal = s.mode === 'bwrap' ? 'TERM' : '0';
  const connect = `node -e "require('net').connect(${s.port},'127.0.0.1').on('connect',()=>process.exit(0)).on('error',(e)=>{console.error(e.message);process.exit(1)})"`;
  return {
    '001-good': { title: 'Does its job', run: 'echo ok > good.txt' },
    '002-reads-ssh': { title: 'Reads the ssh key', run: 'cat "$HOME/.ssh/id_rsa" > stolen.txt' },
    '003-writes-checkout': { title: 'Writes the checkout', run: `echo pwned > ${CHECKOUT}/pwned.txt && echo x > x.txt` },
    '004-writes-other-worktree': {
      title: 'Writes another pooled worktree',
      // Four tasks start at once, so slots 1 and 2 both exist; whichever is not its own.
      run: 'for n in 1 2; do t="$(dirname "$PWD")/_pool-$n"; [ "$t" = "$PWD" ] && continue; echo pwned > "$t/pwned.txt" || exit 1; echo "$t" > other.txt; exit 0; done',
    },
    '005-writes-etc': { title: 'Writes /etc', run: `echo pwned > ${ETC_FILE} && echo x > x.txt` },
    '006-signals-daemon': { title: 'Signals the daemon', run: `kill -${signal} ${process.pid} && echo x > x.txt` },
    '007-leaves-process': {
      title: 'Leaves a process running',
      // The executor exits only once the process has left the worktree (it wrote x.txt from /): otherwise the
      // end-of-step sweep may still find it there, and whether it survives would be a race.
      run:
        `env -u NIGHTSHIFT_WORKTREE setsid sh -c 'cd / && echo x > "$0" && exec sleep ${s.marker}' "$PWD/x.txt" >/dev/null 2>&1 < /dev/null & ` +
        'while [ ! -s x.txt ]; do sleep 0.05; done',
    },
    '008-reaches-localhost': { title: 'Reaches 127.0.0.1', run: `${connect} && echo x > x.txt` },
    '009-setup-writes-checkout': { title: 'Setup writes the checkout', run: 'echo x > x.txt' },
    '010-test-writes-checkout': { title: 'Test writes the checkout', run: 'echo x > x.txt' },
  };
}

function rulesFor(mode: 'bwrap' | 'none'): string {
  const setup = `case "$NIGHTSHIFT_TASK_ID" in 009-*) echo pwned > ${CHECKOUT}/from-setup.txt;; esac`;
  const test = `case "$NIGHTSHIFT_TASK_ID" in 010-*) echo pwned > ${CHECKOUT}/from-test.txt;; esac`;
  return `---\nsandbox: ${mode}\nsandbox_network: none\nconcurrency: 4\nmax_attempts: 1\nsetup: ${JSON.stringify(setup)}\ntest: ${JSON.stringify(test)}\n---\n`;
}

interface Run {
  sb: Sandbox;
  status: (id: string) => Promise<{ status: unknown; error: unknown }>;
  log: (id: string) => Promise<string>;
  daemonStart: Record<string, string>;
}

async function runHostile(left: Leftovers, s: Setting): Promise<Run> {
  const sb = await left.sandbox({});
  const home = join(sb.dir, 'home');
  await mkdir(join(home, '.ssh'), { recursive: true });
  await writeFile(join(home, '.ssh', 'id_rsa'), `${CANARY}\n`, { mode: 0o600 });
  // The daemon runs in this process: its executors get this HOME (put back after the file's tests).
  const realHome = process.env.HOME;
  process.env.HOME = home;
  left.defer(() => (process.env.HOME = realHome));
  left.defer(() => rm(ETC_FILE, { force: true }));
  await sb.write('rules.md', rulesFor(s.mode));
  await sb.git(['add', 'rules.md']);
  await sb.git(['commit', '-qm', 'rules']);
  for (const [id, fields] of Object.entries(hostileTasks(s))) await sb.write(`tasks/${id}.md`, taskText({ ...fields, max_attempts: 1 }));
  const daemon = left.daemon(await startDaemon({ cwd: sb.repo, once: true, worktreeRoot: join(sb.dir, 'wt') }));
  await daemon.done;
  const progress = progressEvents(await sb.read('progress.txt'));
  return {
    sb,
    status: async (id) => {
      const { fm } = await readTask(sb, id);
      return { status: fm.status, error: fm.error };
    },
    log: (id) => sb.read(`.nightshift/logs/${id}/1.log`),
    daemonStart: progress.find((e) => e.event === 'daemon-start')?.fields ?? {},
  };
}

/** A 127.0.0.1 server the network task tries to reach. */
async function listen(left: Leftovers): Promise<number> {
  const server: Server = createServer((c) => c.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  left.defer(() => new Promise((resolve) => server.close(resolve)));
  return (server.address() as { port: number }).port;
}

describe('hostile executors inside the sandbox (sandbox: bwrap)', () => {
  const left = cleanUpAfterAll();
  const marker = sleepMarker(300);
  left.markers.push(marker);
  let run: Run;

  beforeAll(async () => {
    run = await runHostile(left, { mode: 'bwrap', port: await listen(left), marker });
  }, 120_000);

  it('says it runs sandboxed, and the good task next to the hostile ones is done', async () => {
    expect(run.daemonStart.sandbox).toBe('bwrap, no network for commands');
    expect(await run.status('001-good')).toEqual({ status: 'done', error: undefined });
  });

  it('cannot read a canary ~/.ssh/id_rsa: HOME is private', async () => {
    expect(await run.status('002-reads-ssh')).toMatchObject({ status: 'failed', error: expect.stringMatching(/exit 1.*No such file/) });
    expect(await run.log('002-reads-ssh')).not.toContain(CANARY);
  });

  it("cannot write the user's checkout, another pooled worktree or /etc", async () => {
    for (const id of ['003-writes-checkout', '004-writes-other-worktree', '005-writes-etc']) {
      const { status, error } = await run.status(id);
      expect({ id, status, error }).toEqual({
        id,
        status: 'failed',
        error: expect.stringMatching(/exit [12]\b.*(Read-only file system|No such file|Directory nonexistent)/),
      });
    }
    await expect(run.sb.read('pwned.txt')).rejects.toThrow();
    expect(existsSync(ETC_FILE)).toBe(false);
  });

  it("cannot signal the daemon: its pid is not in the sandbox's pid namespace", async () => {
    expect(await run.status('006-signals-daemon')).toMatchObject({ status: 'failed', error: expect.stringMatching(/No such process/) });
  });

  it('leaves no process running after the attempt, even detached, out of the worktree and unmarked', async () => {
    expect(await run.status('007-leaves-process')).toMatchObject({ status: 'done' });
    expect(await livePidsMatching(marker)).toEqual([]);
  });

  it('cannot reach 127.0.0.1 with sandbox_network: none', async () => {
    expect(await run.status('008-reaches-localhost')).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/ECONNREFUSED|ENETUNREACH/),
    });
  });

  it('runs setup and test sandboxed too: writing the checkout from them fails', async () => {
    expect(await run.status('009-setup-writes-checkout')).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/^setup failed/),
    });
    expect(await run.status('010-test-writes-checkout')).toMatchObject({ status: 'failed', error: expect.stringMatching(/^tests failed/) });
    expect(await run.log('010-test-writes-checkout')).toMatch(/from-test\.txt: Read-only file system/);
    for (const file of ['from-setup.txt', 'from-test.txt']) expect(existsSync(join(run.sb.repo, file))).toBe(false);
  });
});

describe('the same hostile executors without the sandbox (sandbox: none): why it is on by default', () => {
  const left = cleanUpAfterAll();
  const marker = sleepMarker(300);
  left.markers.push(marker);
  let run: Run;

  beforeAll(async () => {
    run = await runHostile(left, { mode: 'none', port: await listen(left), marker });
  }, 120_000);

  it('says it runs unsandboxed and why', () => {
    expect(run.daemonStart.sandbox).toBe('none (rules.md says sandbox: none)');
  });

  it('reads the ssh key and commits it on the task branch', async () => {
    expect(await run.status('002-reads-ssh')).toMatchObject({ status: 'done' });
    expect(await run.sb.git(['show', 'nightshift/002-reads-ssh:stolen.txt'])).toBe(`${CANARY}\n`);
  });

  it("writes the user's checkout, another pooled worktree and /etc", async () => {
    for (const id of ['003-writes-checkout', '004-writes-other-worktree', '005-writes-etc'])
      expect({ id, ...(await run.status(id)) }).toMatchObject({ id, status: 'done' });
    expect(await run.sb.read('pwned.txt')).toBe('pwned\n');
    expect(await readFile(ETC_FILE, 'utf8')).toBe('pwned\n');
  });

  it('may signal the daemon (signal 0 here: a real one would stop this test)', async () => {
    expect(await run.status('006-signals-daemon')).toMatchObject({ status: 'done' });
  });

  it('leaves a detached process running after the attempt (out of its group, worktree and marker)', async () => {
    expect(await run.status('007-leaves-process')).toMatchObject({ status: 'done' });
    expect(await livePidsMatching(marker)).toHaveLength(1);
  });

  it('reaches 127.0.0.1 (sandbox_network needs the sandbox)', async () => {
    expect(await run.status('008-reaches-localhost')).toMatchObject({ status: 'done' });
  });

  it('lets setup and test write the checkout', async () => {
    for (const id of ['009-setup-writes-checkout', '010-test-writes-checkout'])
      expect({ id, ...(await run.status(id)) }).toMatchObject({ id, status: 'done' });
    expect(await run.sb.read('from-setup.txt')).toBe('pwned\n');
    expect(await run.sb.read('from-test.txt')).toBe('pwned\n');
  });
});
