import { describe, expect, it } from 'vitest';
import { decodePath, encodePath, fsPath, showPath } from '../../src/util/bytePaths.js';

/** File names as bytes: every byte string survives the trip to a string and back, and shows escaped. */
describe('decodePath and encodePath', () => {
  it.each<[string, number[]]>([
    ['ASCII', [0x61, 0x2f, 0x62]],
    ['valid UTF-8 (é, €, 😀)', [0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80]],
    ['Latin-1 é', [0x63, 0x61, 0x66, 0xe9]],
    ['a lone 0xff and 0xfe', [0x6c, 0xff, 0x2f, 0xfe]],
    ['a truncated sequence at the end', [0x61, 0xe2, 0x82]],
    ['an overlong slash', [0xc0, 0xaf]],
    ['an encoded UTF-16 surrogate', [0xed, 0xa0, 0x80]],
    ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['an escaped byte after a 4-byte character', [0xf0, 0x90, 0x82, 0x80, 0xff]],
    ['bytes that read as an escape if taken for UTF-8 (ED B2 80)', [0xed, 0xb2, 0x80]],
  ])('%s round-trips byte for byte', (_, bytes) => {
    const buf = Buffer.from(bytes);
    expect(encodePath(decodePath(buf)).equals(buf)).toBe(true);
  });
  it('reads valid UTF-8 as itself and each odd byte as one escape', () => {
    expect(decodePath(Buffer.from('café/😀', 'utf8'))).toBe('café/😀');
    expect(decodePath(Buffer.from([0x61, 0xff, 0xe9, 0x62]))).toBe('a\udcff\udce9b');
    expect(decodePath(Buffer.from([0x61, 0xe2, 0x82, 0x62]))).toBe('a\udce2\udc82b');
  });
  it('keeps the NUL separators of git -z output, so records split after decoding', () => {
    const out = Buffer.concat([Buffer.from('?? a\0?? b'), Buffer.from([0xff]), Buffer.from('\0')]);
    expect(decodePath(out).split('\0')).toEqual(['?? a', '?? b\udcff', '']);
  });
  it('opens odd names by their bytes and plain ones as strings', () => {
    expect(fsPath('/w', 'src/a.ts')).toBe('/w/src/a.ts');
    expect(fsPath('/w', 'x\udcff')).toEqual(Buffer.from([0x2f, 0x77, 0x2f, 0x78, 0xff]));
  });
});

describe('showPath', () => {
  it.each<[string, string]>([
    ['src/a.ts', 'src/a.ts'],
    ['café 😀.md', 'café 😀.md'],
    ['l\udcff', '"l\\xff"'],
    ['caf\udce9.txt', '"caf\\xe9.txt"'],
    ['tab\there', '"tab\\there"'],
    ['new\nline', '"new\\nline"'],
    ['bell\u0007', '"bell\\x07"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['back\\slash', '"back\\\\slash"'],
    // Literal text that looks like an escape is quoted too, so it cannot pass for one.
    ['l\\xff', '"l\\\\xff"'],
  ])('%j shows as %s', (path, shown) => {
    expect(showPath(path)).toBe(shown);
  });
});
