import { parseDuration } from '../util/duration.js';

/** Executor names and task kinds: lower case, no option-looking leading dash. */
export const NAME = /^[a-z0-9][a-z0-9_-]*$/;
/** Conservative branch/remote names: what git allows minus anything that could read as an option. */
export const REF_NAME = /^[A-Za-z0-9_][A-Za-z0-9._/-]*$/;

/**
 * Reads rules.md's frontmatter one key at a time. A key that is absent (or null) reads as undefined; a key
 * of the wrong shape adds one problem to the shared list and reads as undefined too, so every problem of
 * the file is reported at once.
 */
export class FrontmatterFields {
  constructor(
    readonly fm: Record<string, unknown>,
    readonly problems: string[],
  ) {}

  has(key: string): boolean {
    return this.fm[key] !== undefined && this.fm[key] !== null;
  }

  text(key: string): string | undefined {
    if (!this.has(key)) return undefined;
    const v = this.fm[key];
    if (typeof v === 'string' && v.trim() !== '') return v;
    this.problems.push(`${key} must be text`);
    return undefined;
  }

  positiveInt(key: string): number | undefined {
    if (!this.has(key)) return undefined;
    const v = this.fm[key];
    if (typeof v === 'number' && Number.isInteger(v) && v >= 1) return v;
    this.problems.push(`${key} must be a whole number of at least 1, got ${JSON.stringify(v)}`);
    return undefined;
  }

  duration(key: string): number | undefined {
    if (!this.has(key)) return undefined;
    const ms = parseDuration(this.fm[key]);
    if (ms === undefined) this.problems.push(`${key}: ${JSON.stringify(this.fm[key])} is not a duration; write it like 30m, 1h or 90s`);
    return ms;
  }

  names(key: string): string[] | undefined {
    if (!this.has(key)) return undefined;
    const v = this.fm[key];
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
    this.problems.push(`${key} must be a list, like ${key}: [a, b]`);
    return undefined;
  }
}

/** "5MB", "500 KB", "1.5m", 1048576: a size in bytes, or undefined when it is not one. */
export function parseSize(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 1 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?\s*$/i.exec(value);
  if (!m) return undefined;
  const unit = (m[2] ?? 'b').toLowerCase()[0] as string;
  const factor = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  const bytes = Math.floor(Number(m[1]) * factor);
  return bytes >= 1 ? bytes : undefined;
}
