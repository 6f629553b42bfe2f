const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * The longest limit a timer can hold (about 24.8 days). Node fires a setTimeout above it after 1 ms, so
 * "timeout: 30d" would otherwise stop every attempt at once; longer limits are clamped to it.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/**
 * Parses "30m", "1h30m", "45s", "500ms" or a bare number of seconds into milliseconds.
 * Returns undefined for anything else so the caller can report it with context.
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return positive(value * 1000);
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return positive(Number(text) * 1000);
  const parts = text.match(/^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d)\s*)+$/);
  if (!parts) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) {
    total += Number(amount) * (UNITS[unit as string] as number);
  }
  return positive(total);
}

/** A zero limit would stop every attempt before it starts: refused like any other non-duration. */
function positive(ms: number): number | undefined {
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, MAX_DURATION_MS) : undefined;
}

/** 252000 -> "4m12s", as progress.txt shows durations. */
export function formatDuration(ms: number): string {
  const totalSeconds = Math.round(ms / 1000);
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
