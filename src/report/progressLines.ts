import { readFile } from 'node:fs/promises';
import { hasCode } from '../errors.js';

/** One progress.txt line, read back: `<time> <id or -> <event> key=value ...`. */
export interface ProgressLine {
  time: string;
  /** undefined for `-` (a daemon-wide line). */
  id?: string;
  event: string;
  fields: Record<string, string>;
}

/** A value: a bare token, or a JSON string (progress/log.ts quotes values with spaces, quotes or `=`). */
const FIELD = /\s([a-z_]+)=("(?:[^"\\]|\\.)*"|\S+)/g;

/** Reads one line; undefined for anything that is not a progress line (a torn last line, a note). */
export function parseProgressLine(line: string): ProgressLine | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (\S+) ([a-z-]+)(.*)$/.exec(line);
  if (!m) return undefined;
  const fields: Record<string, string> = {};
  for (const f of (m[4] as string).matchAll(FIELD)) {
    const raw = f[2] as string;
    let value = raw;
    if (raw.startsWith('"')) {
      try {
        value = JSON.parse(raw) as string;
      } catch {
        value = raw.slice(1, -1);
      }
    }
    fields[f[1] as string] = value;
  }
  return { time: m[1] as string, id: m[2] === '-' ? undefined : m[2], event: m[3] as string, fields };
}

/** Every line of progress.txt (none when it does not exist yet). */
export async function readProgressLines(file: string): Promise<ProgressLine[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return [];
    throw err;
  }
  return text.split('\n').flatMap((l) => parseProgressLine(l) ?? []);
}
