import { appendFile } from 'node:fs/promises';
import { isValidId } from '../task/id.js';
import { secretMasker, type Masker } from '../util/secrets.js';

export type ProgressEvent =
  | 'daemon-start'
  | 'daemon-stop'
  | 'enqueued'
  | 'claimed'
  | 'attempt-started'
  | 'attempt-failed'
  | 'retry-scheduled'
  | 'tests-passed'
  | 'reviewed'
  | 'committed'
  | 'pushed'
  | 'landed'
  | 'done'
  | 'failed'
  | 'blocked'
  | 'requeued'
  | 'cancelled'
  | 'recovered'
  | 'invalid'
  | 'removed'
  | 'renamed'
  | 'fallback'
  | 'executor-parked'
  | 'executor-resumed'
  | 'task-file-restored'
  | 'planned'
  | 'plan-reviewed'
  | 'approved'
  | 'budget-reached'
  | 'notified'
  | 'claim-expired'
  | 'taken-over';

export type ProgressFields = Record<string, string | number | undefined | null>;

/** 2026-11-21T03:14:12Z: UTC, second precision, as the contract shows. */
export function utcStamp(date: Date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** One progress.txt line (without newline). Values with spaces, quotes or '=' are double-quoted. */
export function formatProgressLine(time: Date, id: string | undefined, event: ProgressEvent, fields: ProgressFields = {}): string {
  // An invalid file is reported under its file name, which need not be a task id ("Bad Name"): the id
  // column must stay one token for readers that split on spaces, so such a name goes in a field.
  const valid = id === undefined || isValidId(id);
  const parts = [utcStamp(time), valid ? (id ?? '-') : '-', event];
  const all = valid ? fields : { id, ...fields };
  for (const [key, raw] of Object.entries(all)) {
    if (raw === undefined || raw === null || raw === '') continue;
    parts.push(`${key}=${formatValue(String(raw))}`);
  }
  return parts.join(' ');
}

function formatValue(value: string): string {
  const flat = value.replace(/[\r\n\t\v\f\u0085\u2028\u2029]+/g, ' ');
  // Control characters are quoted so they come out escaped: an ANSI sequence from an executor's output
  // must not reach the terminal of someone running `tail`.
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  if (!/[\s"=\\\u0000-\u001f\u007f-\u009f]/.test(flat) && flat !== '') return flat;
  return JSON.stringify(flat).replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The append-only run log for people. Each line is one write() on an O_APPEND descriptor, so lines from
 * several processes interleave whole, never torn.
 */
export class ProgressLog {
  /** Built once: the environment's secrets do not change while the process runs. */
  private readonly mask: Masker = secretMasker();

  constructor(
    readonly file: string,
    private readonly onLine?: (line: string) => void,
  ) {}

  /**
   * Several lines in one write() (a failed head of a long chain blocks thousands of tasks at once): still
   * whole lines, never interleaved with another process's, in the order given.
   */
  async appendAll(lines: Array<{ id: string | undefined; event: ProgressEvent; fields?: ProgressFields }>): Promise<void> {
    if (lines.length === 0) return;
    const now = new Date();
    const text = lines.map(({ id, event, fields = {} }) =>
      formatProgressLine(
        now,
        id,
        event,
        Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, typeof v === 'string' ? this.mask(v) : v])),
      ),
    );
    await appendFile(this.file, `${text.join('\n')}\n`, { flag: 'a' });
    for (const line of text) this.onLine?.(line);
  }

  async append(id: string | undefined, event: ProgressEvent, fields: ProgressFields = {}): Promise<string> {
    // Values can carry executor output (a failure's last line): no secret reaches progress.txt.
    const masked = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, typeof v === 'string' ? this.mask(v) : v]));
    const line = formatProgressLine(new Date(), id, event, masked);
    await appendFile(this.file, `${line}\n`, { flag: 'a' });
    this.onLine?.(line);
    return line;
  }
}
