import { isUtf8 } from 'node:buffer';
import { join } from 'node:path';

/**
 * File names as git and the file system hold them: bytes, not always UTF-8. nightshift keeps a name as a
 * string in which every byte that is not part of valid UTF-8 stands for itself as a lone surrogate
 * U+DC80..U+DCFF (Python's "surrogateescape"). A valid UTF-8 name reads as itself, globs match it as
 * usual, and every name converts back to its exact bytes for git and the file system. Decoding such a name
 * as plain UTF-8 instead turns each odd byte into U+FFFD: the name no longer exists, so an lstat of it
 * says "missing" and a guard skips the file.
 */

/** A lone low surrogate that is not the second half of a pair: an escaped byte. */
const ESCAPED = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/;
const ESCAPED_ALL = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/g;

/** Bytes (a path, or git's -z output of paths) as a string that keeps every byte. */
export function decodePath(bytes: Buffer): string {
  if (isUtf8(bytes)) return bytes.toString('utf8');
  let out = '';
  let start = 0;
  for (let i = 0; i < bytes.length;) {
    const n = utf8SequenceLength(bytes, i);
    if (n > 0) {
      i += n;
      continue;
    }
    out += bytes.toString('utf8', start, i) + String.fromCharCode(0xdc00 + (bytes[i] as number));
    start = ++i;
  }
  return out + bytes.toString('utf8', start);
}

/** The exact bytes of a name made by decodePath. */
export function encodePath(path: string): Buffer {
  if (!ESCAPED.test(path)) return Buffer.from(path, 'utf8');
  const parts: Buffer[] = [];
  let start = 0;
  for (const m of path.matchAll(ESCAPED_ALL)) {
    const at = m.index;
    parts.push(Buffer.from(path.slice(start, at), 'utf8'), Buffer.from([path.charCodeAt(at) - 0xdc00]));
    start = at + 1;
  }
  parts.push(Buffer.from(path.slice(start), 'utf8'));
  return Buffer.concat(parts);
}

/** `dir` joined with a name from git, as the file system functions take it (bytes when it needs them). */
export function fsPath(dir: string, path: string): string | Buffer {
  return ESCAPED.test(path) ? Buffer.concat([Buffer.from(`${dir}/`, 'utf8'), encodePath(path)]) : join(dir, path);
}

/**
 * A name for people: as is when it is printable UTF-8, otherwise in double quotes with C escapes, odd
 * bytes as \xNN (git's core.quotePath does the same with octal). Every message that names a path uses
 * this, so no lone surrogate reaches a task file or a log.
 */
export function showPath(path: string): string {
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  if (!ESCAPED.test(path) && !/["\\\u0000-\u001f\u007f]/.test(path)) return path;
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    const escaped = c >= 0xdc80 && c <= 0xdcff && !(i > 0 && isHighSurrogate(path.charCodeAt(i - 1)));
    if (escaped) out += `\\x${(c - 0xdc00).toString(16).padStart(2, '0')}`;
    else if (c === 0x22 || c === 0x5c) out += `\\${path[i] as string}`;
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0a) out += '\\n';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += path[i] as string;
  }
  return `"${out}"`;
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

/** Length of the valid UTF-8 sequence at `i` (1 to 4), or 0 when the byte there starts none. */
function utf8SequenceLength(b: Buffer, i: number): number {
  const b0 = b[i] as number;
  if (b0 < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && (b[i + k] as number) >= lo && (b[i + k] as number) <= hi;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    // No overlong forms (E0 A0..) and no UTF-16 surrogates (ED ..9F): those bytes are escaped one by one.
    const lo = b0 === 0xe0 ? 0xa0 : 0x80;
    const hi = b0 === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const lo = b0 === 0xf0 ? 0x90 : 0x80;
    const hi = b0 === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}
