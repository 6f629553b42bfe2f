import { parseDuration } from '../util/duration.js';
import type { FrontmatterFields } from './fields.js';

/** The event names a sink's `on:` may list: what the daemon tells people about. */
export const NOTIFY_EVENTS = [
  'done',
  'failed',
  'blocked',
  'parked',
  'resumed',
  'budget-reached',
  'queue-empty',
  'daemon-stopped',
  'report',
] as const;
export type NotifyEventName = (typeof NOTIFY_EVENTS)[number];

export type NotifyTarget = { kind: 'command'; argv: [string, ...string[]] } | { kind: 'webhook'; url: string; format: 'json' | 'slack' };

/** One entry of rules.md `notify:`, resolved: defaults filled in. */
export interface NotifySink {
  /**
   * How logs and `notify test` name it: its place in the list and the command's program, or the webhook's
   * origin (never its path: Slack puts the secret there).
   */
  label: string;
  on: NotifyEventName[];
  target: NotifyTarget;
  /** Events within this window after the first go out as one message; undefined = each on its own. */
  digestMs?: number;
  /** One delivery (an HTTP request, a command run) is given up after this long. */
  timeoutMs: number;
  /** Further tries after a failed delivery, each after a doubling backoff. */
  retries: number;
  /** Wait before the first retry; doubles per retry, capped at MAX_NOTIFY_BACKOFF_MS. */
  backoffMs: number;
}

export const NOTIFY_DEFAULTS = { timeoutMs: 10_000, retries: 5, backoffMs: 1000 };
export const MAX_NOTIFY_BACKOFF_MS = 5 * 60_000;

const SINK_KEYS = ['on', 'command', 'webhook', 'format', 'digest', 'timeout', 'retries', 'backoff'];
const EXAMPLE = 'notify: [ { on: [done, failed], webhook: "https://example.com/hook", format: json } ]';

/** rules.md's `notify:` list, every problem of every sink added to the list. */
// Takes the one field it fills rather than Rules: types.ts imports NotifySink from here.
export function readNotify(fields: FrontmatterFields, rules: { notify: NotifySink[] }, problems: string[]): void {
  if (!fields.has('notify')) return;
  const value = fields.fm.notify;
  if (!Array.isArray(value)) {
    problems.push(`notify must be a list of sinks, like ${EXAMPLE}`);
    return;
  }
  rules.notify = value.flatMap((spec: unknown, i) => {
    const sink = parseSink(spec, `notify[${i}]`, problems);
    return sink ? [sink] : [];
  });
}

function parseSink(value: unknown, where: string, problems: string[]): NotifySink | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`${where} must be a map, like { on: [failed], command: ["notify-send", "nightshift", "{text}"] }`);
    return undefined;
  }
  const spec = value as Record<string, unknown>;
  const before = problems.length;
  for (const key of Object.keys(spec)) {
    if (!SINK_KEYS.includes(key)) problems.push(`${where}: unknown key "${key}" (known: ${SINK_KEYS.join(', ')})`);
  }
  const on = parseOn(spec.on, where, problems);
  const target = parseTarget(spec, where, problems);
  const duration = (key: string): number | undefined => {
    if (spec[key] === undefined || spec[key] === null) return undefined;
    const ms = parseDuration(spec[key]);
    if (ms === undefined) problems.push(`${where}.${key}: ${JSON.stringify(spec[key])} is not a duration; write it like 10m, 30s or 500ms`);
    return ms;
  };
  const digestMs = duration('digest');
  const timeoutMs = duration('timeout') ?? NOTIFY_DEFAULTS.timeoutMs;
  const backoffMs = duration('backoff') ?? NOTIFY_DEFAULTS.backoffMs;
  let retries = NOTIFY_DEFAULTS.retries;
  if (spec.retries !== undefined && spec.retries !== null) {
    const r = spec.retries;
    if (typeof r === 'number' && Number.isInteger(r) && r >= 0 && r <= 100) retries = r;
    else problems.push(`${where}.retries must be a whole number from 0 to 100, got ${JSON.stringify(r)}`);
  }
  if (problems.length > before || !on || !target) return undefined;
  return { label: `${where} ${labelOf(target)}`, on, target, digestMs, timeoutMs, retries, backoffMs };
}

function parseOn(value: unknown, where: string, problems: string[]): NotifyEventName[] | undefined {
  const list = typeof value === 'string' ? [value] : value;
  const known = NOTIFY_EVENTS.join(', ');
  if (!Array.isArray(list) || list.length === 0) {
    problems.push(`${where}.on must list the events to send, any of: ${known}`);
    return undefined;
  }
  const bad = list.filter((e) => typeof e !== 'string' || !(NOTIFY_EVENTS as readonly string[]).includes(e));
  if (bad.length > 0) {
    problems.push(`${where}.on: unknown event ${bad.map((e) => JSON.stringify(e)).join(', ')} (known: ${known})`);
    return undefined;
  }
  return [...new Set(list as NotifyEventName[])];
}

function parseTarget(spec: Record<string, unknown>, where: string, problems: string[]): NotifyTarget | undefined {
  const hasCommand = spec.command !== undefined && spec.command !== null;
  const hasWebhook = spec.webhook !== undefined && spec.webhook !== null;
  if (hasCommand === hasWebhook) {
    problems.push(`${where} needs exactly one of command: [program, args...] or webhook: <url>`);
    return undefined;
  }
  if (hasCommand) {
    if (spec.format !== undefined) problems.push(`${where}.format is for webhooks; a command gets the event JSON on stdin`);
    const argv = spec.command;
    // An argv, never a shell line: the event's text reaches the program as arguments and stdin only.
    if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string') || argv[0] === '') {
      problems.push(`${where}.command must be a list: the program, then its arguments, like ["notify-send", "nightshift", "{text}"]`);
      return undefined;
    }
    if ((argv[0] as string).startsWith('-')) {
      problems.push(`${where}.command must start with the program to run, not an option (${JSON.stringify(argv[0])})`);
      return undefined;
    }
    return { kind: 'command', argv: argv as [string, ...string[]] };
  }
  const url = parseUrl(spec.webhook);
  if (!url) {
    problems.push(`${where}.webhook must be an http:// or https:// URL, got ${JSON.stringify(spec.webhook)}`);
    return undefined;
  }
  const format = spec.format ?? 'json';
  if (format !== 'json' && format !== 'slack') {
    problems.push(`${where}.format must be json or slack, got ${JSON.stringify(format)}`);
    return undefined;
  }
  return { kind: 'webhook', url: url.href, format };
}

function parseUrl(value: unknown): URL | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

function labelOf(target: NotifyTarget): string {
  if (target.kind === 'command') return `command ${target.argv[0]}`;
  return `webhook ${new URL(target.url).origin}`;
}
