import { lstatSync, readlinkSync } from 'node:fs';
import { hasCode } from '../errors.js';
import { rawBytes } from './bytes.js';
import { isAncestor, type Git } from './git.js';
import type { Staging } from './stage.js';
import { decodePath, fsPath } from '../util/bytePaths.js';
import { matchesAny } from '../util/glob.js';
import { eachInSlices } from '../util/timeSlices.js';
import type { Change, ChangeFacts, RefMove, WorktreeEntry } from '../run/guards.js';
import { addedLinesOfSuspects, type BlobPair } from '../run/markers.js';
import { resolveLink, worktreeLookup } from '../run/symlinks.js';

/**
 * The thin git/fs layer under guards.ts: it reads, the pure checks decide. Every git output that holds
 * file names is read as bytes and decoded with decodePath, and every file is opened by its exact bytes
 * (fsPath): a name that is not UTF-8 is checked like any other.
 */

const NIGHTSHIFT_BRANCH = /^refs\/heads\/nightshift(?:-[a-z]+)?\//;

/** What the guards read of the worktree, and how to stage exactly that. */
export interface WorktreeChange {
  entries: WorktreeEntry[];
  staging: Staging;
}

/**
 * Every path of the worktree that differs from `base`, tracked or new (ignored files aside), read with
 * lstat. Runs before staging: nothing here writes to the object store. The caller has folded the
 * executor's own commits onto `base` (HEAD is `base`), so one `git status` walk sees all of it: staged,
 * changed and untracked paths alike. A deletion already staged (`git rm`, `git mv`, a folded commit) is
 * left out: the index holds it already.
 */
export async function readWorktree(git: Git): Promise<WorktreeChange> {
  const out = decodePath(await rawBytes(git, ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--no-renames']));
  // "XY path" records. "D " is a staged deletion (the path is nowhere, unless a "??" record brings it
  // back); any other X but " " and "?" is an index entry that differs from base: the executor's.
  const paths = new Map<string, { there: boolean; staged: boolean }>();
  for (const record of out.split('\0')) {
    if (record.length <= 3) continue;
    const path = record.slice(3);
    const seen = paths.get(path) ?? { there: false, staged: false };
    if (!(record[0] === 'D' && record[1] === ' ')) seen.there = true;
    if (record[0] !== ' ' && record[0] !== '?') seen.staged = true;
    paths.set(path, seen);
  }
  const entries: WorktreeEntry[] = [];
  const links: Array<{ path: string; target: string }> = [];
  await eachInSlices(paths, ([path, { there }]) => {
    if (!there) return;
    // An untracked folder with a trailing slash is a repository of its own.
    if (path.endsWith('/')) {
      entries.push({ path: path.slice(0, -1), kind: 'repository' });
      return;
    }
    const full = fsPath(git.dir, path);
    try {
      const info = lstatSync(full, { throwIfNoEntry: false });
      if (!info) entries.push({ path, kind: 'missing' });
      else if (info.isSymbolicLink()) links.push({ path, target: decodePath(readlinkSync(full, { encoding: 'buffer' })) });
      // A folder with a .git of its own where the index has a gitlink (a submodule the executor changed) is
      // a repository; any other folder where the index has a file: its removal is staged, its files are
      // listed on their own.
      else if (info.isDirectory())
        entries.push({ path, kind: lstatSync(fsPath(git.dir, `${path}/.git`), { throwIfNoEntry: false }) ? 'repository' : 'missing' });
      else entries.push({ path, kind: 'file', size: info.size });
    } catch (err) {
      if (!hasCode(err, 'ENOENT') && !hasCode(err, 'ENOTDIR')) throw err;
      entries.push({ path, kind: 'missing' });
    }
  });
  const lookup = worktreeLookup(git.dir);
  for (const { path, target } of links) entries.push({ path, kind: 'symlink', target, resolved: await resolveLink(path, target, lookup) });
  const checked = belowLinksRemoved(entries);
  return { entries: checked, staging: stagingOf(checked, (path) => paths.get(path)?.staged === true) };
}

/**
 * A tracked path below a folder that is now a symlink is gone for git (and the lstat above looked
 * through the link at whatever file is there): it is removed, never read. The link itself is listed.
 */
function belowLinksRemoved(entries: WorktreeEntry[]): WorktreeEntry[] {
  const links = new Set(entries.filter((e) => e.kind === 'symlink').map((e) => e.path));
  if (links.size === 0) return entries;
  const below = (path: string) => {
    for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) if (links.has(path.slice(0, i))) return true;
    return false;
  };
  return entries.map((e) => (e.kind !== 'missing' && below(e.path) ? { path: e.path, kind: 'missing' } : e));
}

/**
 * How to stage what readWorktree found (an embedded repository never is: its check failed first). A path
 * the executor staged itself loses that index entry before what is there now is added: an entry of its
 * own making (a blob of its choice, marked assume-unchanged or given stat data that matches the file)
 * would otherwise be kept as up to date, and the commit would hold something the guards never read. A
 * path whose entry is still base's needs no removal (the usual case: one git call, not two).
 */
function stagingOf(entries: WorktreeEntry[], staged: (path: string) => boolean): Staging {
  const staging: Staging = { update: [], remove: [] };
  for (const e of entries) {
    if (e.kind === 'repository') continue;
    if (e.kind === 'missing' || staged(e.path)) staging.remove.push(e.path);
    if (e.kind !== 'missing') staging.update.push(e.path);
  }
  return staging;
}

/**
 * The staged change against `base` as `git diff --raw --numstat -z` output: one diff gives the changes
 * (renames found), the line counts and each file's blobs, so the guards and the secret guard share it.
 */
export async function readStagedDiff(git: Git, base: string): Promise<string> {
  return decodePath(await rawBytes(git, ['diff', '--cached', '--raw', '--numstat', '-z', '-M', '--no-abbrev', base, '--']));
}

/** The staged change against `base`, as guards.ts checks it (`staged`: readStagedDiff's output, when read already). */
export async function changeFacts(git: Git, base: string, tests: string[], staged?: string): Promise<ChangeFacts> {
  const out = staged ?? (await readStagedDiff(git, base));
  const { changes, changedLines, blobs } = parseRawAndNumstat(out);
  const addedLines = await addedLinesOfSuspects(git, changes, blobs);
  let testFiles = { before: 0, after: 0 };
  if (tests.length > 0) {
    const count = (out: Buffer) =>
      decodePath(out)
        .split('\0')
        .filter((p) => p && matchesAny(p, tests)).length;
    testFiles = {
      before: count(await rawBytes(git, ['ls-tree', '-r', '--name-only', '-z', base])),
      after: count(await rawBytes(git, ['ls-files', '--cached', '-z'])),
    };
  }
  return { changes, changedLines, addedLines, testFiles };
}

/** Every path a change touches (both sides of a rename), once each. */
export function changedPaths(changes: Change[]): string[] {
  return [...new Set(changes.flatMap((c) => (c.from ? [c.from, c.path] : [c.path])))];
}

/**
 * `git diff --raw --numstat -z` output: every raw record (":old new oldsha newsha status\0path\0", two
 * paths for renames and copies) first, then the numstat records ("added\tdeleted\tpath\0", or
 * "added\tdeleted\t\0from\0to\0" for a rename). Binary files count "-" lines: they count against
 * max_file_size, not lines. `blobs` holds each changed path's blob ids (with --no-abbrev: full ids).
 */
export function parseRawAndNumstat(out: string): { changes: Change[]; changedLines: number; blobs: Map<string, BlobPair> } {
  const fields = out.split('\0');
  let i = 0;
  const raw: string[] = [];
  const blobs = new Map<string, BlobPair>();
  while (i < fields.length && (fields[i] as string).startsWith(':')) {
    const meta = (fields[i] as string).split(' ');
    const status = (meta[4] ?? '?')[0];
    const take = status === 'R' || status === 'C' ? 3 : 2;
    blobs.set(fields[i + take - 1] as string, { before: meta[2] ?? '', after: meta[3] ?? '' });
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
  return { changes: parseRawDiff(raw.join('\0')), changedLines, blobs };
}

/** The `--raw` records of `git diff --raw --numstat -z` output, as `git diff --raw -z` alone prints them. */
export function rawRecordsOf(out: string): string {
  const fields = out.split('\0');
  let i = 0;
  while (i < fields.length && (fields[i] as string).startsWith(':')) {
    const status = ((fields[i] as string).split(' ')[4] ?? '?')[0];
    i += status === 'R' || status === 'C' ? 3 : 2;
  }
  return i === 0 ? '' : `${fields.slice(0, i).join('\0')}\0`;
}

/** `git diff --raw -z` records: ":old new oldsha newsha status\0path\0" (two paths for renames/copies). */
export function parseRawDiff(out: string): Change[] {
  const fields = out.split('\0');
  const changes: Change[] = [];
  for (let i = 0; i < fields.length;) {
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
export async function refMoves(
  git: Git,
  before: Map<string, string>,
  after: Map<string, string>,
  baseCommit: string,
  executorHead: string,
): Promise<RefMove[]> {
  const own =
    executorHead === baseCommit
      ? []
      : (await git.raw(['rev-list', '--max-count=20', executorHead, `^${baseCommit}`, '--'])).split('\n').filter(Boolean);
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
  const { code } = await git.status([
    'update-ref',
    '-m',
    'nightshift: undo a ref move by an executor',
    move.ref,
    move.before,
    move.after ?? '',
  ]);
  return code === 0;
}
