import { lstat, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { hasCode } from '../errors.js';
import { isAncestor, type Git } from '../git/git.js';
import { matchesAny } from '../util/glob.js';
import type { Change, ChangeFacts, RefMove, WorktreeEntry } from './guards.js';

/** The thin git/fs layer under guards.ts: it reads, the pure checks decide. */

const NIGHTSHIFT_BRANCH = /^refs\/heads\/nightshift(?:-[a-z]+)?\//;

/** Marker lines a merge writes; -G lists only the files whose diff adds or removes such a line. */
const MARKER_REGEX = '^(<<<<<<<|>>>>>>>)( |$)';

/**
 * Every path of the worktree that differs from `base`, tracked or new (ignored files aside), read with
 * lstat. Runs before `git add`: nothing here writes to the object store. The caller has folded the
 * executor's own commits onto `base` (HEAD is `base`), so one `git status` walk sees all of it: staged,
 * changed and untracked paths alike.
 */
export async function worktreeEntries(git: Git): Promise<WorktreeEntry[]> {
  const out = await git.raw(['status', '--porcelain=v1', '-z', '--untracked-files=all', '--no-renames']);
  // "XY path" records; an untracked folder with a trailing slash is a repository of its own.
  const paths = new Set(out.split('\0').filter((r) => r.length > 3).map((r) => r.slice(3)));
  const entries: WorktreeEntry[] = [];
  for (const path of paths) {
    const full = join(git.dir, path);
    try {
      const info = await lstat(full);
      if (info.isSymbolicLink()) entries.push({ path, kind: 'symlink', target: await readlink(full) });
      else if (info.isDirectory()) entries.push({ path: path.replace(/\/$/, ''), kind: 'repository' });
      else entries.push({ path, kind: 'file', size: info.size });
    } catch (err) {
      if (!hasCode(err, 'ENOENT') && !hasCode(err, 'ENOTDIR')) throw err;
      entries.push({ path, kind: 'missing' });
    }
  }
  return entries;
}

/** The staged change against `base`, as guards.ts checks it. */
export async function changeFacts(git: Git, base: string, tests: string[]): Promise<ChangeFacts> {
  // One diff gives both the changes (renames found) and the line counts.
  const { changes, changedLines } = parseRawAndNumstat(await git.raw(['diff', '--cached', '--raw', '--numstat', '-z', '-M', '--no-abbrev', base, '--']));
  const addedLines: Record<string, string[]> = {};
  for (const path of await markerSuspects(git, base, changes)) {
    const patch = await git.raw(['diff', '--cached', '-U0', '--no-color', '--no-ext-diff', '--no-textconv', base, '--', literalPathspec(path)]);
    addedLines[path] = patch.split('\n').filter((l) => l.startsWith('+') && !l.startsWith('+++ ')).map((l) => l.slice(1));
  }
  let testFiles = { before: 0, after: 0 };
  if (tests.length > 0) {
    const count = (out: string) => out.split('\0').filter((p) => p && matchesAny(p, tests)).length;
    testFiles = {
      before: count(await git.raw(['ls-tree', '-r', '--name-only', '-z', base])),
      after: count(await git.raw(['ls-files', '--cached', '-z'])),
    };
  }
  return { changes, changedLines, addedLines, testFiles };
}

/** Files of the change whose content (staged = the worktree's now) holds a line that looks like a marker. */
const MARKER_LINE = /^(<<<<<<<|>>>>>>>)( |$)/m;
/** Larger files are left to git's own search (the usual change has none). */
const SCAN_LIMIT = 1024 * 1024;

/**
 * The files that may add conflict-marker lines: read here, which saves a `git diff -G` walk per attempt in
 * the usual case of none. Only regular files with new content are read (never a symlink, which could point
 * anywhere); a file that looks binary is skipped as git would; a big one goes to `git diff -G`. The caller
 * then reads the added lines of each suspect from the diff.
 */
async function markerSuspects(git: Git, base: string, changes: Change[]): Promise<string[]> {
  const suspects: string[] = [];
  const big: string[] = [];
  for (const c of changes) {
    if (c.status === 'D' || (c.mode !== '100644' && c.mode !== '100755')) continue;
    let content: Buffer;
    try {
      const full = join(git.dir, c.path);
      const info = await lstat(full);
      if (!info.isFile()) continue;
      if (info.size > SCAN_LIMIT) {
        big.push(c.path);
        continue;
      }
      content = await readFile(full);
    } catch (err) {
      if (hasCode(err, 'ENOENT') || hasCode(err, 'ENOTDIR')) continue;
      throw err;
    }
    if (content.subarray(0, 8000).includes(0)) continue;
    if (MARKER_LINE.test(content.toString('utf8'))) suspects.push(c.path);
  }
  if (big.length > 0) {
    const found = await git.raw(['diff', '--cached', '--name-only', '-z', '-G', MARKER_REGEX, base, '--', ...big.map(literalPathspec)]);
    suspects.push(...found.split('\0').filter(Boolean));
  }
  return suspects;
}

/** A path as a pathspec that matches exactly that path (no glob, no magic). */
function literalPathspec(path: string): string {
  return `:(literal)${path}`;
}

/** Every path a change touches (both sides of a rename), once each. */
export function changedPaths(changes: Change[]): string[] {
  return [...new Set(changes.flatMap((c) => (c.from ? [c.from, c.path] : [c.path])))];
}

/**
 * `git diff --raw --numstat -z` output: every raw record (":old new oldsha newsha status\0path\0", two
 * paths for renames and copies) first, then the numstat records ("added\tdeleted\tpath\0", or
 * "added\tdeleted\t\0from\0to\0" for a rename). Binary files count "-" lines: they count against
 * max_file_size, not lines.
 */
export function parseRawAndNumstat(out: string): { changes: Change[]; changedLines: number } {
  const fields = out.split('\0');
  let i = 0;
  const raw: string[] = [];
  while (i < fields.length && (fields[i] as string).startsWith(':')) {
    const meta = fields[i] as string;
    const status = (meta.split(' ')[4] ?? '?')[0];
    const take = status === 'R' || status === 'C' ? 3 : 2;
    raw.push(...fields.slice(i, i + take));
    i += take;
  }
  let changedLines = 0;
  while (i < fields.length) {
    const record = fields[i++] as string;
    if (record === '') continue;
    const [added, deleted, path] = record.split('\t');
    if (path === '') i += 2; // a rename: its two paths follow
    if (added && deleted && /^\d+$/.test(added) && /^\d+$/.test(deleted)) changedLines += Number(added) + Number(deleted);
  }
  return { changes: parseRawDiff(raw.join('\0')), changedLines };
}

/** `git diff --raw -z` records: ":old new oldsha newsha status\0path\0" (two paths for renames/copies). */
export function parseRawDiff(out: string): Change[] {
  const fields = out.split('\0');
  const changes: Change[] = [];
  for (let i = 0; i < fields.length; ) {
    const meta = fields[i++] as string;
    if (!meta.startsWith(':')) continue;
    const [, newMode, , , statusField] = meta.slice(1).split(' ');
    const status = (statusField ?? '?')[0] as string;
    const mode = newMode && !/^0+$/.test(newMode) ? newMode : undefined;
    if (status === 'R' || status === 'C') {
      const from = fields[i++] as string;
      changes.push({ status, from, path: fields[i++] as string, mode });
    } else changes.push({ status, path: fields[i++] as string, mode });
  }
  return changes;
}

/**
 * Branch and tag values, except nightshift's own branches (nightshift/<id>, nightshift-conflict/...):
 * other tasks create, move and delete those all the time.
 */
export async function snapshotRefs(git: Git): Promise<Map<string, string>> {
  const out = await git.raw(['for-each-ref', '--format=%(refname)%00%(objectname)', 'refs/heads', 'refs/tags']);
  const refs = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [ref, sha] = line.split('\0');
    if (ref && sha && !NIGHTSHIFT_BRANCH.test(ref)) refs.set(ref, sha);
  }
  return refs;
}

/**
 * How the refs differ between two snapshots. `executorHead` is the worktree's HEAD after the executor ran:
 * commits between `baseCommit` and it are the executor's own.
 */
export async function refMoves(git: Git, before: Map<string, string>, after: Map<string, string>, baseCommit: string, executorHead: string): Promise<RefMove[]> {
  const own = executorHead === baseCommit ? [] : (await git.raw(['rev-list', '--max-count=20', executorHead, `^${baseCommit}`, '--'])).split('\n').filter(Boolean);
  const moves: RefMove[] = [];
  for (const ref of new Set([...before.keys(), ...after.keys()])) {
    const was = before.get(ref);
    const now = after.get(ref);
    if (was === now) continue;
    const fastForward = was !== undefined && now !== undefined && (await isAncestor(git, was, now));
    let carriesExecutorWork = false;
    if (now !== undefined) for (const c of own) if (await isAncestor(git, c, now)) carriesExecutorWork = true;
    moves.push({ ref, before: was, after: now, fastForward, carriesExecutorWork });
  }
  return moves;
}

/**
 * Sets a ref back to its value before the executor ran, only if it still holds what the executor left
 * (compare-and-swap: a change someone made since is never overwritten). Returns whether it was restored.
 */
export async function restoreRef(git: Git, move: RefMove): Promise<boolean> {
  if (move.before === undefined) return false;
  const { code } = await git.status(['update-ref', '-m', 'nightshift: undo a ref move by an executor', move.ref, move.before, move.after ?? '']);
  return code === 0;
}
