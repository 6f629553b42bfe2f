import { describe, it, type TestContext } from 'vitest';
import { cleanUpAfterTest } from '../helpers/cleanup.js';
import { agentTestEnv, codexTestProviderArgs } from '../helpers/agentRun.js';
import { startModelServer, USAGE, type ModelServer, type Turn } from '../helpers/modelServer.js';
import { progressEvents, taskText, type Sandbox } from '../helpers/repo.js';
import { readTask } from '../helpers/task.js';

/**
 * The real Claude Code and Codex CLIs (the pinned devDependencies) driven through whole nightshift
 * tasks by the built CLI, offline: each talks only to the scripted model server on 127.0.0.1, which
 * asks it to write hello.txt with its own tool, or fails the way a provider fails.
 */

const WRITE_HELLO: Turn[] = [
  { kind: 'write-file', path: 'hello.txt', content: 'hello from the agent\n' },
  { kind: 'final', text: 'I wrote hello.txt.' },
];

type Cli = 'claude' | 'codex';

interface AgentSetup {
  sb: Sandbox;
  server: ModelServer;
  env: NodeJS.ProcessEnv;
}

/**
 * A sandbox whose rules.md runs `cli`, with the model server answering `script`; both go when the test
 * ends. The CLIs' own retries are off so a failing server fails at once, and their homes are the sandbox's.
 */
async function setup(t: TestContext, cli: Cli, script: Turn[], more: { rules?: string; executors?: string } = {}): Promise<AgentSetup> {
  const left = cleanUpAfterTest(t);
  const server = await startModelServer(script);
  left.defer(() => server.close());
  const codexArgs = cli === 'codex' ? `  codex:\n    args: ${JSON.stringify(codexTestProviderArgs(server.url))}\n` : '';
  const executors = codexArgs || more.executors ? `executors:\n${codexArgs}${more.executors ?? ''}` : '';
  const rules = `---\nexecutor: ${cli}\ntest: grep -q hello hello.txt\nmax_attempts: 1\n${more.rules ?? ''}${executors}---\nBe brief.\n`;
  const sb = await left.sandbox({ rules });
  const env = await agentTestEnv(server.url, sb.dir);
  return { sb, server, env };
}

async function runOnce(a: AgentSetup, id: string, title: string) {
  await a.sb.write(`tasks/${id}.md`, taskText({ title }, '# Goal\n\nWrite hello.txt saying hello.\n'));
  const r = await a.sb.cli(['daemon', 'start', '--once'], { env: a.env });
  const { fm } = await readTask(a.sb, id);
  const events = progressEvents(await a.sb.read('progress.txt'));
  return { r, fm, events };
}

/** What one model turn of the server costs in tokens, as each CLI adds it up (see the adapters). */
const TOKENS_PER_TURN: Record<Cli, number> = {
  claude: USAGE.input + USAGE.output + USAGE.cacheRead + USAGE.cacheWrite,
  codex: USAGE.input + USAGE.output,
};

// The tests mostly wait (on CLI start-up, a stall timeout, kill grace): running them side by side keeps
// the file's wall time down without loading the machine much.
describe.concurrent.each(['claude', 'codex'] as const)('executor: %s, the real CLI against the scripted model server', (cli) => {
  it('edits the worktree with a real tool call; nightshift tests, commits and records the tokens it reported', async (t) => {
    const { expect } = t;
    const a = await setup(t, cli, WRITE_HELLO);
    const { r, fm, events } = await runOnce(a, '001-hello', 'Say hello');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);

    expect(fm).toMatchObject({ status: 'done', attempts: 1, tokens: 2 * TOKENS_PER_TURN[cli] });
    if (cli === 'claude') expect(fm.cost_usd).toBeGreaterThan(0);
    else expect(fm.cost_usd).toBeUndefined();
    expect(await a.sb.git(['show', `${String(fm.commit)}:hello.txt`])).toBe('hello from the agent\n');
    expect(events.find((e) => e.event === 'done')?.fields).toMatchObject({ tokens: String(2 * TOKENS_PER_TURN[cli]) });

    // Two model turns: the tool call, then (after the tool's result went back) the final message.
    const calls = a.server.modelRequests();
    expect(calls.map((c) => c.url)).toEqual(
      cli === 'claude' ? ['/v1/messages?beta=true', '/v1/messages?beta=true'] : ['/v1/responses', '/v1/responses'],
    );
    // The prompt nightshift saved is what the CLI got on stdin.
    const prompt = await a.sb.read('.nightshift/logs/001-hello/1.prompt.md');
    expect(JSON.stringify(calls[0]?.body)).toContain(JSON.stringify('Write hello.txt saying hello.').slice(1, -1));
    expect(prompt).toContain('Write hello.txt saying hello.');
    expect(await a.sb.read('.nightshift/logs/001-hello/1.log')).toContain(`executor ${cli} finished: I wrote hello.txt.`);
  });

  it('401: the task is blocked as an auth infra failure, no attempt used, the executor parked', async (t) => {
    const { expect } = t;
    const a = await setup(t, cli, [{ kind: 'error', status: 401 }]);
    const { r, fm, events } = await runOnce(a, '002-auth', 'Logged out');
    expect(r.code).toBe(1);
    expect(fm).toMatchObject({ status: 'blocked', attempts: 0 });
    expect(String(fm.error)).toContain(`${cli} could not run (auth)`);
    expect(events.find((e) => e.event === 'executor-parked')?.fields).toMatchObject({ executor: cli, cause: 'auth', until: 'restart' });
    expect(a.server.modelRequests().length).toBeGreaterThanOrEqual(1);
  });

  it('401 with a fallback: the command executor in rules.md fallback does the task', async (t) => {
    const { expect } = t;
    const a = await setup(t, cli, [{ kind: 'error', status: 401 }], {
      rules: 'fallback: [writer]\n',
      executors: '  writer: { command: ["sh", "-c", "echo hello from the fallback > hello.txt"] }\n',
    });
    const { r, fm, events } = await runOnce(a, '003-fallback', 'Fall back');
    expect(r.code).toBe(0);
    expect(fm).toMatchObject({ status: 'done', attempts: 1 });
    expect(await a.sb.git(['show', `${String(fm.commit)}:hello.txt`])).toBe('hello from the fallback\n');
    expect(events.find((e) => e.event === 'fallback')?.fields).toMatchObject({ from: cli, to: 'writer' });
  });

  it('500 (after the CLI gave up retrying): a server infra failure, no attempt used; the executor rests and the task waits in the queue', async (t) => {
    const { expect } = t;
    const a = await setup(t, cli, [{ kind: 'error', status: 500 }]);
    const before = Date.now();
    const { r, fm, events } = await runOnce(a, '004-down', 'Provider down');
    // --once does not wait out the rest; a task left undone is not a success.
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('1 waiting for a parked executor');
    expect(fm).toMatchObject({ status: 'queued', attempts: 0 });
    expect(String(fm.error)).toContain(`${cli} could not run (server)`);
    const parked = events.find((e) => e.event === 'executor-parked')?.fields;
    expect(parked).toMatchObject({ executor: cli, cause: 'server' });
    // An outage passes by itself: parked for a while (10 minutes), not until a restart.
    const until = Date.parse(String(parked?.until));
    expect(until - before).toBeGreaterThan(9 * 60_000);
    expect(until - Date.now()).toBeLessThanOrEqual(10 * 60_000);
  });

  it('a server that never answers: the CLI is killed by stall_timeout', async (t) => {
    const { expect } = t;
    // Long enough for a CLI to start and send its request on a loaded machine (Claude Code prints
    // nothing until it has), short enough to keep the test quick.
    const a = await setup(t, cli, [{ kind: 'hang' }], { rules: 'stall_timeout: 10s\n' });
    const { r, fm } = await runOnce(a, '005-hang', 'Hang');
    expect(r.code).toBe(1);
    expect(fm).toMatchObject({ status: 'failed', attempts: 1, error: `executor ${cli} stalled: no output for 10s, stopped` });
    expect(
      a.server.modelRequests().map((q) => q.url),
      JSON.stringify(a.server.requests.map((q) => [q.method, q.url])),
    ).toHaveLength(1);
  });
});
