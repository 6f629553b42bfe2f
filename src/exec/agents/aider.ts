import { join, dirname, basename } from 'node:path';
import { infraCause, resetTimeIn } from './read.js';
import type { AgentAdapter, AgentExit, AgentVerdict } from './types.js';

/**
 * aider (aider-chat on PyPI; flags from its documented options, see docs/executors.md). One message from a file,
 * then exit. nightshift commits, so aider must not (`--no-auto-commits`), nor edit .gitignore
 * (`--no-gitignore`); its chat and input histories go next to the prompt in the log folder instead of the
 * worktree. aider prints plain text: "Tokens: 12k sent, 1.2k received. Cost: $0.02 message, $0.05
 * session." per reply, and litellm's exception names on provider errors.
 */
export const aider: AgentAdapter = {
  name: 'aider',
  program: 'aider',
  versionArgs: ['--version'],
  installHint: 'python -m pip install aider-install && aider-install',
  invocation(input) {
    const logs = dirname(input.promptFile);
    const stem = basename(input.promptFile, '.prompt.md');
    const argv: [string, ...string[]] = [
      'aider',
      '--message-file',
      input.promptFile,
      '--yes-always',
      '--no-stream',
      '--no-pretty',
      '--no-auto-commits',
      '--no-dirty-commits',
      '--no-gitignore',
      '--no-check-update',
      '--no-show-release-notes',
      '--analytics-disable',
      '--chat-history-file',
      join(logs, `${stem}.aider-chat.md`),
      '--input-history-file',
      join(logs, `${stem}.aider-input`),
    ];
    if (input.options.model) argv.push('--model', input.options.model);
    argv.push(...input.options.args);
    return { argv, stdin: 'none' };
  },
  interpret(output: string, exit: AgentExit): AgentVerdict {
    const usage = usageOf(output);
    // litellm's own line names the error class; aider's friendlier follow-up line is vaguer ("check your quotas").
    const lines = output.split(/\r?\n/).reverse();
    const errorLine = lines.find((l) => /litellm\.[A-Za-z]+Error/.test(l)) ?? lines.find((l) => PROVIDER_ERROR.test(l));
    if (errorLine) {
      const cause = /Missing these environment variables/.test(errorLine) ? 'auth' : (infraCause(errorLine) ?? 'other');
      return { kind: 'infra-failure', cause, reason: errorLine.trim().slice(0, 300), resetAt: resetTimeIn(errorLine), usage };
    }
    if (exit.code === 0) return { kind: 'success', usage, message: lastReply(output) };
    const tail = output.trim().split('\n').slice(-3).join(' ');
    const cause = usage.tokens === undefined ? infraCause(tail) : undefined;
    if (cause) return { kind: 'infra-failure', cause, reason: tail.slice(-300), usage };
    return {
      kind: 'task-failure',
      reason: exit.signal ? `aider was killed by ${exit.signal}` : `aider exited ${exit.code}`,
      usage,
      message: lastParagraph(output),
    };
  },
};

/** litellm exceptions aider prints when the provider, not the task, is the problem. */
const PROVIDER_ERROR =
  /litellm\.(AuthenticationError|RateLimitError|APIConnectionError|ServiceUnavailableError|InternalServerError|PermissionDeniedError|Timeout|BudgetExceededError)|The API provider has rate limited you|exceeded your current quota|insufficient_quota|Missing these environment variables/;

const SIZE: Record<string, number> = { '': 1, k: 1e3, K: 1e3, M: 1e6 };

function usageOf(output: string): { tokens?: number; costUsd?: number } {
  let tokens: number | undefined;
  let costUsd: number | undefined;
  for (const m of output.matchAll(/Tokens: ([\d.]+)([kKM]?) sent,(?:.*?) ([\d.]+)([kKM]?) received\.(?: Cost: \$([\d.]+) message)?/g)) {
    tokens = (tokens ?? 0) + Number(m[1]) * (SIZE[m[2] ?? ''] ?? 1) + Number(m[3]) * (SIZE[m[4] ?? ''] ?? 1);
    if (m[5] !== undefined) costUsd = (costUsd ?? 0) + Number(m[5]);
  }
  return { tokens: tokens === undefined ? undefined : Math.round(tokens), costUsd };
}

/**
 * aider's final message: the model's last reply, which aider prints whole (--no-stream) just before its
 * token report; what aider then does with it (applied edits, commands it ran and their output) follows
 * the report. So: the text before the last report, back to the report before it (or to the start).
 */
function lastReply(output: string): string | undefined {
  const lines = output.split(/\r?\n/);
  const reports = lines.flatMap((l, i) => (TOKEN_REPORT.test(l) ? [i] : []));
  const end = reports.at(-1);
  if (end === undefined) return undefined;
  const text = lines
    .slice((reports.at(-2) ?? -1) + 1, end)
    .join('\n')
    .trim();
  return text || undefined;
}

const TOKEN_REPORT = /^Tokens: [\d.]+[kKM]? sent,/;

function lastParagraph(output: string): string | undefined {
  const text = output.trim();
  if (!text) return undefined;
  return text
    .split(/\n\s*\n/)
    .at(-1)
    ?.trim()
    .slice(-2000);
}
