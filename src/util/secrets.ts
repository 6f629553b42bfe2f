import { createReadStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { basename, dirname, join } from 'node:path';
import { hasCode } from '../errors.js';

/** What a masked value is replaced with. */
export const MASK = '***';
/** Shorter values are not masked: "1", "true" or "dev" would blank out ordinary words everywhere. */
export const MIN_SECRET_LENGTH = 6;
/** Names that look like they hold a credential: *_KEY, *_TOKEN, *SECRET*, *PASSWORD*. */
const SECRET_NAME = /(?:_KEY|_TOKEN)$|SECRET|PASSWORD/i;

export function looksSecret(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** The values to mask: those of secret-looking variables, long enough to be worth it, longest first. */
export function secretValues(env: NodeJS.ProcessEnv = process.env): string[] {
  const values = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !looksSecret(name)) continue;
    const trimmed = value.trim();
    if (trimmed.length >= MIN_SECRET_LENGTH) values.add(trimmed);
  }
  // Longest first, so a secret that contains another is masked whole.
  return [...values].sort((a, b) => b.length - a.length);
}

export type Masker = (text: string) => string;

/** A function that replaces every secret value in a text with ***. Pure given the env. */
export function secretMasker(env: NodeJS.ProcessEnv = process.env): Masker {
  const values = secretValues(env);
  if (values.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const value of values) if (out.includes(value)) out = out.split(value).join(MASK);
    return out;
  };
}

/** Masks the secrets of this process's environment in one text. */
export function maskSecrets(text: string): string {
  return secretMasker()(text);
}

/**
 * Rewrites a file with its secrets masked, atomically (temp file + rename), line by line so a large
 * transcript is never held in memory whole. The executor writes its transcript straight into a file
 * descriptor, so this runs after each step. A file without secrets is left as it is.
 */
export async function maskFile(file: string, mask: Masker = secretMasker(), values: string[] = secretValues()): Promise<void> {
  if (values.length === 0) return;
  if (!(await containsAny(file, values))) return;
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.mask`);
  const out = await open(temp, 'w');
  const input = createReadStream(file);
  try {
    const lines = createInterface({ input, crlfDelay: Infinity });
    let first = true;
    for await (const line of lines) {
      await out.write(`${first ? '' : '\n'}${mask(line)}`);
      first = false;
    }
    // readline drops the final newline; keep the file ending as it did.
    if (await endsWithNewline(file)) await out.write('\n');
    await out.sync();
  } catch (err) {
    await out.close();
    await rm(temp, { force: true });
    throw err;
  } finally {
    input.destroy();
  }
  await out.close();
  await rename(temp, file);
}

async function containsAny(file: string, values: string[]): Promise<boolean> {
  // Closing readline does not close the stream under it: destroyed in finally, or each early return
  // leaks a descriptor (and keeps a replaced transcript's disk space) until the daemon exits.
  const input = createReadStream(file);
  try {
    const lines = createInterface({ input, crlfDelay: Infinity });
    for await (const line of lines) {
      if (values.some((v) => line.includes(v))) {
        lines.close();
        return true;
      }
    }
    return false;
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return false;
    throw err;
  } finally {
    input.destroy();
  }
}

async function endsWithNewline(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    if (size === 0) return false;
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, size - 1);
    return byte[0] === 0x0a;
  } finally {
    await handle.close();
  }
}
