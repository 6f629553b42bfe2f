import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, readdir, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
export const BIN = resolve(import.meta.dirname, '../../bin/nightshift.js');

export interface Sandbox {
  /** Temp folder holding everything below; removed by cleanup(). */
  dir: string;
  /** The user's repository (branch main, user set, gc.auto 0). */
  repo: string;
  /** A bare repository registered as `origin`. */
  remote: string;
  /** XDG_CACHE_HOME for the CLI, so worktrees land inside the sandbox. */
  cache: string;
  env: NodeJS.ProcessEnv;
  git(args: string[], cwd?: string): Promise<string>;
  /** Runs the built CLI in the repo; never throws, returns exit code and output. */
  cli(args: string[], opts?: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<CliResult>;
  write(path: string, text: string | Buffer): Promise<void>;
  read(path: string): Promise<string>;
  cleanup(): Promise<void>;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A real git repository with a bare remote in a temp folder, committed rules.md optional. */
export async function makeSandbox(opts: { rules?: string; files?: Record<string, string> } = {}): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'nightshift-test-'));
  const repo = join(dir, 'repo');
  const remote = join(dir, 'remote.git');
  const cache = join(dir, 'cache');
  const home = join(dir, 'home');
  await mkdir(repo);
  await mkdir(home);
  // An isolated git config: no user-level hooks, signing or aliases leak into the tests.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    XDG_CACHE_HOME: cache,
    XDG_CONFIG_HOME: join(home, '.config'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_DATE: undefined,
    GIT_COMMITTER_DATE: undefined,
    NIGHTSHIFT_WORKTREES: undefined,
  };
  const git = async (args: string[], cwd = repo) => (await execFileP('git', args, { cwd, env })).stdout;
  await git(['init', '--quiet', '--bare', '--initial-branch=main', remote], dir);
  await git(['init', '--quiet', '--initial-branch=main']);
  await git(['config', 'user.name', 'Test User']);
  await git(['config', 'user.email', 'test@example.invalid']);
  await git(['config', 'gc.auto', '0']);
  await git(['config', 'commit.gpgsign', 'false']);
  await writeFile(join(repo, '.gitignore'), '.nightshift/\nprogress.txt\n');
  await writeFile(join(repo, 'README.md'), '# test project\n');
  if (opts.rules !== undefined) await writeFile(join(repo, 'rules.md'), opts.rules);
  for (const [path, text] of Object.entries(opts.files ?? {})) {
    await mkdir(join(repo, path, '..'), { recursive: true });
    await writeFile(join(repo, path), text);
  }
  await git(['add', '--all']);
  await git(['commit', '--quiet', '-m', 'initial']);
  await git(['remote', 'add', 'origin', remote]);
  await git(['push', '--quiet', 'origin', 'main']);
  await mkdir(join(repo, 'tasks'), { recursive: true });

  const sandbox: Sandbox = {
    dir,
    repo,
    remote,
    cache,
    env,
    git,
    cli: (args, o = {}) => runCli(args, o.cwd ?? repo, { ...env, ...o.env }, o.timeoutMs),
    write: async (path, text) => {
      await mkdir(join(repo, path, '..'), { recursive: true });
      await writeFile(join(repo, path), text);
    },
    read: (path) => readFile(join(repo, path), 'utf8'),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
  return sandbox;
}

export function runCli(args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

/** A task file's text from frontmatter fields and a body. */
export function taskText(fields: Record<string, unknown>, body = '# Goal\n\nDo the thing.\n'): string {
  const lines = Object.entries(fields).map(([k, v]) => `${k}: ${typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v)}`);
  return `---\n${lines.join('\n')}\n---\n${body}`;
}

/** Parses progress.txt lines into { id, event, fields }. */
export function progressEvents(text: string): Array<{ time: string; id: string; event: string; fields: Record<string, string> }> {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const m = /^(\S+) (\S+) (\S+)(.*)$/.exec(line);
      if (!m) throw new Error(`bad progress line: ${line}`);
      const fields: Record<string, string> = {};
      for (const f of (m[4] ?? '').matchAll(/ ([a-z_]+)=("(?:[^"\\]|\\.)*"|\S+)/g)) {
        const raw = f[2] as string;
        fields[f[1] as string] = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
      }
      return { time: m[1] as string, id: m[2] as string, event: m[3] as string, fields };
    });
}

/** Every regular file under `dir`, at any depth, as full paths. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full)));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}
