import { infraCause, lastJsonBlock, num, obj, resetTimeIn, str } from './read.js';
import type { AgentAdapter, AgentExit, AgentVerdict, InfraCause } from './types.js';

/**
 * Gemini CLI (@google/gemini-cli, checked against 0.61.0). Headless with `-p`; the prompt goes on stdin,
 * which -p's text is appended to ("Appended to input on stdin"). `--skip-trust`: headless runs in an
 * untrusted folder (every fresh worktree) otherwise exit 55. `-o json` prints one pretty-printed object:
 * `{ session_id, response, stats: { models: { <m>: { tokens: { total } } } } }`, or on failure
 * `{ session_id, error: { type, message, code } }` with the process exit code (41 = auth).
 */
const INSTRUCTION = 'Carry out the task described in the input above. Work in the current directory.';

/** Gemini's own fatal exit codes (packages/core FatalError subclasses). */
const EXIT_CAUSE: Record<number, InfraCause> = { 41: 'auth', 52: 'other', 55: 'other' };

export const gemini: AgentAdapter = {
  name: 'gemini',
  program: 'gemini',
  versionArgs: ['--version'],
  installHint: 'npm i -g @google/gemini-cli',
  invocation(input) {
    const argv: [string, ...string[]] = ['gemini', '-p', INSTRUCTION, '--output-format', 'json', '--yolo', '--skip-trust'];
    if (input.options.model) argv.push('--model', input.options.model);
    argv.push(...input.options.args);
    return { argv, stdin: 'prompt' };
  },
  interpret(output: string, exit: AgentExit): AgentVerdict {
    const result = lastJsonBlock(output);
    const usage = { tokens: totalTokens(obj(result?.stats)) };
    const error = obj(result?.error);
    if (error) {
      const type = str(error.type) ?? 'Error';
      const message = str(error.message) ?? 'unknown error';
      const code = num(error.code);
      const said = `${type}: ${message}`;
      const cause = causeOf(type, message, code ?? exit.code);
      if (cause) return { kind: 'infra-failure', cause, reason: said, resetAt: resetTimeIn(message), usage };
      return { kind: 'task-failure', reason: said, usage, message };
    }
    const response = str(result?.response);
    if (exit.code === 0 && result) return { kind: 'success', usage, message: response };
    if (exit.code !== undefined && EXIT_CAUSE[exit.code]) {
      return { kind: 'infra-failure', cause: EXIT_CAUSE[exit.code] as InfraCause, reason: `gemini exited ${exit.code}`, usage };
    }
    const text = output.trim().split('\n').slice(-5).join(' ');
    const cause = infraCause(text);
    if (cause && exit.code !== 0) return { kind: 'infra-failure', cause, reason: text.slice(-300), resetAt: resetTimeIn(text), usage };
    if (exit.code === 0) return { kind: 'task-failure', reason: 'gemini exited 0 without its JSON result', usage };
    return {
      kind: 'task-failure',
      reason: exit.signal ? `gemini was killed by ${exit.signal}` : `gemini exited ${exit.code}`,
      usage,
      message: response,
    };
  },
};

function causeOf(type: string, message: string, code: number | undefined): InfraCause | undefined {
  if (type === 'TerminalQuotaError') return 'usage-limit';
  if (type === 'RetryableQuotaError') return 'rate-limit';
  if (type === 'FatalAuthenticationError' || code === 41 || code === 401 || code === 403) return 'auth';
  if (type === 'FatalUntrustedWorkspaceError' || type === 'FatalConfigError' || type === 'FatalSandboxError') return 'other';
  if (code === 429) return /quota|exhausted/i.test(message) ? 'usage-limit' : 'rate-limit';
  if (code !== undefined && code >= 500 && code < 600) return 'server';
  // A turn limit, a tool failure, bad input: the task's problem, not the tool's.
  if (/^Fatal(TurnLimited|ToolExecution|Input)Error$/.test(type)) return undefined;
  return infraCause(message);
}

function totalTokens(stats: Record<string, unknown> | undefined): number | undefined {
  const models = obj(stats?.models);
  if (!models) return undefined;
  let total: number | undefined;
  for (const m of Object.values(models)) {
    const t = num(obj(obj(m)?.tokens)?.total);
    if (t !== undefined) total = (total ?? 0) + t;
  }
  return total;
}
