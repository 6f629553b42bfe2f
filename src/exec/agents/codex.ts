import { jsonLines, num, obj, str } from './read.js';
import { lastLines, nextClockTime } from './said.js';
import type { AgentAdapter, AgentExit, AgentInput, AgentInvocation, AgentUsage, AgentVerdict, InfraCause } from './types.js';

/**
 * Codex (checked with @openai/codex 0.169.0): `codex exec --json` reads the prompt on stdin (the `-`
 * argument) and prints JSONL events: thread.started, turn.started, item.* (command_execution,
 * file_change, agent_message, error notices), turn.completed {usage} or turn.failed {error}, and `error`
 * events while it reconnects. It reports tokens, not cost.
 *
 * Sandbox: inside nightshift's sandbox it runs with `--dangerously-bypass-approvals-and-sandbox` (its own
 * bwrap cannot nest there). Without it, `-s workspace-write` lets its commands write in the worktree (and
 * /tmp) and nowhere else, through bwrap and a `codex-linux-sandbox` helper where bubblewrap is installed;
 * when that helper cannot run, every command fails and the verdict says so (ownSandboxFailure). `exec`
 * never asks for approval.
 */
export const codex: AgentAdapter = {
  name: 'codex',
  program: 'codex',
  versionArgs: ['--version'],

  invocation(input: AgentInput): AgentInvocation {
    const argv: [string, ...string[]] = ['codex', 'exec', '--json', '--skip-git-repo-check', ...codexSandbox(input)];
    // The final message then follows the schema (the last agent_message in the JSONL is the answer).
    if (input.answerSchema) argv.push('--output-schema', input.answerSchema.file);
    // Unattended: no connectors or plugins to load, no analytics, no update check on start-up.
    argv.push('--disable', 'apps', '--disable', 'plugins', '-c', 'analytics.enabled=false', '-c', 'check_for_update_on_startup=false');
    if (input.options.model) argv.push('--model', input.options.model);
    argv.push(...input.options.args);
    // `-` = read the prompt from stdin: no argv length limit, and the prompt never shows in `ps`.
    argv.push('-');
    return { argv, stdin: 'prompt' };
  },

  interpret(output: string, exit: AgentExit): AgentVerdict {
    return interpretCodex(output, exit);
  },
};

/**
 * Its own workspace-write sandbox is bwrap too, and cannot nest inside nightshift's (no namespaces, no
 * capabilities there: "Creating new namespace failed"). Inside nightshift's sandbox it runs bypassed.
 */
function codexSandbox(input: AgentInput): string[] {
  // Inside nightshift's sandbox a read-only step's worktree is bound read-only there, so Codex's own
  // sandbox (which cannot nest in bwrap) is not what keeps it from writing.
  if (!input.sandboxed) return ['-s', input.readOnly ? 'read-only' : 'workspace-write'];
  // Codex refuses the flag given twice: users who bypass it themselves already pass it in args.
  return input.options.args.includes(BYPASS) ? [] : [BYPASS];
}

const BYPASS = '--dangerously-bypass-approvals-and-sandbox';

/** What a command says when Codex's own sandbox could not start it (not the command's failure). */
const OWN_SANDBOX_FAILED = /bwrap: [^\n]*|codex-linux-sandbox[^\n]*|landlock[^\n]*(not supported|failed)[^\n]*|seccomp[^\n]*failed[^\n]*/i;

/**
 * Codex reports success even when its own sandbox failed every command it ran (measured with 0.169:
 * `bwrap: execvp codex-linux-sandbox: No such file or directory` under a temporary CODEX_HOME). That is
 * an infrastructure failure with a cause to name, not "no changes".
 */
export function ownSandboxFailure(events: Array<Record<string, unknown>>): string | undefined {
  const commands = events.map((e) => obj(e.item)).filter((item) => item?.type === 'command_execution' && isDone(item));
  if (commands.length === 0 || commands.some((c) => num(c?.exit_code) === 0)) return undefined;
  for (const c of commands) {
    const said = OWN_SANDBOX_FAILED.exec(str(c?.aggregated_output) ?? '')?.[0];
    if (said) return said.trim();
  }
  return undefined;
}

function isDone(item: Record<string, unknown> | undefined): boolean {
  return item?.status !== 'in_progress';
}

export function interpretCodex(output: string, exit: AgentExit, now: Date = new Date()): AgentVerdict {
  const events = jsonLines(output);
  const sandboxFailed = ownSandboxFailure(events);
  if (sandboxFailed) {
    const reason = `codex's own sandbox could not run its commands (${sandboxFailed}); run nightshift with sandbox: bwrap, or pass --dangerously-bypass-approvals-and-sandbox in executors.codex.args`;
    return { kind: 'infra-failure', cause: 'other', reason, usage: usageOf(events) };
  }
  const usage = usageOf(events);
  const message = events.map((e) => obj(e.item)).findLast((item) => item?.type === 'agent_message' && typeof item.text === 'string')
    ?.text as string | undefined;
  const failed = events.findLast((e) => e.type === 'turn.failed');
  // `error` events also announce each reconnect ("Reconnecting... 2/5 (...)"); only the final one counts.
  const lastError = events.findLast((e) => e.type === 'error' && !/^Reconnecting\b/.test(str(e.message) ?? ''));
  const completed = events.some((e) => e.type === 'turn.completed');

  if (completed && !failed && exit.code === 0) return { kind: 'success', usage, message };

  const said = str(obj(failed?.error)?.message) ?? str(lastError?.message);
  if (said !== undefined) {
    const cause = infraCauseOf(said);
    if (cause) {
      const resetAt = cause === 'usage-limit' || cause === 'rate-limit' ? resetTime(said, now) : undefined;
      return { kind: 'infra-failure', cause, reason: said, resetAt, usage };
    }
    return { kind: 'task-failure', reason: `codex: ${said}`, usage, message };
  }
  // No JSON verdict: it stopped before its first turn (bad flag, bad config, no prompt) or was killed.
  const tail = lastLines(output, 3);
  const cause = tail ? infraCauseOf(tail) : undefined;
  if (cause) return { kind: 'infra-failure', cause, reason: tail, usage };
  const how = exit.signal ? `on ${exit.signal}` : `with code ${exit.code ?? '?'}`;
  return { kind: 'task-failure', reason: `codex exited ${how} without finishing its turn${tail ? `: ${tail}` : ''}`, usage, message };
}

/**
 * Tokens: input + output of every turn. Codex's input_tokens already include cached_input_tokens and
 * output_tokens include reasoning_output_tokens (the Responses API's own accounting), so adding those
 * again would count them twice.
 */
function usageOf(events: Array<Record<string, unknown>>): AgentUsage {
  let tokens: number | undefined;
  for (const e of events) {
    if (e.type !== 'turn.completed') continue;
    const u = obj(e.usage);
    const sum = (num(u?.input_tokens) ?? 0) + (num(u?.output_tokens) ?? 0);
    tokens = (tokens ?? 0) + sum;
  }
  return tokens === undefined ? {} : { tokens };
}

/**
 * Codex has already retried (5 reconnects by default, each with its own request retries) before it
 * reports a failure, so a server error here means the provider is down, not that the task is wrong.
 */
function infraCauseOf(text: string): InfraCause | undefined {
  if (/usage limit|quota exceeded|out of credits|purchase more credits|upgrade to (plus|pro)/i.test(text)) return 'usage-limit';
  if (
    /\b40[13]\b|unauthori[sz]ed|forbidden|not logged in|codex login|api key|missing environment variable|refresh token|sign in again/i.test(
      text,
    )
  )
    return 'auth';
  if (/\b429\b|too many requests|rate limit/i.test(text)) return 'rate-limit';
  if (/\b5\d\d\b|high demand|internal server error|service unavailable|bad gateway|overloaded|at capacity/i.test(text)) return 'server';
  if (
    /error sending request|connection (failed|refused|reset)|failed to lookup address|stream disconnected|timed out waiting for network/i.test(
      text,
    )
  )
    return 'network';
  return undefined;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * "... or try again at 6:58 PM." (today or tomorrow, local time) or "... try again at Nov 22, 2026
 * 6:58 PM." (Codex's own formats, `%-I:%M %p` and `%b %-d, %Y %-I:%M %p`, in the machine's time zone).
 */
function resetTime(text: string, now: Date): Date | undefined {
  const m = /try again at (?:([A-Z][a-z]{2}) (\d{1,2})(?:st|nd|rd|th)?,? (?:(\d{4}) )?)?(\d{1,2}):(\d{2}) ?([AP]M)/i.exec(text);
  if (!m) return undefined;
  const [, month, day, year, hour, minute, meridiem] = m;
  if (!month || !day) return nextClockTime(Number(hour), Number(minute), meridiem as string, now);
  const monthIndex = MONTHS.indexOf(month.toLowerCase());
  if (monthIndex < 0) return undefined;
  const at = new Date(
    year ? Number(year) : now.getFullYear(),
    monthIndex,
    Number(day),
    (Number(hour) % 12) + ((meridiem as string).toUpperCase() === 'PM' ? 12 : 0),
    Number(minute),
  );
  // Without a year, a date already past means next year's.
  if (!year && at.getTime() < now.getTime()) at.setFullYear(at.getFullYear() + 1);
  return at;
}
