import { lstat, readlink } from 'node:fs/promises';
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
 * lstat. Runs before `git add`: nothing here writes to the object store.
 */
export async function worktreeEntries(git: Git, base: string): Promise<WorktreeEntry[]> {
  const tracked = await git.raw(['diff', '--name-only', '--no-renames', '-z', base, '--']);
  const untracked = await git.raw(['ls-files', '--others', '--exclude-standard', '-z']);
  const paths = new Set([...tracked.split('\0'), ...untracked.split('\0')].filter(Boolean));
  const entries: WorktreeEntry[] = [];
  for (const path of paths) {
    const full = join(git.dir, path);
    try {
      const info = await lstat(full);
      if (info.isSymbolicLink()) entries.push({ path, kind: 'symlink', target: await readlink(full) });
      // ls-files lists an untracked folder (with a trailing slash) only when it is a repository of its own.
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
  const changes = parseRawDiff(await git.raw(['diff', '--cached', '--raw', '-z', '-M', '--no-abbrev', base, '--']));
  let changedLines = 0;
  for (const line of (await git.raw(['diff', '--cached', '--numstat', '-M', base, '--'])).split('\n')) {
    const [added, deleted] = line.split('\t');
    // Binary files show "-": they count against max_file_size, not lines.
    if (added && deleted && /^\d+$/.test(added) && /^\d+$/.test(deleted)) changedLines += Number(added) + Number(deleted);
  }
  const addedLines: Record<string, string[]> = {};
  const suspects = (await git.raw(['diff', '--cached', '--name-only', '-z', '-G', MARKER_REGEX, base, '--'])).split('\0').filter(Boolean);
  for (const path of suspects) {
    const patch = await git.raw(['diff', '--cached', '-U0', '--no-color', '--no-ext-diff', '--no-textconv', base, '--', path]);
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
