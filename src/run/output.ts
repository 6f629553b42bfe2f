import { open, stat, appendFile } from 'node:fs/promises';
import { maskSecrets } from '../util/secrets.js';

/** Current size of a transcript, to read back only what one step wrote. */
export async function logSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

/** The last `maxLines` lines written to `file` after byte `from` (reads at most 16 KiB). */
export async function tailSince(file: string, from: number, maxLines = 40): Promise<string> {
  const size = await logSize(file);
  const start = Math.max(from, size - 16 * 1024);
  if (size <= start) return '';
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    const lines = buffer.toString('utf8').split(/\r?\n/);
    while (lines.length > 0 && lines[lines.length - 1]?.trim() === '') lines.pop();
    return lines.slice(-maxLines).join('\n');
  } finally {
    await handle.close();
  }
}

const HEADER = /^==> \d{4}-\d\d-\d\dT[\d:.]+Z /;

/** The last non-empty line of a tail, for one-line error reasons. */
export function lastLine(tail: string): string {
  // Our own section headers are not the step's output: a silent step has no last line.
  const lines = tail.split('\n').filter((l) => l.trim() !== '' && !HEADER.test(l));
  return lines[lines.length - 1]?.trim() ?? '';
}

/** A section header in the transcript so a reader sees which step wrote what (reasons can quote output: masked). */
export async function logHeader(file: string, text: string): Promise<void> {
  await appendFile(file, `\n==> ${new Date().toISOString()} ${maskSecrets(text)}\n`);
}

/** Everything written to `file` after byte `from`, at most the last `maxBytes` of it (an agent's own output). */
export async function readSince(file: string, from: number, maxBytes = 8 * 1024 * 1024): Promise<string> {
  const size = await logSize(file);
  const start = Math.max(from, size - maxBytes);
  if (size <= start) return '';
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}
