import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { codex, interpretCodex } from '../../src/exec/agents/codex.js';
import { agentNamed } from '../../src/exec/agents/index.js';
import { codexTestProviderArgs, runAdapter } from '../helpers/agentRun.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { startModelServer, USAGE } from '../helpers/modelServer.js';

const FIXTURES = resolve(import.meta.dirname, '../fixtures/agents');
const fixture = (name: string) => readFile(join(FIXTURES, `${name}.jsonl`), 'utf8');

describe('codex adapter: invocation', () => {
  it('is registered and builds an exec argv reading the prompt from stdin, with no network extras', () => {
    expect(agentNamed('codex')).toBe(codex);
    const inv = codex.invocation({
      promptFile: '/p/prompt.md',
      promptBytes: 10,
      worktree: '/w',
      options: { model: 'gpt-6-sol', args: ['-c', 'model_reasoning_effort="low"'] },
    });
    expect(inv.argv).toEqual([
      'codex',
      'exec',
      '--json',
      '--skip-git-repo-check',
      '-s',
      'workspace-write',
      '--disable',
      'apps',
      '--disable',
      'plugins',
      '-c',
      'analytics.enabled=false',
      '-c',
      'check_for_update_on_startup=false',
      '--model',
      'gpt-6-sol',
      '-c',
      'model_reasoning_effort="low"',
      '-',
    ]);
    expect(inv.stdin).toBe('prompt');
  });
});

describe('codex adapter: recorded outputs of Codex 0.169.0', () => {
  it('success: tokens are input + output of the turns (cached and reasoning tokens are already inside)', async () => {
    // The fixture's turn.completed: input_tokens 200 (cached 14 among them), output_tokens 40.
    expect(interpretCodex(await fixture('codex-success'), { code: 0 })).toEqual({
      kind: 'success',
      usage: { tokens: 240 },
      message: 'Wrote hello.txt.',
    });
  });

  it('401 is an auth infra failure (its reconnect notices are not the verdict)', async () => {
    const v = interpretCodex(await fixture('codex-401'), { code: 1 });
    expect(v).toMatchObject({ kind: 'infra-failure', cause: 'auth' });
    expect(v.kind === 'infra-failure' && v.reason).toMatch(/^unexpected status 401 Unauthorized/);
  });

  it('500 after its own retries is a server infra failure', async () => {
    const v = interpretCodex(await fixture('codex-500'), { code: 1 });
    expect(v).toMatchObject({
      kind: 'infra-failure',
      cause: 'server',
      reason: 'We’re currently experiencing high demand, which may cause temporary errors.',
    });
  });

  it('429 is a rate limit', async () => {
    expect(interpretCodex(await fixture('codex-429-rate-limit'), { code: 1 })).toMatchObject({
      kind: 'infra-failure',
      cause: 'rate-limit',
      reason: 'exceeded retry limit, last status: 429 Too Many Requests',
    });
  });

  it('a usage limit carries the reset time Codex names ("try again at 6:58 PM", local time)', async () => {
    const text = await fixture('codex-usage-limit');
    const now = new Date(2026, 10, 21, 16, 58);
    expect(interpretCodex(text, { code: 1 }, now)).toMatchObject({
      kind: 'infra-failure',
      cause: 'usage-limit',
      resetAt: new Date(2026, 10, 21, 18, 58),
    });
    // Past 6:58 PM already: tomorrow's.
    expect(interpretCodex(text, { code: 1 }, new Date(2026, 10, 21, 19, 0))).toMatchObject({ resetAt: new Date(2026, 10, 22, 18, 58) });
    // A reset days away comes with its date (Codex's "%b %-d, %Y %-I:%M %p").
    const later = text.replace(/try again at 6:58 PM/g, 'try again at Nov 24, 2026 9:05 AM');
    expect(interpretCodex(later, { code: 1 }, now)).toMatchObject({ cause: 'usage-limit', resetAt: new Date(2026, 10, 24, 9, 5) });
  });

  it('a failed turn for other reasons is a task failure; no verdict at all is decided by the exit', () => {
    const failed = [
      '{"type":"turn.started"}',
      '{"type":"turn.failed","error":{"message":"Codex ran out of room in the model\'s context window."}}',
    ].join('\n');
    expect(interpretCodex(failed, { code: 1 })).toEqual({
      kind: 'task-failure',
      reason: "codex: Codex ran out of room in the model's context window.",
      usage: {},
      message: undefined,
    });
    expect(interpretCodex('No prompt provided via stdin.\n', { code: 1 })).toEqual({
      kind: 'task-failure',
      reason: 'codex exited with code 1 without finishing its turn: No prompt provided via stdin.',
      usage: {},
      message: undefined,
    });
    expect(interpretCodex('{"type":"thread.started","thread_id":"x"}\n{"type":"turn.started"}\n', { signal: 'SIGTERM' })).toMatchObject({
      kind: 'task-failure',
      reason: 'codex exited on SIGTERM without finishing its turn',
    });
  });
});

describe('codex adapter: the real CLI with its own argv', () => {
  const left = cleanUpAfterEach();

  // Its own sandbox bypassed, as inside nightshift's: with bubblewrap installed, Codex 0.169's own sandbox
  // cannot start its helper under this temporary CODEX_HOME (see sandbox-agents.test.ts).
  it('runs exec_command to write the file and reports the server-side usage', async () => {
    const server = await startModelServer([
      { kind: 'write-file', path: 'hello.txt', content: 'hi\n' },
      { kind: 'final', text: 'Done.' },
    ]);
    left.defer(() => server.close());
    const run = await runAdapter(
      codex,
      'Write hello.txt.',
      { args: [...codexTestProviderArgs(server.url), '--dangerously-bypass-approvals-and-sandbox'] },
      { NIGHTSHIFT_TEST_MODEL_KEY: 'sk-test-not-a-secret' },
    );
    left.defer(run.cleanup);
    expect(await readFile(join(run.worktree, 'hello.txt'), 'utf8')).toBe('hi\n');
    expect(codex.interpret(run.output, run.exit)).toEqual({
      kind: 'success',
      message: 'Done.',
      usage: { tokens: 2 * (USAGE.input + USAGE.output) },
    });
    const calls = server.modelRequests();
    expect(calls.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /v1/responses', 'POST /v1/responses']);
    expect(calls[0]?.headers.authorization).toBe('Bearer sk-test-not-a-secret');
    // The shell tool the server calls is really offered under that name, with a `cmd` argument.
    const tools = (calls[0]?.body as { tools: Array<{ name?: string; parameters?: { properties?: object } }> }).tools;
    expect(tools.find((t) => t.name === 'exec_command')?.parameters?.properties).toHaveProperty('cmd');
    expect(JSON.stringify(calls[1]?.body)).toContain('"call_id":"call_0"');
  });
});
