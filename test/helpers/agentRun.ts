import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import type { AgentAdapter, AgentExit, AgentOptions } from '../../src/exec/agents/types.js';

/** node_modules/.bin, where the pinned Claude Code and Codex devDependencies put `claude` and `codex`. */
export const NODE_BIN = resolve(import.meta.dirname, '../../node_modules/.bin');

/** PATH with the pinned agent CLIs first. */
export function pathWithAgents(): string {
  return [NODE_BIN, process.env.PATH ?? ''].join(delimiter);
}

export interface AgentRun {
  output: string;
  exit: AgentExit;
  worktree: string;
}

/**
 * Runs an adapter's invocation the way an attempt does (argv, prompt on stdin, its env on top of ours)
 * in a fresh git repository, with an isolated HOME. Output is stdout and stderr interleaved, like the
 * attempt's transcript.
 */
export async function runAdapter(
  adapter: AgentAdapter,
  prompt: string,
  options: AgentOptions,
  env: Record<string, string>,
): Promise<AgentRun & { cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `nightshift-${adapter.name}-`));
  const worktree = join(dir, 'wt');
  const home = join(dir, 'home');
  await mkdir(worktree);
  await mkdir(join(home, '.codex'), { recursive: true });
  const promptFile = join(dir, 'prompt.md');
  await writeFile(promptFile, prompt);
  await new Promise<void>((done, fail) =>
    spawn('git', ['init', '-q', worktree]).on('close', (c) => (c === 0 ? done() : fail(new Error('git init failed')))),
  );
  const inv = adapter.invocation({ promptFile, promptBytes: Buffer.byteLength(prompt), worktree, options });
  const [file, ...args] = inv.argv;
  const child = spawn(file, args, {
    cwd: worktree,
    env: { PATH: pathWithAgents(), HOME: home, CODEX_HOME: join(home, '.codex'), ...env, ...inv.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
  child.stdin.end(inv.stdin === 'prompt' ? await readFile(promptFile) : '');
  const exit = await new Promise<AgentExit>((done) => child.on('close', (code, signal) => done(signal ? { signal } : { code: code ?? 1 })));
  return { output, exit, worktree, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Codex's settings for the test model server: a custom Responses-API provider reading its key from
 * NIGHTSHIFT_TEST_MODEL_KEY, with the CLI's own retries off so failures show up at once.
 */
export function codexTestProviderArgs(url: string): string[] {
  const p = 'model_providers.nstest';
  return [
    '-c',
    'model_provider=nstest',
    '-c',
    `${p}.name="nightshift test server"`,
    '-c',
    `${p}.base_url="${url}/v1"`,
    '-c',
    `${p}.wire_api="responses"`,
    '-c',
    `${p}.env_key="NIGHTSHIFT_TEST_MODEL_KEY"`,
    '-c',
    `${p}.request_max_retries=0`,
    '-c',
    `${p}.stream_max_retries=0`,
    '--model',
    'test-model',
  ];
}

/**
 * The environment a daemon driving the real Claude Code and Codex against the scripted model server runs
 * with: the pinned CLIs first on PATH, both pointed at `serverUrl`, no retries, a fresh CODEX_HOME in `dir`.
 */
export async function agentTestEnv(serverUrl: string, dir: string): Promise<NodeJS.ProcessEnv> {
  const codexHome = join(dir, 'codex-home');
  await mkdir(codexHome, { recursive: true });
  return {
    PATH: pathWithAgents(),
    ANTHROPIC_BASE_URL: serverUrl,
    ANTHROPIC_API_KEY: 'sk-test-not-a-secret',
    CLAUDE_CODE_MAX_RETRIES: '0',
    CODEX_HOME: codexHome,
    NIGHTSHIFT_TEST_MODEL_KEY: 'sk-test-not-a-secret',
  };
}
