import { infraCause, jsonLines, num, obj, resetTimeIn, str } from './read.js';
import type { AgentAdapter, AgentExit, AgentUsage, AgentVerdict, InfraCause } from './types.js';

/**
 * opencode (opencode-ai, checked against 1.18.33). `opencode run --format json` prints one JSON event
 * per line: `step_start`, `text` {part.text}, `tool_use`, `step_finish` {part.tokens, part.cost},
 * `error` {error: {name, data: {message, statusCode?}}}, and exits 1 after an error. It reads stdin when
 * it is not a terminal and puts it after the message, so the prompt goes on stdin and the instruction
 * points below. Without `--auto` it auto-rejects every permission request (edits, shell), which nobody
 * is there to answer.
 */
const INSTRUCTION = 'Carry out the task described below. Work in the current directory.';

export const opencode: AgentAdapter = {
  name: 'opencode',
  program: 'opencode',
  versionArgs: ['--version'],
  installHint: 'npm i -g opencode-ai',
  invocation(input) {
    // --dir: opencode takes its project folder from an inherited PWD before its real working directory,
    // so without it a PWD naming the user's checkout makes it edit the checkout instead of the worktree.
    const argv: [string, ...string[]] = ['opencode', 'run', '--format', 'json', '--auto', '--dir', input.worktree];
    // opencode wants provider/model; the user writes it that way in rules.md.
    if (input.options.model) argv.push('--model', input.options.model);
    argv.push(...input.options.args, INSTRUCTION);
    return { argv, stdin: 'prompt' };
  },
  interpret(output: string, exit: AgentExit): AgentVerdict {
    const events = jsonLines(output);
    let tokens: number | undefined;
    let costUsd: number | undefined;
    let message: string | undefined;
    let error: { name: string; message: string; status?: number } | undefined;
    for (const e of events) {
      const part = obj(e.part);
      if (e.type === 'step_finish' && part) {
        const t = obj(part.tokens);
        const cache = obj(t?.cache);
        const parts = [t?.input, t?.output, t?.reasoning, cache?.read, cache?.write].map(num).filter((n): n is number => n !== undefined);
        if (parts.length > 0) tokens = (tokens ?? 0) + parts.reduce((a, b) => a + b, 0);
        const cost = num(part.cost);
        if (cost !== undefined) costUsd = (costUsd ?? 0) + cost;
      } else if (e.type === 'text' && part) {
        message = str(part.text) ?? message;
      } else if (e.type === 'error') {
        const err = obj(e.error);
        const data = obj(err?.data);
        error = {
          name: str(err?.name) ?? 'Error',
          message: str(data?.message) ?? str(err?.name) ?? 'unknown error',
          status: num(data?.statusCode),
        };
      }
    }
    const usage: AgentUsage = { tokens, costUsd };
    if (error) {
      const said = `${error.name}: ${error.message}`;
      const cause = causeOf(error.name, error.message, error.status);
      if (cause) return { kind: 'infra-failure', cause, reason: said, resetAt: resetTimeIn(error.message), usage };
      return { kind: 'task-failure', reason: said, usage, message };
    }
    if (exit.code === 0) return { kind: 'success', usage, message };
    const tail = output.trim().split('\n').slice(-3).join(' ');
    const cause = events.length === 0 ? infraCause(tail) : undefined;
    if (cause) return { kind: 'infra-failure', cause, reason: tail.slice(-300), usage };
    return {
      kind: 'task-failure',
      reason: exit.signal ? `opencode was killed by ${exit.signal}` : `opencode exited ${exit.code}`,
      usage,
      message,
    };
  },
};

function causeOf(name: string, message: string, status: number | undefined): InfraCause | undefined {
  if (name === 'ProviderAuthError' || status === 401 || status === 403) return 'auth';
  if (status === 429) return /quota|usage limit|credit|billing/i.test(message) ? 'usage-limit' : 'rate-limit';
  if (status !== undefined && status >= 500) return 'server';
  // The model stopped, ran out of output room or was aborted: the task's problem, retry with feedback.
  if (name === 'MessageOutputLengthError' || name === 'MessageAbortedError') return undefined;
  if (name === 'APIError' || name === 'UnknownError') return infraCause(message);
  return undefined;
}
