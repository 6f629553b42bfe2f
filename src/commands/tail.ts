import { open, stat } from 'node:fs/promises';
import { hasCode } from '../errors.js';
import type { Output } from './output.js';
import { openRepo } from './repo.js';

/** `tail`: prints the last n lines of progress.txt; with follow, keeps printing what is appended. */
export async function tailProgress(
  opts: { cwd: string; lines?: number; follow?: boolean; signal?: AbortSignal },
  io: Output,
): Promise<number> {
  const paths = await openRepo(opts.cwd);
  return printFile(paths.progress, opts.lines ?? 20, opts.follow ?? false, io, opts.signal, () => {
    io.err('no progress.txt yet: it appears when the daemon first runs (nightshift daemon start --once)\n');
  });
}

/**
 * Prints the last `lines` lines of a file (all of it for Infinity); with `follow`, keeps printing what is
 * appended until `signal` aborts. `missing` runs when the file does not exist and nothing is followed.
 * Also what `logs` prints a transcript with.
 */
export async function printFile(
  file: string,
  lines: number,
  follow: boolean,
  io: Output,
  signal: AbortSignal | undefined,
  missing: () => void,
): Promise<number> {
  let size = 0;
  try {
    size = (await stat(file)).size;
  } catch (err) {
    if (!hasCode(err, 'ENOENT')) throw err;
    if (!follow) {
      missing();
      return 0;
    }
  }
  let offset = 0;
  if (size > 0) {
    // The last lines of a long-running log are at its end: read a window, not the whole file.
    const from = Number.isFinite(lines) ? Math.max(0, size - Math.max(64 * 1024, lines * 512)) : 0;
    const text = await readRange(file, from, size);
    const all = text.split('\n');
    if (from > 0) all.shift(); // probably a partial line
    if (all[all.length - 1] === '') all.pop();
    const shown = Number.isFinite(lines) ? all.slice(-lines) : all;
    if (shown.length > 0) io.out(`${shown.join('\n')}\n`);
    offset = size;
  }
  if (!follow) return 0;
  // Polling a file's size once a quarter second costs nothing and works on every filesystem.
  while (!signal?.aborted) {
    await new Promise((r) => setTimeout(r, 250));
    let now: number;
    try {
      now = (await stat(file)).size;
    } catch {
      continue;
    }
    if (now < offset) offset = 0; // truncated or replaced
    if (now > offset) {
      io.out(await readRange(file, offset, now));
      offset = now;
    }
  }
  return 0;
}

async function readRange(file: string, from: number, to: number): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(to - from);
    await handle.read(buffer, 0, buffer.length, from);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}
