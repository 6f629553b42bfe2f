import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LineCutter, type Piece } from '../../src/exec/lineCutter.js';
import { Transcript, type TranscriptLimits } from '../../src/exec/transcript.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';

describe('LineCutter', () => {
  const cut = (cap: number, chunks: string[]) => {
    const cutter = new LineCutter(cap);
    const out: Piece[] = [];
    for (const c of chunks) cutter.push(Buffer.from(c), out);
    cutter.end(out);
    return out.map((p) =>
      p.kind === 'line' ? `line:${p.bytes.toString()}` : p.kind === 'cut' ? `cut:${p.kept.toString()}` : `end:${p.dropped}`,
    );
  };

  it('hands on whole lines, ended by \\n or \\r, across chunks, and the last unfinished one at the end', () => {
    expect(cut(10, ['ab', 'c\nde\r', 'f\r\ng'])).toEqual(['line:abc\n', 'line:de\r', 'line:f\r', 'line:\n', 'line:g']);
  });

  it('cuts a line at the cap, counts what it drops, across chunks, and goes on with the next line', () => {
    expect(cut(4, ['abcdefg', 'hij\nok\n'])).toEqual(['cut:abcd', 'end:6', 'line:ok\n']);
    expect(cut(4, ['abcd\n'])).toEqual(['line:abcd\n']);
    expect(cut(4, ['abcdefg'])).toEqual(['cut:abcd', 'end:3']);
  });
});

describe('Transcript', () => {
  const left = cleanUpAfterEach();
  const env = { MY_API_TOKEN: 'hunter2hunter2' };

  async function write(chunks: string[][], limits: TranscriptLimits, before = ''): Promise<string> {
    const dir = await left.tempDir('nightshift-transcript-');
    const file = join(dir, '1.log');
    await writeFile(file, before);
    const t = await Transcript.open(file, [env], limits);
    // One Readable per stream of the child; each array element arrives as its own chunk.
    await Promise.all(chunks.map((c) => t.drain(Readable.from(c.map((s) => Buffer.from(s, 'latin1'))))));
    await t.close();
    return readFile(file, 'latin1');
  }
  const wide: TranscriptLimits = { lineCap: 1024, attemptCap: 1024 * 1024, tailBytes: 1024 };

  it('masks a secret split between two chunks, and keeps every other byte', async () => {
    expect(await write([['the token is hunt', 'er2hunter2 ok\n', '\xff\xfe done']], wide)).toBe('the token is *** ok\n\xff\xfe done');
  });

  it('keeps lines of stdout and stderr whole even when their chunks interleave', async () => {
    const text = await write(
      [
        ['out-a ', 'out-b\n'],
        ['err-a ', 'err-b\n'],
      ],
      wide,
    );
    expect(text.split('\n').sort()).toEqual(['', 'err-a err-b', 'out-a out-b']);
  });

  it('cuts a long line with a marker and never writes half of a secret that straddles the cut', async () => {
    const limits = { ...wide, lineCap: 14 };
    expect(await write([['aaaa aaaa hunter2hunter2 bbbb\nnext\n']], limits)).toBe(
      'aaaa aaaa \n[nightshift: line over 14 bytes, 19 bytes cut]\nnext\n',
    );
  });

  it('past the attempt cap keeps only the tail, with markers saying what was cut', async () => {
    const limits = { lineCap: 100, attemptCap: 40, tailBytes: 22 };
    // 11 bytes each; the header counts against the cap, so 3 lines fit in the 33 bytes left.
    const lines = Array.from({ length: 10 }, (_, i) => `line-${i}-789\n`);
    const text = await write([lines], limits, 'header\n');
    expect(text).toBe(
      'header\n' +
        lines.slice(0, 3).join('') +
        '[nightshift: transcript over its 40 bytes cap: from here on only the last 22 bytes of output are kept]\n' +
        '[nightshift: 55 bytes cut; the last 22 bytes of output follow]\n' +
        lines.slice(8).join(''),
    );
  });
});
