import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProgressLine, ProgressLog, utcStamp, type ProgressFields } from '../../src/progress/log.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { progressEvents } from '../helpers/repo.js';

const T = new Date('2026-11-21T03:14:12.999Z');
const line = (fields: ProgressFields, id: string | undefined = '002-add-login') => formatProgressLine(T, id, 'attempt-failed', fields);

describe('formatProgressLine', () => {
  it('writes the contract example exactly', () => {
    const fields = { attempt: 1, duration: '4m12s', commit: '3f9c2d1', branch: 'nightshift/002-add-login', cost_usd: 0.42 };
    expect(formatProgressLine(T, '002-add-login', 'done', fields)).toBe(
      '2026-11-21T03:14:12Z 002-add-login done attempt=1 duration=4m12s commit=3f9c2d1 branch=nightshift/002-add-login cost_usd=0.42',
    );
  });

  it('uses "-" for daemon events and writes no trailing space without fields', () => {
    expect(formatProgressLine(T, undefined, 'daemon-stop')).toBe('2026-11-21T03:14:12Z - daemon-stop');
  });

  it('stamps UTC at second precision, truncating (never rounding up)', () => {
    expect(utcStamp(new Date('2026-01-01T00:00:00.000+02:00'))).toBe('2025-12-31T22:00:00Z');
    expect(utcStamp(new Date('2026-12-31T23:59:59.999Z'))).toBe('2026-12-31T23:59:59Z');
    expect(utcStamp()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  // [value, as written]
  it.each<[string | number, string]>([
    ['plain', 'plain'],
    ['nightshift/002-add-login', 'nightshift/002-add-login'],
    ['café', 'café'],
    [0, '0'],
    [0.42, '0.42'],
    ['tests failed (exit 1): 3 failing', '"tests failed (exit 1): 3 failing"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['"', '"\\""'],
    ['a=b', '"a=b"'],
    ['C:\\path', '"C:\\\\path"'],
    ['line one\nline two', '"line one line two"'],
    ['crlf\r\n\r\nend', '"crlf end"'],
    ['tab\there', '"tab here"'],
    ['\n', '" "'],
    ['nbsp\u00a0here', '"nbsp\u00a0here"'],
    ['\u001b[31mred\u001b[0m', '"\\u001b[31mred\\u001b[0m"'],
    ['bell\u0007', '"bell\\u0007"'],
    ['unicode\u2028line\u2029separators', '"unicode line separators"'],
    ['c1 csi\u009b2J', '"c1 csi\\u009b2J"'],
  ])('value %j is written as %s', (value, written) => {
    expect(line({ reason: value })).toBe(`2026-11-21T03:14:12Z 002-add-login attempt-failed reason=${written}`);
  });

  it('omits undefined, null and empty values but keeps zero', () => {
    expect(line({ a: undefined, b: null, c: '', d: 0, e: 'x' })).toBe('2026-11-21T03:14:12Z 002-add-login attempt-failed d=0 e=x');
  });

  it('keeps the field order it was given', () => {
    expect(line({ z: 1, a: 2, m: 3 })).toMatch(/ z=1 a=2 m=3$/);
  });

  it('is always one line that parses back to the same values', () => {
    const fields = {
      reason: 'invalid YAML in frontmatter at line 3: "x"\nfix = it',
      file: 'tasks/weird name.md',
      error: 'a\\b "c" d=e',
      plain: 'ok',
    };
    const written = line(fields);
    expect(written).not.toMatch(/[\r\n]/);
    const [event] = progressEvents(written);
    expect(event).toEqual({
      time: '2026-11-21T03:14:12Z',
      id: '002-add-login',
      event: 'attempt-failed',
      fields: { ...fields, reason: 'invalid YAML in frontmatter at line 3: "x" fix = it' },
    });
  });

  it('keeps the id column one token when a file name is not a task id', () => {
    // Invalid files are reported under the name they have, which may hold spaces.
    const written = formatProgressLine(T, 'Bad Name', 'invalid', { file: 'tasks/Bad Name.md', reason: 'bad file name' });
    const [event] = progressEvents(written);
    expect(event?.id).toBe('-');
    expect(event?.event).toBe('invalid');
    expect(event?.fields).toEqual({ id: 'Bad Name', file: 'tasks/Bad Name.md', reason: 'bad file name' });
  });
});

describe('ProgressLog', () => {
  const { tempDir } = cleanUpAfterEach();

  it('appends whole lines and reports each one', async () => {
    const dir = await tempDir('nightshift-progress-');
    const file = join(dir, 'progress.txt');
    const seen: string[] = [];
    const log = new ProgressLog(file, (l) => seen.push(l));
    const first = await log.append(undefined, 'daemon-start', { pid: 42 });
    await new ProgressLog(file).append('001-a', 'claimed', { by: 'host:42' });
    await log.append('001-a', 'done', { attempt: 1 });
    const lines = (await readFile(file, 'utf8')).split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe('');
    expect(lines[0]).toBe(first);
    expect(progressEvents(lines.join('\n')).map((e) => `${e.id} ${e.event}`)).toEqual(['- daemon-start', '001-a claimed', '001-a done']);
    expect(seen).toEqual([lines[0], lines[2]]);
  });
});
