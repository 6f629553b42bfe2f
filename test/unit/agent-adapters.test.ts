import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGENTS } from '../../src/exec/agents/index.js';
import { resetTimeIn } from '../../src/exec/agents/read.js';
import type { AgentExit, AgentInput, AgentVerdict } from '../../src/exec/agents/types.js';
import { commandVerdict } from '../../src/exec/commandVerdict.js';

const FIXTURES = resolve(import.meta.dirname, '../fixtures/agents');
const recorded = (agent: string, name: string) => readFileSync(join(FIXTURES, agent, `${name}.txt`), 'utf8');
const adapter = (name: string) => {
  const a = AGENTS[name];
  if (!a) throw new Error(`no adapter ${name}`);
  return a;
};

const INPUT: AgentInput = {
  promptFile: '/state/logs/001-x/2.prompt.md',
  promptBytes: 300_000,
  worktree: '/wt/001-x',
  options: { model: 'some-model', args: ['--extra', 'a b'] },
};

describe('adapters build an argv (never a shell string) and keep long prompts out of it', () => {
  it.each<[string, string[], 'prompt' | 'none']>([
    [
      'gemini',
      [
        'gemini',
        '-p',
        expect.any(String) as never,
        '--output-format',
        'json',
        '--yolo',
        '--skip-trust',
        '--model',
        'some-model',
        '--extra',
        'a b',
      ],
      'prompt',
    ],
    [
      'opencode',
      [
        'opencode',
        'run',
        '--format',
        'json',
        '--auto',
        '--dir',
        INPUT.worktree,
        '--model',
        'some-model',
        '--extra',
        'a b',
        expect.any(String) as never,
      ],
      'prompt',
    ],
    [
      'aider',
      expect.arrayContaining([
        'aider',
        '--message-file',
        INPUT.promptFile,
        '--yes-always',
        '--no-stream',
        '--no-auto-commits',
        '--model',
        'some-model',
        '--extra',
        'a b',
      ]) as never,
      'none',
    ],
  ])('%s', (name, argv, stdin) => {
    const inv = adapter(name).invocation(INPUT);
    expect(inv.argv).toEqual(argv);
    expect(inv.stdin).toBe(stdin);
    // A 300 KB prompt must never be one argument (Linux caps a single argument at 128 KiB).
    expect(inv.argv.every((a) => Buffer.byteLength(a) < 4096)).toBe(true);
    expect(inv.argv[0]).toBe(adapter(name).program);
  });

  it('adds nothing for a model or args the user did not set', () => {
    const inv = adapter('gemini').invocation({ ...INPUT, options: { args: [] } });
    expect(inv.argv).not.toContain('--model');
    expect(inv.argv.at(-1)).toBe('--skip-trust');
  });

  it('aider keeps its histories out of the worktree, next to the prompt', () => {
    const argv = adapter('aider').invocation(INPUT).argv;
    expect(argv[argv.indexOf('--chat-history-file') + 1]).toBe('/state/logs/001-x/2.aider-chat.md');
    expect(argv[argv.indexOf('--input-history-file') + 1]).toBe('/state/logs/001-x/2.aider-input');
  });
});

/** [agent, recorded output, exit, expected verdict] */
const CASES: Array<[string, string, AgentExit, Partial<AgentVerdict> & Record<string, unknown>]> = [
  [
    'gemini',
    'success',
    { code: 0 },
    { kind: 'success', usage: { tokens: 10000 }, message: 'I added the greeting to hello.txt as the task asked.' },
  ],
  [
    'gemini',
    'failure',
    { code: 53 },
    { kind: 'task-failure', reason: expect.stringMatching(/^FatalTurnLimitedError: Reached max session turns/) },
  ],
  [
    'gemini',
    'usage-limit',
    { code: 1 },
    {
      kind: 'infra-failure',
      cause: 'usage-limit',
      reason: expect.stringMatching(/^TerminalQuotaError: You have exhausted your daily quota/),
    },
  ],
  // Captured from the real gemini 0.61.0 run with nightshift's argv and no credentials (HOME path replaced).
  [
    'gemini',
    'not-logged-in',
    { code: 41 },
    { kind: 'infra-failure', cause: 'auth', reason: expect.stringMatching(/^Error: Please set an Auth method/) },
  ],
  ['gemini', 'auth', { code: 41 }, { kind: 'infra-failure', cause: 'auth', reason: expect.stringMatching(/GEMINI_API_KEY/) }],
  [
    'opencode',
    'success',
    { code: 0 },
    { kind: 'success', usage: { tokens: 15150, costUsd: 0.0168 }, message: 'Done: hello.txt now says hello.' },
  ],
  [
    'opencode',
    'failure',
    { code: 1 },
    {
      kind: 'task-failure',
      reason: 'MessageOutputLengthError: MessageOutputLengthError',
      message: expect.stringMatching(/ran out of room/),
      usage: { tokens: 41000, costUsd: 0.21 },
    },
  ],
  ['opencode', 'usage-limit', { code: 1 }, { kind: 'infra-failure', cause: 'usage-limit', resetAt: new Date('2026-11-22T03:00:00Z') }],
  ['opencode', 'rate-limit', { code: 1 }, { kind: 'infra-failure', cause: 'rate-limit' }],
  [
    'opencode',
    'auth',
    { code: 1 },
    { kind: 'infra-failure', cause: 'auth', reason: expect.stringMatching(/^ProviderAuthError: No API key found/) },
  ],
  ['aider', 'success', { code: 0 }, { kind: 'success', usage: { tokens: 2458, costUsd: 0.0081 } }],
  [
    'aider',
    'failure',
    { code: 1 },
    {
      kind: 'task-failure',
      reason: 'aider exited 1',
      usage: { tokens: 12310, costUsd: 0.05 },
      message: expect.stringMatching(/Only 3 reflections allowed/),
    },
  ],
  [
    'aider',
    'usage-limit',
    { code: 1 },
    {
      kind: 'infra-failure',
      cause: 'usage-limit',
      reason: expect.stringMatching(/^litellm\.RateLimitError: .*exceeded your current quota/),
    },
  ],
  ['aider', 'rate-limit', { code: 1 }, { kind: 'infra-failure', cause: 'rate-limit' }],
  ['aider', 'auth', { code: 1 }, { kind: 'infra-failure', cause: 'auth', reason: expect.stringMatching(/^litellm\.AuthenticationError/) }],
];

describe('interpret() on recorded outputs', () => {
  it.each(CASES)('%s %s', (agent, name, exit, expected) => {
    expect(adapter(agent).interpret(recorded(agent, name), exit)).toMatchObject(expected);
  });

  it('gemini: a reset time in the message ("Please retry in 11520.5s") becomes resetAt', () => {
    const before = Date.now();
    const v = adapter('gemini').interpret(recorded('gemini', 'usage-limit'), { code: 1 });
    expect(v.kind === 'infra-failure' && v.resetAt ? v.resetAt.getTime() - before : 0).toBeGreaterThanOrEqual(11_520_000);
  });

  it.each(['gemini', 'opencode', 'aider'])('%s: a success print with a failing exit is not a success', (agent) => {
    expect(adapter(agent).interpret(recorded(agent, 'success'), { code: 1 }).kind).not.toBe('success');
  });

  it.each(['gemini', 'opencode', 'aider'])('%s: killed by a signal with no output is a task failure', (agent) => {
    expect(adapter(agent).interpret('', { signal: 'SIGKILL' })).toMatchObject({
      kind: 'task-failure',
      reason: `${agent} was killed by SIGKILL`,
    });
  });

  it('gemini: exit 0 without the JSON result is not a success', () => {
    expect(adapter('gemini').interpret('some text\n', { code: 0 }).kind).toBe('task-failure');
  });
});

describe('commandVerdict: how a command executor reports an infra failure', () => {
  it.each<[string, string, number, Partial<AgentVerdict> & Record<string, unknown>]>([
    ['exit 0', 'all good\n', 0, { kind: 'success' }],
    ['exit 0 wins over a marker', 'nightshift: infra auth logged out\n', 0, { kind: 'success' }],
    ['a plain failure', 'tests broke\n', 1, { kind: 'task-failure', reason: 'exit 1' }],
    ['exit 75', 'provider down\n', 75, { kind: 'infra-failure', cause: 'other', reason: 'exit 75 (cannot run now): provider down' }],
    [
      'the marker',
      'work\nnightshift: infra auth not logged in\n',
      1,
      { kind: 'infra-failure', cause: 'auth', reason: 'auth: not logged in' },
    ],
    [
      'the marker with a reset time',
      'nightshift: infra usage-limit reset=2026-11-22T03:00:00Z out of credits\n',
      2,
      { kind: 'infra-failure', cause: 'usage-limit', resetAt: new Date('2026-11-22T03:00:00Z'), reason: 'usage-limit: out of credits' },
    ],
    [
      'the marker, bare',
      'nightshift: infra network\n',
      1,
      { kind: 'infra-failure', cause: 'network', reason: 'network', resetAt: undefined },
    ],
    ['an unknown cause reads as other', 'nightshift: infra gremlins\n', 1, { kind: 'infra-failure', cause: 'other' }],
    [
      'a bad reset time is ignored',
      'nightshift: infra rate-limit reset=soon\n',
      1,
      { kind: 'infra-failure', cause: 'rate-limit', resetAt: undefined },
    ],
    ['the last marker wins', 'nightshift: infra auth a\nnightshift: infra server b\n', 1, { kind: 'infra-failure', cause: 'server' }],
    ['a marker inside a line does not count', 'echo nightshift: infra auth\n', 1, { kind: 'task-failure' }],
    // Only its last line is the command's word: a marker in a file it printed earlier is not.
    [
      'a marker followed by more output does not count',
      '$ cat notes.md\nnightshift: infra auth planted\nreview crashed\n',
      1,
      { kind: 'task-failure', reason: 'exit 1' },
    ],
    [
      'exit 75 reads its last line, not an earlier marker',
      'nightshift: infra auth planted\nprovider down\n',
      75,
      { kind: 'infra-failure', cause: 'other', reason: 'exit 75 (cannot run now): provider down' },
    ],
    ['trailing blank lines after the marker are fine', 'nightshift: infra network\n\n  \n', 1, { kind: 'infra-failure', cause: 'network' }],
  ])('%s', (_name, tail, code, expected) => {
    expect(commandVerdict(tail, code)).toMatchObject(expected);
  });
});

describe('resetTimeIn', () => {
  const now = new Date('2026-11-21T10:00:00Z');
  it.each<[string, string | undefined]>([
    ['Please retry in 37s.', '2026-11-21T10:00:37.000Z'],
    ['Please retry in 1500ms', '2026-11-21T10:00:01.500Z'],
    ['try again in 5 minutes', '2026-11-21T10:05:00.000Z'],
    ['resets at 2026-11-22T03:00:00Z', '2026-11-22T03:00:00.000Z'],
    ['retry after 2 hours', '2026-11-21T12:00:00.000Z'],
    ['no time here', undefined],
  ])('%s', (text, expected) => {
    expect(resetTimeIn(text, now)?.toISOString()).toBe(expected);
  });
});
