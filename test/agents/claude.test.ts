import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { claude, interpretClaude } from '../../src/exec/agents/claude.js';
import { agentNamed } from '../../src/exec/agents/index.js';
import { runAdapter } from '../helpers/agentRun.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { startModelServer, USAGE } from '../helpers/modelServer.js';

const FIXTURES = resolve(import.meta.dirname, '../fixtures/agents');
const fixture = (name: string) => readFile(join(FIXTURES, `${name}.jsonl`), 'utf8');

describe('claude adapter: invocation', () => {
  it('is registered and builds an argv with the prompt on stdin, model and extra args after its own flags', () => {
    expect(agentNamed('claude')).toBe(claude);
    const inv = claude.invocation({
      promptFile: '/p/prompt.md',
      promptBytes: 10,
      worktree: '/w',
      options: { model: 'claude-sonnet-5-5', args: ['--allowedTools', 'Bash(npm test)'] },
    });
    expect(inv.argv).toEqual([
      'claude',
      '-p',
      '--output-format',
      'stream-json',
      '--verbose',
      '--permission-mode',
      'acceptEdits',
      '--model',
      'claude-sonnet-5-5',
      '--allowedTools',
      'Bash(npm test)',
    ]);
    expect(inv.stdin).toBe('prompt');
    expect(inv.env).toEqual({ CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', DISABLE_AUTOUPDATER: '1' });
    // Never the prompt itself on the command line.
    expect(
      claude.invocation({ promptFile: '/p', promptBytes: 300_000, worktree: '/w', options: { args: [] } }).argv.join(' '),
    ).not.toContain('/p');
  });
});

describe('claude adapter: recorded outputs of Claude Code 2.1.330', () => {
  it('success: tokens are input + output + cache writes + cache reads, cost and final message as reported', async () => {
    const v = interpretClaude(await fixture('claude-success'), { code: 0 });
    // The fixture's result line: input 200, output 40, cache_creation 6, cache_read 14, total_cost_usd 0.0016328.
    expect(v).toEqual({ kind: 'success', usage: { tokens: 260, costUsd: 0.0016328000000000002 }, message: 'Wrote hello.txt.' });
  });

  it('401 is an auth infra failure', async () => {
    const v = interpretClaude(await fixture('claude-401'), { code: 1 });
    expect(v).toMatchObject({
      kind: 'infra-failure',
      cause: 'auth',
      reason: 'Failed to authenticate. API Error: 401 authentication_error',
    });
  });

  it('not logged in is an auth infra failure', async () => {
    const v = interpretClaude(await fixture('claude-not-logged-in'), { code: 1 });
    expect(v).toMatchObject({ kind: 'infra-failure', cause: 'auth', reason: 'Not logged in · Please run /login' });
  });

  it('500 after its own retries is a server infra failure', async () => {
    const v = interpretClaude(await fixture('claude-500'), { code: 1 });
    expect(v).toMatchObject({ kind: 'infra-failure', cause: 'server' });
    expect(v.kind === 'infra-failure' && v.reason).toContain('API Error: 500');
  });

  it('429 is a rate limit (an API key gets no reset time)', async () => {
    const v = interpretClaude(await fixture('claude-429-rate-limit'), { code: 1 });
    expect(v).toMatchObject({ kind: 'infra-failure', cause: 'rate-limit', resetAt: undefined });
  });

  it('a refused connection is a network infra failure', async () => {
    const v = interpretClaude(await fixture('claude-connection-refused'), { code: 1 });
    expect(v).toMatchObject({ kind: 'infra-failure', cause: 'network' });
  });

  it('a subscription limit takes its reset time from the rate_limit_event line', () => {
    // Shapes from Claude Code's own source (a subscription limit cannot be provoked with an API key):
    // the SDK's rate_limit_event and the result of a refused turn.
    const resetsAt = 1_795_300_000;
    const output = [
      JSON.stringify({ type: 'rate_limit_event', rate_limit_info: { status: 'rejected', resetsAt, rateLimitType: 'five_hour' } }),
      JSON.stringify({
        type: 'result',
        subtype: 'success',
        is_error: true,
        api_error_status: 429,
        result: "You've hit your session limit · resets 7pm (UTC)",
        total_cost_usd: 0,
        usage: { input_tokens: 0, output_tokens: 0 },
      }),
    ].join('\n');
    const v = interpretClaude(output, { code: 1 });
    expect(v).toMatchObject({ kind: 'infra-failure', cause: 'usage-limit', resetAt: new Date(resetsAt * 1000) });
    // Without the event, the "resets 7pm" words give the next 7 pm.
    const now = new Date(2026, 10, 21, 16, 0);
    const words = interpretClaude(output.split('\n')[1] as string, { code: 1 }, now);
    expect(words).toMatchObject({ kind: 'infra-failure', cause: 'usage-limit', resetAt: new Date(2026, 10, 21, 19, 0) });
  });

  it('an error that is not about the API is a task failure with the agent message', () => {
    const output = JSON.stringify({
      type: 'result',
      subtype: 'error_max_turns',
      is_error: true,
      api_error_status: null,
      result: 'Reached the maximum number of turns',
      total_cost_usd: 0.5,
      usage: { input_tokens: 10, output_tokens: 5 },
    });
    expect(interpretClaude(output, { code: 1 })).toEqual({
      kind: 'task-failure',
      reason: 'claude: Reached the maximum number of turns',
      usage: { tokens: 15, costUsd: 0.5 },
      message: 'Reached the maximum number of turns',
    });
  });

  it('no result line: decided by the exit and its last words', () => {
    expect(interpretClaude('error: unknown option --bogus\n', { code: 1 })).toEqual({
      kind: 'task-failure',
      reason: 'claude exited with code 1 without a result: error: unknown option --bogus',
    });
    expect(interpretClaude('{"type":"system","subtype":"init"}\n', { signal: 'SIGTERM' })).toEqual({
      kind: 'task-failure',
      reason: 'claude exited on SIGTERM without a result',
    });
    expect(interpretClaude('Invalid API key · Please run /login\n', { code: 1 })).toMatchObject({ kind: 'infra-failure', cause: 'auth' });
  });
});

describe('claude adapter: the real CLI with its own argv', () => {
  const left = cleanUpAfterEach();

  it('writes the file the model asks for and reports the server-side usage', async () => {
    const server = await startModelServer([
      { kind: 'write-file', path: 'hello.txt', content: 'hi\n' },
      { kind: 'final', text: 'Done.' },
    ]);
    left.defer(() => server.close());
    const run = await runAdapter(
      claude,
      'Write hello.txt.',
      { args: [] },
      { ANTHROPIC_BASE_URL: server.url, ANTHROPIC_API_KEY: 'sk-test-not-a-secret', CLAUDE_CODE_MAX_RETRIES: '0' },
    );
    left.defer(run.cleanup);
    expect(await readFile(join(run.worktree, 'hello.txt'), 'utf8')).toBe('hi\n');
    const v = claude.interpret(run.output, run.exit);
    const perTurn = USAGE.input + USAGE.output + USAGE.cacheRead + USAGE.cacheWrite;
    expect(v).toMatchObject({ kind: 'success', message: 'Done.', usage: { tokens: 2 * perTurn } });
    expect(v.kind === 'success' && v.usage?.costUsd).toBeGreaterThan(0);
    // What the CLI sent: two streamed Messages API calls, the second carrying the tool's result.
    const calls = server.modelRequests();
    expect(calls.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /v1/messages?beta=true', 'POST /v1/messages?beta=true']);
    expect(calls[0]?.headers['x-api-key']).toBe('sk-test-not-a-secret');
    expect(JSON.stringify(calls[1]?.body)).toContain('"tool_use_id":"toolu_0"');
  });
});
