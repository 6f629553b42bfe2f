import type { InfraCause } from './types.js';

/** Every line of `output` that parses as a JSON object, in order (other lines: stderr, banners, are skipped). */
export function jsonLines(output: string): Array<Record<string, unknown>> {
  const objects: Array<Record<string, unknown>> = [];
  for (const line of output.split(/\r?\n/)) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      const v: unknown = JSON.parse(t);
      if (v && typeof v === 'object' && !Array.isArray(v)) objects.push(v as Record<string, unknown>);
    } catch {
      // not JSON after all
    }
  }
  return objects;
}

/**
 * The last pretty-printed JSON object in `output`: one that opens with a line `{` and closes with a
 * line `}` (how gemini -o json prints its result and its error, between other stderr lines).
 */
export function lastJsonBlock(output: string): Record<string, unknown> | undefined {
  const lines = output.split(/\r?\n/);
  for (let end = lines.length - 1; end >= 0; end--) {
    if (lines[end]?.trimEnd() !== '}') continue;
    for (let start = end; start >= 0; start--) {
      if (lines[start]?.trimEnd() !== '{') continue;
      try {
        const v: unknown = JSON.parse(lines.slice(start, end + 1).join('\n'));
        if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
      } catch {
        // an inner brace: keep looking further up
      }
    }
  }
  return undefined;
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function obj(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** Infrastructure causes recognised in free error text, most specific first. */
const CAUSE_PATTERNS: Array<[InfraCause, RegExp]> = [
  ['usage-limit', /usage limit|quota|insufficient[_ ]credit|credit balance|billing|exhausted your/i],
  ['rate-limit', /rate[_ -]?limit|too many requests|\b429\b/i],
  [
    'auth',
    /authenticat|unauthori[sz]ed|invalid[_ ]api[_ ]key|api key|not logged in|\blog ?in\b|\b401\b|\b403\b|forbidden|permission denied by provider/i,
  ],
  [
    'network',
    /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|EAI_AGAIN|network|connection (error|refused|reset)|APIConnectionError|fetch failed/i,
  ],
  ['server', /internal server error|service unavailable|overloaded|bad gateway|\b50[0234]\b|InternalServerError|ServiceUnavailable/i],
];

/** Which infrastructure failure an error text describes, if any. */
export function infraCause(text: string): InfraCause | undefined {
  for (const [cause, re] of CAUSE_PATTERNS) if (re.test(text)) return cause;
  return undefined;
}

/**
 * A reset time stated in an error text: "Please retry in 37s", "try again in 2m", "resets at
 * 2026-11-22T03:00:00Z", "retry after 120 seconds". Relative times count from `now`.
 */
export function resetTimeIn(text: string, now: Date = new Date()): Date | undefined {
  const iso = /(?:reset|retry|try again)[^0-9]{0,30}(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2}))/i.exec(text);
  if (iso?.[1]) {
    const d = new Date(iso[1]);
    if (!Number.isNaN(d.getTime())) return d;
  }
  const rel = /(?:retry|try again|reset)s?\s+(?:in|after)\s+([0-9.]+)\s*(ms|s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?)\b/i.exec(
    text,
  );
  if (rel?.[1] && rel[2]) {
    const n = Number(rel[1]);
    const unit = rel[2].toLowerCase();
    const ms = unit === 'ms' ? n : unit.startsWith('s') ? n * 1000 : unit.startsWith('m') ? n * 60_000 : n * 3_600_000;
    if (Number.isFinite(ms) && ms > 0) return new Date(now.getTime() + ms);
  }
  return undefined;
}
