import type { Masker } from '../util/secrets.js';
import { digestText, eventText, type NotifyEvent } from './event.js';

/** What one delivery carries: one event, or a digest of every event of a window. */
export type Message = { kind: 'event'; event: NotifyEvent } | { kind: 'digest'; events: NotifyEvent[] };

/** A Slack message stays readable: a digest of a long night lists this many events, then a count. */
const SLACK_DIGEST_LINES = 30;

/** The JSON a webhook (format: json) or a command's stdin receives. */
export function messageJson(m: Message): unknown {
  if (m.kind === 'event') return m.event;
  const first = m.events[0];
  return {
    event: 'digest',
    time: m.events.at(-1)?.time ?? new Date().toISOString(),
    repo: first?.repo,
    host: first?.host,
    count: m.events.length,
    text: digestText(m.events),
    events: m.events,
  };
}

/** The person-readable text of a message. */
export function messageText(m: Message): string {
  return m.kind === 'event' ? eventText(m.event) : digestText(m.events);
}

/** Slack's incoming-webhook body: one text, a digest as a list. */
export function slackBody(m: Message): { text: string } {
  if (m.kind === 'event') return { text: `nightshift: ${eventText(m.event)}` };
  const lines = m.events.slice(0, SLACK_DIGEST_LINES).map((e) => `• ${eventText(e)}`);
  const more = m.events.length - SLACK_DIGEST_LINES;
  if (more > 0) lines.push(`… and ${more} more`);
  return { text: [digestText(m.events), ...lines].join('\n') };
}

/**
 * What a command sink gets besides stdin: NIGHTSHIFT_EVENT (the name, or `digest`), NIGHTSHIFT_EVENT_TEXT,
 * and each simple field of a single event as NIGHTSHIFT_EVENT_<FIELD>.
 */
export function messageEnv(m: Message): Record<string, string> {
  const env: Record<string, string> = { NIGHTSHIFT_EVENT_TEXT: messageText(m) };
  if (m.kind === 'digest') {
    env.NIGHTSHIFT_EVENT = 'digest';
    env.NIGHTSHIFT_EVENT_COUNT = String(m.events.length);
    return env;
  }
  for (const [key, value] of Object.entries(m.event)) {
    if (typeof value === 'string' || typeof value === 'number') {
      const name = key === 'event' ? 'NIGHTSHIFT_EVENT' : `NIGHTSHIFT_EVENT_${key.toUpperCase()}`;
      env[name] = String(value);
    }
  }
  return env;
}

/**
 * A command's argv with `{event}`, `{text}` and `{task}` filled in. Each placeholder becomes part of one
 * argument, never a shell word: a reason that reads `; rm -rf ~` is text to notify-send and nothing more.
 */
export function fillArgv(argv: readonly string[], m: Message): string[] {
  const values: Record<string, string> = {
    event: m.kind === 'event' ? m.event.event : 'digest',
    text: messageText(m),
    task: m.kind === 'event' ? (m.event.task ?? '') : '',
  };
  return argv.map((arg) => arg.replace(/\{(event|text|task)\}/g, (_, name: string) => values[name] ?? ''));
}

/** Every string in an event with secrets masked: bodies, arguments and environment are all built from it. */
export function maskEvent(e: NotifyEvent, mask: Masker): NotifyEvent {
  return maskDeep(e, mask) as NotifyEvent;
}

function maskDeep(value: unknown, mask: Masker): unknown {
  if (typeof value === 'string') return mask(value);
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, mask));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskDeep(v, mask)]));
  }
  return value;
}
