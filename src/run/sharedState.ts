import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { hasCode } from '../errors.js';
import { configChanges } from './configDiff.js';

/**
 * What an executor can change outside its worktree through the git dir it shares with the user's checkout:
 * the config (remotes included), hooks, stash and info files, plus rules.md and scope.md beside it. Read
 * with plain fs reads: git itself could be subverted by a changed config (a filter, an fsmonitor command).
 * About 20 small files: well under a millisecond of reads per step.
 */
export interface SharedSnapshot {
  /** Path relative to the git common dir -> bytes, null when absent. */
  gitFiles: Map<string, Buffer | null>;
  hooks: Map<string, HookEntry>;
  /** refs/stash (loose) and logs/refs/stash: the user's stash, restored exactly. */
  stash: { ref: Buffer | null; log: Buffer | null };
  /** rules.md and scope.md (absolute path -> bytes, null when absent). */
  userFiles: Map<string, Buffer | null>;
}

export type HookEntry = { kind: 'file'; mode: number; bytes: Buffer } | { kind: 'link'; target: string } | { kind: 'dir' };

export interface SharedPlaces {
  commonDir: string;
  userFiles: string[];
}

/** Config-like files compared byte for byte (config.worktree of every worktree is added when present). */
const GIT_FILES = ['config', 'config.worktree', 'info/attributes', 'info/exclude', 'objects/info/alternates'];

export type SharedChange =
  | { kind: 'config'; file: string; keys: string[] }
  | { kind: 'git-file'; file: string }
  | { kind: 'hook'; name: string; how: 'added' | 'changed' | 'removed' }
  | { kind: 'stash'; dropped: number; added: number }
  | { kind: 'user-file'; path: string };

export async function snapshotShared(places: SharedPlaces): Promise<SharedSnapshot> {
  const { commonDir } = places;
  const names = [...GIT_FILES];
  for (const wt of await readdir(join(commonDir, 'worktrees')).catch(() => [] as string[])) names.push(`worktrees/${wt}/config.worktree`);
  const [gitFiles, hooks, ref, log, userFiles] = await Promise.all([
    readAll(names.map((n) => [n, join(commonDir, n)])),
    readHooks(join(commonDir, 'hooks')),
    readOrNull(join(commonDir, 'refs', 'stash')),
    readOrNull(join(commonDir, 'logs', 'refs', 'stash')),
    readAll(places.userFiles.map((p) => [p, p])),
  ]);
  return { gitFiles, hooks, stash: { ref, log }, userFiles };
}

/** Every difference between two snapshots, in a fixed order (config first: it is what the user misses most). */
export function diffShared(before: SharedSnapshot, after: SharedSnapshot): SharedChange[] {
  const changes: SharedChange[] = [];
  for (const file of union(before.gitFiles, after.gitFiles)) {
    const was = before.gitFiles.get(file) ?? null;
    const now = after.gitFiles.get(file) ?? null;
    if (sameBytes(was, now)) continue;
    if (file === 'config' || file.endsWith('config.worktree'))
      changes.push({ kind: 'config', file, keys: configChanges(text(was), text(now)) });
    else changes.push({ kind: 'git-file', file });
  }
  for (const name of union(before.hooks, after.hooks).sort()) {
    const was = before.hooks.get(name);
    const now = after.hooks.get(name);
    if (!was) changes.push({ kind: 'hook', name, how: 'added' });
    else if (!now) changes.push({ kind: 'hook', name, how: 'removed' });
    else if (!sameHook(was, now)) changes.push({ kind: 'hook', name, how: 'changed' });
  }
  if (!sameBytes(before.stash.ref, after.stash.ref) || !sameBytes(before.stash.log, after.stash.log)) {
    const was = stashEntries(before.stash.log);
    const now = stashEntries(after.stash.log);
    changes.push({ kind: 'stash', dropped: was.filter((e) => !now.includes(e)).length, added: now.filter((e) => !was.includes(e)).length });
  }
  for (const path of union(before.userFiles, after.userFiles)) {
    if (!sameBytes(before.userFiles.get(path) ?? null, after.userFiles.get(path) ?? null)) changes.push({ kind: 'user-file', path });
  }
  return changes;
}

/** The stash reflog's lines (one per entry, oldest first); the commit a stash entry names is the 2nd field. */
export function stashEntries(log: Buffer | null): string[] {
  return log ? log.toString('utf8').split('\n').filter(Boolean) : [];
}

/** The commit refs/stash named in a snapshot: the newest reflog entry, else the loose ref itself. */
export function stashCommit(stash: SharedSnapshot['stash']): string | undefined {
  const last = stashEntries(stash.log).at(-1)?.split(' ')[1];
  if (last && /^[0-9a-f]{40,64}$/.test(last)) return last;
  const loose = stash.ref?.toString('utf8').trim();
  return loose && /^[0-9a-f]{40,64}$/.test(loose) ? loose : undefined;
}

async function readHooks(dir: string): Promise<Map<string, HookEntry>> {
  const hooks = new Map<string, HookEntry>();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (hasCode(err, 'ENOENT') || hasCode(err, 'ENOTDIR')) return hooks;
    throw err;
  }
  // git never runs a *.sample hook, and a repository has a dozen of them: not worth reading every step.
  await Promise.all(
    names
      .filter((name) => !name.endsWith('.sample'))
      .map(async (name) => {
        const full = join(dir, name);
        try {
          const info = await lstat(full);
          if (info.isSymbolicLink()) hooks.set(name, { kind: 'link', target: await readlink(full) });
          else if (info.isDirectory()) hooks.set(name, { kind: 'dir' });
          else hooks.set(name, { kind: 'file', mode: info.mode & 0o777, bytes: await readFile(full) });
        } catch (err) {
          if (!hasCode(err, 'ENOENT')) throw err;
        }
      }),
  );
  return hooks;
}

async function readAll(entries: string[][]): Promise<Map<string, Buffer | null>> {
  const read = await Promise.all(entries.map(async ([key, path]) => [key as string, await readOrNull(path as string)] as const));
  return new Map(read);
}

async function readOrNull(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (err) {
    // A directory where a file was (EISDIR) still differs from the file: read it as absent.
    if (hasCode(err, 'ENOENT') || hasCode(err, 'ENOTDIR') || hasCode(err, 'EISDIR')) return null;
    throw err;
  }
}

function sameHook(a: HookEntry, b: HookEntry): boolean {
  if (a.kind === 'file' && b.kind === 'file') return a.mode === b.mode && a.bytes.equals(b.bytes);
  if (a.kind === 'link' && b.kind === 'link') return a.target === b.target;
  return a.kind === b.kind;
}

function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

function text(b: Buffer | null): string {
  return b ? b.toString('utf8') : '';
}

function union<K>(a: Map<K, unknown>, b: Map<K, unknown>): K[] {
  return [...new Set([...a.keys(), ...b.keys()])];
}
