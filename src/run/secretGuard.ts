import { streamBlobs } from '../git/blobs.js';
import { stagedRawRecords } from '../git/diff.js';
import type { Git } from '../git/git.js';
import { asLatin1, envSecrets, type EnvSecret } from '../util/secrets.js';
import { isPlaceholder, KEY_BEGIN, TOKEN_SHAPES } from '../util/tokenShapes.js';

/** A private key block with key material after it (not a quoted armour line in code). */
const PRIVATE_KEY = new RegExp(`${KEY_BEGIN.source}(?:\\s|\\\\[nr])*([A-Za-z0-9+/=]{40,})`, 'g');
const NO_OBJECT = /^0+$/;
/** How many files the guard line names before "and N more". */
const MAX_FILES_NAMED = 5;

/** One file of the change, with the blob it had at base (undefined when it is new) and the blob it has now. */
interface ChangedBlob {
  path: string;
  before?: string;
  after: string;
}

/**
 * The secret guard: the staged change must not contain the value of a secret environment variable (see
 * envSecrets) nor a credential of a known shape that is not an obvious placeholder. Reads every changed
 * blob whole, binary and large ones included (`env -0 > env.bin` is a binary file to git); a secret the
 * file already held at base is not the change's doing and does not count. Returns the guard's line, or
 * nothing; the line names files and variables, never a value.
 */
export async function guardSecrets(
  worktree: Git,
  baseCommit: string,
  env: NodeJS.ProcessEnv = process.env,
  rawRecords?: string,
): Promise<string[]> {
  // The guards' own staged diff, when given: its --raw records are the same (no diff driver runs for --raw).
  const blobs = changedBlobs(rawRecords ?? (await stagedRawRecords(worktree, baseCommit)));
  if (blobs.length === 0) return [];
  const secrets = envSecrets(env);
  const scanners = new Map<string, BlobScanner>();
  for (const b of blobs) for (const id of [b.before, b.after]) if (id && !scanners.has(id)) scanners.set(id, new BlobScanner(secrets));
  await streamBlobs(worktree.dir, [...scanners.keys()], {
    chunk: (id, bytes) => scanners.get(id)?.push(bytes),
    end: (id) => scanners.get(id)?.end(),
  });

  // Files grouped by what they hold, so `env > a; env > b` reads as one finding in two files.
  const groups = new Map<string, string[]>();
  for (const b of blobs) {
    const before = b.before ? (scanners.get(b.before)?.found ?? new Map<string, string>()) : new Map<string, string>();
    const items = [...(scanners.get(b.after)?.found ?? new Map<string, string>())]
      .filter(([key]) => !before.has(key))
      .map(([, what]) => what);
    if (items.length === 0) continue;
    const what = describe([...new Set(items)]);
    groups.set(what, [...(groups.get(what) ?? []), b.path]);
  }
  if (groups.size === 0) return [];
  const parts = [...groups].map(([what, paths]) => {
    const sorted = paths.sort();
    const named = sorted.slice(0, MAX_FILES_NAMED).join(', ');
    return `${what} in ${named}${sorted.length > MAX_FILES_NAMED ? ` and ${sorted.length - MAX_FILES_NAMED} more files` : ''}`;
  });
  return [`secrets: the change contains ${parts.join(' and ')}`];
}

/** "the value of $A", "the values of $A, $B", "a GitHub token", or both kinds in one phrase. */
function describe(items: string[]): string {
  const vars = items.filter((i) => i.startsWith('$')).sort();
  const shapes = items.filter((i) => !i.startsWith('$')).sort();
  const phrases: string[] = [];
  if (vars.length > 0) phrases.push(`${vars.length === 1 ? 'the value of' : 'the values of'} ${vars.join(', ')}`);
  phrases.push(...shapes);
  return phrases.join(' and ');
}

/** `git diff --raw -z` records whose new side is a blob: added, modified, renamed, copied or retyped files. */
function changedBlobs(raw: string): ChangedBlob[] {
  const fields = raw.split('\0');
  const out: ChangedBlob[] = [];
  for (let i = 0; i < fields.length;) {
    const meta = fields[i++] as string;
    if (!meta.startsWith(':')) continue;
    const [, newMode = '', oldId = '', newId = '', status = '?'] = meta.slice(1).split(' ');
    const twoPaths = status.startsWith('R') || status.startsWith('C');
    if (twoPaths) i++;
    const path = fields[i++] as string;
    // Deleted (no new side) or a gitlink (a commit of another repository, not content).
    if (NO_OBJECT.test(newId) || newMode === '160000') continue;
    out.push({ path, before: NO_OBJECT.test(oldId) ? undefined : oldId, after: newId });
  }
  return out;
}

/**
 * Finds secrets in one blob read in pieces. Each piece is searched with the end of the one before it,
 * so a secret split between two pieces is still found. `found` maps what was found (the variable, or
 * the token itself, kept only in memory) to how the guard names it.
 */
class BlobScanner {
  readonly found = new Map<string, string>();
  private carry = '';
  private readonly needles: Array<{ name: string; text: string }>;
  private readonly overlap: number;

  constructor(secrets: EnvSecret[]) {
    this.needles = secrets.map((s) => ({ name: s.name, text: asLatin1(s.value) }));
    this.overlap = Math.max(1024, ...this.needles.map((n) => n.text.length));
  }

  push(bytes: Buffer): void {
    const text = this.carry + bytes.toString('latin1');
    this.scan(text);
    this.carry = text.slice(-this.overlap);
  }

  end(): void {
    this.carry = '';
  }

  private scan(text: string): void {
    for (const n of this.needles) if (text.includes(n.text)) this.found.set(`$${n.name}`, `$${n.name}`);
    for (const shape of TOKEN_SHAPES) {
      if (!shape.guard) continue;
      for (const m of text.matchAll(shape.re)) {
        const token = m[0];
        // A variable's own value is named by the variable, and a stand-in is no credential.
        if (isPlaceholder(token) || this.needles.some((n) => n.text.includes(token))) continue;
        this.found.set(`token:${token}`, shape.what);
      }
    }
    for (const m of text.matchAll(PRIVATE_KEY)) this.found.set(`key:${(m[3] ?? '').slice(0, 64)}`, 'a private key');
  }
}
