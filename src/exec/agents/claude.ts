import type { AgentAdapter, AgentExit, AgentInput, AgentInvocation, AgentUsage, AgentVerdict, InfraCause } from './types.js';
import { lastLines, nextClockTime } from './said.js';
import { jsonLines, num, obj, str } from './read.js';

/**
 * Claude Code (checked with @anthropic-ai/claude-code 2.1.330): `claude -p --output-format stream-json
 * --verbose` reads the prompt on stdin and prints one JSON object per line, ending with
 * `{"type":"result", is_error, api_error_status, result, total_cost_usd, usage, ...}`.
 *
 * Permissions: inside nightshift's sandbox `--permission-mode bypassPermissions` with IS_SANDBOX=1 (as root
 * it refuses bypassed permissions without it). Without the sandbox `--permission-mode acceptEdits` lets it
 * write files in the worktree and `--allowedTools Bash(<cmd>)` run rules.md's setup and test. In -p mode
 * nobody can approve anything else, so other shell commands are refused (listed in the result's
 * `permission_denials`) and it carries on: the attempt names them (see `denied`).
 */
export const claude: AgentAdapter = {
  name: 'claude',
  program: 'claude',
  versionArgs: ['--version'],

  invocation(input: AgentInput): AgentInvocation {
    const argv: [string, ...string[]] = ['claude', '-p', '--output-format', 'stream-json', '--verbose'];
    // Read-only (planning): only the tools that read, and no prompt to wait on for anything else. The
    // structured answer comes back as the result line's `structured_output` (its StructuredOutput tool).
    if (input.readOnly) argv.push('--permission-mode', 'dontAsk', '--tools', 'Read,Glob,Grep');
    else argv.push(...claudePermissions(input));
    if (input.answerSchema) argv.push('--json-schema', input.answerSchema.json);
    if (input.options.model) argv.push('--model', input.options.model);
    // budget.per_task_usd: what the task may still spend, enforced by Claude Code itself mid-run.
    if (input.maxBudgetUsd !== undefined) argv.push('--max-budget-usd', String(input.maxBudgetUsd));
    argv.push(...input.options.args);
    // Unattended: no telemetry, error reporting or self-update in the middle of a night's run.
    const env: Record<string, string> = { CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', DISABLE_AUTOUPDATER: '1' };
    // Claude Code refuses bypassed permissions as root unless told it is inside a sandbox, which it is.
    if (input.sandboxed) env.IS_SANDBOX = '1';
    return { argv, stdin: 'prompt', env };
  },

  interpret(output: string, exit: AgentExit): AgentVerdict {
    return interpretClaude(output, exit);
  },
};

/**
 * Inside nightshift's sandbox it may run anything (the sandbox, not Claude Code, is the boundary). Outside
 * it edits files (acceptEdits) and runs only rules.md's setup and test commands, named exactly.
 */
function claudePermissions(input: AgentInput): string[] {
  if (input.sandboxed) return ['--permission-mode', 'bypassPermissions'];
  const allowed = (input.allowedCommands ?? []).map((c) => `Bash(${c})`);
  // Before --permission-mode: the list takes every argument up to the next flag.
  return [...(allowed.length > 0 ? ['--allowedTools', ...allowed] : []), '--permission-mode', 'acceptEdits'];
}

export function interpretClaude(output: string, exit: AgentExit, now: Date = new Date()): AgentVerdict {
  const verdict = interpretResult(output, exit, now);
  const denied = deniedCommands(output);
  return denied.length > 0 && verdict.kind !== 'infra-failure' ? { ...verdict, denied } : verdict;
}

/** What the result's `permission_denials` lists: a Bash call's command, else the tool's name. */
export function deniedCommands(output: string): string[] {
  const result = jsonLines(output).findLast((l) => l.type === 'result');
  const list = Array.isArray(result?.permission_denials) ? (result.permission_denials as unknown[]) : [];
  const names = list.map((d) => {
    const denial = obj(d);
    return str(obj(denial?.tool_input)?.command) ?? str(denial?.tool_name) ?? 'a tool';
  });
  return [...new Set(names)];
}

function interpretResult(output: string, exit: AgentExit, now: Date): AgentVerdict {
  const lines = jsonLines(output);
  const result = lines.findLast((l) => l.type === 'result');
  if (!result) return withoutResult(output, exit);

  const usage = usageOf(result);
  const text = str(result.result) ?? '';
  if (result.is_error !== true && exit.code === 0 && result.subtype === 'success') {
    return { kind: 'success', usage, message: text || undefined };
  }
  // The assistant line before the result names the API error in words ("authentication_failed").
  const apiLine = lines.findLast((l) => l.is_api_error_message === true);
  const status = num(result.api_error_status) ?? num(apiLine?.api_error_status);
  // The result's api_error is the more precise ("connection_failed" where the line says "server_error").
  const error = str(result.api_error) ?? str(apiLine?.error) ?? '';
  const cause = infraCauseOf(status, error, text);
  if (cause) {
    const resetAt = cause === 'usage-limit' || cause === 'rate-limit' ? resetTime(lines, text, now) : undefined;
    return { kind: 'infra-failure', cause, reason: text || error || `API error ${status}`, resetAt, usage };
  }
  const reason = text || str(result.subtype) || `claude exited ${describeExit(exit)}`;
  return { kind: 'task-failure', reason: `claude: ${reason}`, usage, message: text || undefined };
}

/**
 * Tokens are everything the model processed: fresh input, cache writes, cache reads and output. Cache
 * reads are cheap but still count towards the context and rate limits, and Codex's input_tokens
 * include its cached tokens too, so both executors' figures mean the same thing.
 */
function usageOf(result: Record<string, unknown>): AgentUsage {
  const u = obj(result.usage);
  const parts = [u?.input_tokens, u?.output_tokens, u?.cache_creation_input_tokens, u?.cache_read_input_tokens].map(num);
  const known = parts.filter((n): n is number => n !== undefined);
  const usage: AgentUsage = {};
  if (known.length > 0) usage.tokens = known.reduce((a, b) => a + b, 0);
  const cost = num(result.total_cost_usd);
  if (cost !== undefined) usage.costUsd = cost;
  return usage;
}

/**
 * Which API failures are not the task's fault. Claude Code has already retried 5xx, 529 and connection
 * errors itself (10 times, with backoff, by default) before it gives up and prints the result, so a 5xx
 * here means the provider is down: another attempt of the same task minutes later would fail the same
 * way and burn the task's attempts one by one, so it is an infra failure ('server'). A 400 (prompt too
 * long, invalid request) is about this task, so it stays a task failure.
 */
function infraCauseOf(status: number | undefined, error: string, text: string): InfraCause | undefined {
  if (/usage limit|hit your .{0,20}limit|out of (usage )?credits|credit balance (is )?too low|spend limit/i.test(text))
    return 'usage-limit';
  if (
    status === 401 ||
    status === 403 ||
    error === 'authentication_failed' ||
    /not logged in|please run \/login|invalid api key|oauth token/i.test(text)
  )
    return 'auth';
  if (status === 429 || error === 'rate_limit') return 'rate-limit';
  if (error === 'connection_failed' || /connection (refused|error|failed)|ECONNREFUSED|ENOTFOUND|ETIMEDOUT|fetch failed/i.test(text))
    return 'network';
  if ((status !== undefined && status >= 500) || error === 'server_error' || /overloaded/i.test(text)) return 'server';
  // 404 model not found and friends: the agent cannot run with this configuration, whatever the task.
  if (status === 404 || error === 'model_not_found') return 'other';
  return undefined;
}

/**
 * A limit's reset time: the `rate_limit_event` Claude Code prints for subscription limits carries
 * `resetsAt` in epoch seconds; otherwise the message's own "resets 3pm" / "|<epoch>" form.
 */
function resetTime(lines: Array<Record<string, unknown>>, text: string, now: Date): Date | undefined {
  for (const line of [...lines].reverse()) {
    if (line.type !== 'rate_limit_event') continue;
    const info = obj(line.rate_limit_info);
    const at = num(info?.resetsAt);
    if (info?.status !== 'allowed' && at !== undefined) return new Date(at * 1000);
  }
  const epoch = /\|(\d{10})\b/.exec(text);
  if (epoch?.[1]) return new Date(Number(epoch[1]) * 1000);
  const clock = /resets (?:at )?(\d{1,2})(?::(\d{2}))?\s*(am|pm)/i.exec(text);
  if (clock?.[1] && clock[3]) return nextClockTime(Number(clock[1]), Number(clock[2] ?? 0), clock[3], now);
  return undefined;
}

/** No result line: Claude Code died before it could say anything (crash, killed, bad flag). */
function withoutResult(output: string, exit: AgentExit): AgentVerdict {
  const said = lastLines(output, 3);
  if (/not logged in|please run \/login|invalid api key/i.test(said)) return { kind: 'infra-failure', cause: 'auth', reason: said };
  if (exit.code === 0) return { kind: 'task-failure', reason: 'claude exited 0 without a result line' };
  return { kind: 'task-failure', reason: `claude exited ${describeExit(exit)} without a result${said ? `: ${said}` : ''}` };
}

function describeExit(exit: AgentExit): string {
  return exit.signal ? `on ${exit.signal}` : `with code ${exit.code ?? '?'}`;
}
