import { appendFile } from 'node:fs/promises';

export type ProgressEvent =
  | 'daemon-start'
  | 'daemon-stop'
  | 'enqueued'
  | 'claimed'
  | 'attempt-started'
  | 'attempt-failed'
  | 'retry-scheduled'
  | 'tests-passed'
  | 'committed'
  | 'pushed'
  | 'done'
  | 'failed'
  | 'blocked'
  | 'requeued'
  | 'cancelled'
  | 'recovered'
  | 'invalid';

export type ProgressFields = Record<string, string | number | undefined | null>;

/** 2026-11-21T03:14:12Z: UTC, second precision, as the contract shows. */
export function utcStamp(date: Date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** One progress.txt line (without newline). Values with spaces, quotes or '=' are double-quoted. */
export function formatProgressLine(time: Date, id: string | undefined, event: ProgressEvent, fields: ProgressFields = {}): string {
  const parts = [utcStamp(time), id ?? '-', event];
  for (const [key, raw] of Object.entries(fields)) {
    if (raw === undefined || raw === null || raw === '') continue;
    parts.push(`${key}=${formatValue(String(raw))}`);
  }
  return parts.join(' ');
}

function formatValue(value: string): string {
  const flat = value.replace(/[\r\n\t]+/g, ' ');
  return /[\s"=\\]/.test(flat) || flat === '' ? JSON.stringify(flat) : flat;
}

/**
 * The append-only run log for people. Each line is one write() on an O_APPEND descriptor, so lines from
 * several processes interleave whole, never torn.
 */
export class ProgressLog {
  constructor(
    readonly file: string,
    private readonly onLine?: (line: string) => void,
  ) {}

  async append(id: string | undefined, event: ProgressEvent, fields: ProgressFields = {}): Promise<string> {
    const line = formatProgressLine(new Date(), id, event, fields);
    await appendFile(this.file, `${line}\n`, { flag: 'a' });
    this.onLine?.(line);
    return line;
  }
}
