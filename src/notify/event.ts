import { basename } from 'node:path';
import type { NotifyEventName } from '../config/notifyRules.js';
import type { DaemonEvents } from '../run/events.js';
import type { RunSummary } from '../daemon/types.js';

/**
 * One thing that happened, as sinks receive it (the JSON body, a command's stdin). Flat and small: a
 * receiver can branch on `event` and read the rest without knowing nightshift's internals.
 */
export interface NotifyEvent {
  /** `test` only for `nightshift notify test`'s sample. */
  event: NotifyEventName | 'test';
  /** UTC ISO-8601. */
  time: string;
  /** The repository's folder: one webhook may hear from several checkouts and machines. */
  repo: string;
  host: string;
  task?: string;
  attempt?: number;
  reason?: string;
  commit?: string;
  branch?: string;
  executor?: string;
  /** parked: when the executor comes back by itself. */
  until?: string;
  budget?: { name: string; spent: number; limit: number; unit: string };
  /** daemon-stopped: the run's tally. */
  summary?: RunSummary;
  /** report: where it was written, and its text. */
  file?: string;
  markdown?: string;
}

/** What an event carries beyond its name and origin. */
export type EventDetails = Omit<NotifyEvent, 'event' | 'time' | 'repo' | 'host'>;

/**
 * Turns the daemon's events into the names users write in `on:`. queue-empty is said once per stretch of
 * work: the daemon goes idle after every scan that finds nothing to start, and one finished task is
 * enough to make the next idle worth telling.
 */
export function listen(events: DaemonEvents, emit: (name: NotifyEventName, details: EventDetails) => void): { workSinceEmpty(): boolean } {
  let worked = false;
  const ended = () => (worked = true);
  events.on('task:done', ({ id, attempt, commit, branch }) => {
    ended();
    emit('done', { task: id, attempt, commit, branch });
  });
  events.on('task:failed', ({ id, attempt, reason }) => {
    ended();
    emit('failed', { task: id, attempt, reason });
  });
  events.on('task:blocked', ({ id, reason }) => {
    ended();
    emit('blocked', { task: id, reason });
  });
  events.on('task:cancelled', ended);
  events.on('executor:parked', ({ executor, reason, until }) => emit('parked', { executor, reason, until }));
  events.on('executor:resumed', ({ executor }) => emit('resumed', { executor }));
  events.on('budget:reached', ({ budget, spent, limit, unit }) => emit('budget-reached', { budget: { name: budget, spent, limit, unit } }));
  events.on('report:written', ({ file, markdown }) => emit('report', { file, markdown }));
  events.on('idle', () => {
    if (!worked) return;
    worked = false;
    emit('queue-empty', {});
  });
  return {
    workSinceEmpty: () => {
      const w = worked;
      worked = false;
      return w;
    },
  };
}

/** One line a person reads: a desktop popup, a Slack message, `{text}` in a command. */
export function eventText(e: NotifyEvent): string {
  const where = ` (${basename(e.repo)})`;
  switch (e.event) {
    case 'done':
      return `${e.task} done${e.commit ? ` at ${e.commit.slice(0, 7)}` : ''}${e.branch ? ` on ${e.branch}` : ''}${where}`;
    case 'failed':
      return `${e.task} failed: ${e.reason ?? 'no reason given'}${where}`;
    case 'blocked':
      return `${e.task} blocked: ${e.reason ?? 'no reason given'}${where}`;
    case 'parked':
      return `executor ${e.executor} parked${e.until ? ` until ${e.until}` : ''}: ${e.reason ?? ''}${where}`;
    case 'resumed':
      return `executor ${e.executor} resumed${where}`;
    case 'budget-reached':
      return `budget ${e.budget?.name} reached: ${e.budget?.spent} of ${e.budget?.limit} ${e.budget?.unit}; nothing more is claimed${where}`;
    case 'queue-empty':
      return `the queue is empty${where}`;
    case 'daemon-stopped': {
      const s = e.summary;
      return `daemon stopped${s ? `: ${s.done} done, ${s.failed} failed, ${s.blocked} blocked` : ''}${where}`;
    }
    case 'report':
      return `report written to ${e.file}${where}`;
    case 'test':
      return `nightshift notify test: this sink works${where}`;
    default: {
      const never: never = e.event;
      return String(never);
    }
  }
}

/** A digest's one line: how many of each, in the order they first came. */
export function digestText(events: NotifyEvent[]): string {
  const counts = new Map<string, number>();
  for (const e of events) counts.set(e.event, (counts.get(e.event) ?? 0) + 1);
  const parts = [...counts].map(([name, n]) => `${n} ${name}`);
  return `nightshift: ${parts.join(', ')}${events[0] ? ` (${basename(events[0].repo)})` : ''}`;
}
