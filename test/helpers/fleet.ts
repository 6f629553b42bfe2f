import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Leftovers } from './cleanup.js';
import { startGitDaemon, type GitServer } from './gitDaemon.js';
import { BIN, taskText } from './repo.js';

const execFileP = promisify(execFile);

/** One "machine" of a fleet: its own clone, HOME, worktree root and daemon process. */
export interface Machine {
  name: string;
  clone: string;
  /** Where its worktrees live (its own XDG cache). */
  cache: string;
  env: NodeJS.ProcessEnv;
  daemon: ChildProcess | undefined;
  /** Starts `nightshift daemon start` (watch mode) in the clone. */
  start(extraEnv?: NodeJS.ProcessEnv): void;
  /** SIGTERM, then waits for the daemon to exit. */
  stop(): Promise<void>;
  /** kill -9 the daemon and every process working in its clone or worktrees (its executors). */
  kill9(): Promise<void>;
  git(args: string[]): Promise<string>;
}

export interface Fleet {
  dir: string;
  /** The bare repository the git daemon serves. */
  remote: string;
  server: GitServer;
  /** One line per executor run: "<task id> <worktree>". */
  ledger: string;
  machines: Machine[];
  /** git in the bare remote. */
  remoteGit(args: string[]): Promise<string>;
  /** The remote's status refs: task id to status record. */
  statuses(): Promise<Map<string, { status: string; holder: string; commit?: string }>>;
  /** Task id to the number of commits on the remote carrying its Nightshift-Task trailer. */
  trailerCommits(): Promise<Map<string, number>>;
  ledgerLines(): Promise<string[]>;
}

export interface FleetOptions {
  machines: number;
  /** rules.md's frontmatter lines (queue: remote etc.). */
  rules: string;
  /** Task ids and the shell each runs after appending to the ledger (default: writes <id>.txt; {ledger} is its path). */
  tasks: Array<{ id: string; then?: string }>;
}

/**
 * A fleet on 127.0.0.1: a bare repository with rules.md and the tasks on `main`, served by a real git daemon,
 * and `machines` clones of it. Every process it starts is killed by the test's cleanup.
 */
export async function makeFleet(left: Leftovers, opts: FleetOptions): Promise<Fleet> {
  const dir = await left.tempDir('nightshift-fleet-');
  const remote = join(dir, 'remote.git');
  const ledger = join(dir, 'ledger');
  const baseEnv: NodeJS.ProcessEnv = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', NIGHTSHIFT_WORKTREES: undefined };
  const git = async (args: string[], cwd: string, env = baseEnv) => (await execFileP('git', args, { cwd, env })).stdout;
  await git(['init', '--quiet', '--bare', '--initial-branch=main', remote], dir);
  const seed = join(dir, 'seed');
  await mkdir(join(seed, 'tasks'), { recursive: true });
  await git(['init', '--quiet', '--initial-branch=main'], seed);
  await writeFile(join(seed, '.gitignore'), '.nightshift/\nprogress.txt\n');
  await writeFile(join(seed, 'rules.md'), `---\n${opts.rules}\n---\nRules.\n`);
  for (const t of opts.tasks) {
    const run = `echo "$NIGHTSHIFT_TASK_ID $PWD" >> ${ledger} && ${(t.then ?? `echo ${t.id} > ${t.id}.txt`).replaceAll('{ledger}', ledger)}`;
    await writeFile(join(seed, 'tasks', `${t.id}.md`), taskText({ title: t.id, run }));
  }
  const who = ['-c', 'user.name=Planner', '-c', 'user.email=planner@example.invalid'];
  await git(['add', '--all'], seed);
  await git([...who, 'commit', '--quiet', '-m', 'queue'], seed);
  await git(['push', '--quiet', remote, 'main'], seed);

  const server = await startGitDaemon(dir, 'remote.git');
  const machines: Machine[] = [];
  left.defer(async () => {
    for (const m of machines) await m.kill9();
    await server.stop();
  });
  for (let i = 0; i < opts.machines; i++) machines.push(await makeMachine(dir, `m${i}`, server.url('remote.git'), baseEnv));

  return {
    dir,
    remote,
    server,
    ledger,
    machines,
    remoteGit: (args) => git(args, remote),
    async statuses() {
      const out = await git(['for-each-ref', '--format=%(refname)%00%(contents)%00%00', 'refs/nightshift/status/'], remote);
      const map = new Map<string, { status: string; holder: string; commit?: string }>();
      for (const record of out.split('\0\0')) {
        const [ref, body] = record.replace(/^\n/, '').split('\0');
        if (!ref || body === undefined) continue;
        map.set(
          ref.slice('refs/nightshift/status/'.length),
          JSON.parse(body.slice(body.indexOf('\n\n') + 2)) as { status: string; holder: string },
        );
      }
      return map;
    },
    async trailerCommits() {
      const out = await git(['log', '--all', '--format=%(trailers:key=Nightshift-Task,valueonly,separator=%x2C)'], remote);
      const counts = new Map<string, number>();
      for (const id of out
        .split('\n')
        .flatMap((l) => l.split(','))
        .map((s) => s.trim())
        .filter(Boolean)) {
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      return counts;
    },
    async ledgerLines() {
      return (await readFile(ledger, 'utf8').catch(() => '')).split('\n').filter(Boolean);
    },
  };
}

async function makeMachine(dir: string, name: string, url: string, baseEnv: NodeJS.ProcessEnv): Promise<Machine> {
  const clone = join(dir, name);
  const home = join(dir, `${name}-home`);
  const cache = join(dir, `${name}-cache`);
  await mkdir(home);
  const env: NodeJS.ProcessEnv = { ...baseEnv, HOME: home, XDG_CACHE_HOME: cache, XDG_CONFIG_HOME: join(home, '.config') };
  const git = async (args: string[]) => (await execFileP('git', args, { cwd: clone, env })).stdout;
  await execFileP('git', ['clone', '--quiet', url, clone], { env });
  await git(['config', 'user.name', `Machine ${name}`]);
  await git(['config', 'user.email', `${name}@example.invalid`]);
  await git(['config', 'gc.auto', '0']);
  const machine: Machine = {
    name,
    clone,
    cache,
    env,
    daemon: undefined,
    git,
    start(extraEnv = {}) {
      // Its own process group, as a daemon started from a shell on another machine would be.
      const child = spawn(process.execPath, [BIN, 'daemon', 'start'], {
        cwd: clone,
        env: { ...env, ...extraEnv },
        stdio: 'ignore',
        detached: true,
      });
      machine.daemon = child;
    },
    async stop() {
      const child = machine.daemon;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
    async kill9() {
      const child = machine.daemon;
      if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        signal(-child.pid);
        await exited;
      }
      // Executors run in process groups of their own: found by where they work.
      for (const pid of await pidsWorkingIn([clone, cache])) signal(pid);
    },
  };
  return machine;
}

function signal(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Live processes whose working directory is under one of `dirs` (Linux /proc). */
async function pidsWorkingIn(dirs: string[]): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cwd = await readlink(`/proc/${name}/cwd`).catch(() => undefined);
    if (cwd && dirs.some((d) => cwd === d || cwd.startsWith(`${d}/`))) pids.push(Number(name));
  }
  return pids;
}
