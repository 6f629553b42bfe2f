import { describe, expect, it } from 'vitest';
import { formatDuration, MAX_DURATION_MS, parseDuration } from '../../src/util/duration.js';

describe('parseDuration', () => {
  // [input, milliseconds]
  it.each<[unknown, number]>([
    ['30m', 30 * 60_000],
    ['1h', 3_600_000],
    ['45s', 45_000],
    ['500ms', 500],
    ['2d', 2 * 86_400_000],
    ['1h30m', 90 * 60_000],
    ['1h 30m', 90 * 60_000],
    ['1m30s500ms', 90_500],
    ['1.5h', 90 * 60_000],
    ['0.5s', 500],
    ['  10m  ', 600_000],
    ['90', 90_000],
    ['2.5', 2_500],
    [90, 90_000],
    [0.25, 250],
    ['0m5s', 5_000],
    // setTimeout fires at once for anything above 2^31-1 ms: a long limit is clamped, not a zero one.
    ['30d', MAX_DURATION_MS],
    [1e12, MAX_DURATION_MS],
  ])('%j -> %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each<[unknown]>([
    [''],
    ['   '],
    ['m'],
    ['30x'],
    ['30M'],
    ['30 m'],
    ['1h30'],
    ['-5m'],
    ['.5h'],
    ['5m-'],
    ['0'],
    ['0s'],
    ['0h0m'],
    [0],
    [-5],
    [Number.NaN],
    [Number.POSITIVE_INFINITY],
    [null],
    [undefined],
    [true],
    [['30m']],
    [{ m: 30 }],
  ])('%j is not a duration', (input) => {
    expect(parseDuration(input)).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it.each<[number, string]>([
    [0, '0s'],
    [499, '0s'],
    [500, '1s'],
    [45_000, '45s'],
    [59_499, '59s'],
    [59_500, '1m0s'],
    [252_000, '4m12s'],
    [3_600_000, '1h0m0s'],
    [3_725_000, '1h2m5s'],
    [26 * 3_600_000, '26h0m0s'],
  ])('%d ms -> %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('round-trips through parseDuration at second precision', () => {
    for (const ms of [1_000, 61_000, 252_000, 3_725_000, 90_061_000]) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});
