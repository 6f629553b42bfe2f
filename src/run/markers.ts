import { createReadStream, lstatSync, readFileSync, type Stats } from 'node:fs';
import { hasCode } from '../errors.js';
import { blobPatchLines, readBlobText } from '../git/blobs.js';
import type { Git } from '../git/git.js';
import { fsPath } from '../util/bytePaths.js';
import { eachInSlices } from '../util/timeSlices.js';
import type { Change } from './guards.js';

/** A change's blobs before and after (`before` all zeros for a new file), from `git diff --raw`. */
export interface BlobPair {
  before: string;
  after: string;
}

/** A line that looks like a merge's marker. */
const MARKER_LINE = /^(<<<<<<<|>>>>>>>)( |$)/m;
/** Larger files are scanned as a stream for the marker bytes instead of read whole. */
const SCAN_LIMIT = 1024 * 1024;
/** git's own test for binary content: a NUL in the first 8000 bytes. */
const BINARY_PROBE = 8000;
const MARKERS = [Buffer.from('<<<<<<<'), Buffer.from('>>>>>>>')];

/**
 * The lines the change adds to each file that may hold conflict markers, for the conflict-marker guard.
 * The files are read here first, which saves a `git diff -G` walk per attempt in the usual case of none;
 * only the suspects' added lines are then read from git, by blob ids (no pathspec, so any name works).
 */
export async function addedLinesOfSuspects(git: Git, changes: Change[], blobs: Map<string, BlobPair>): Promise<Record<string, string[]>> {
  const addedLines: Record<string, string[]> = {};
  for (const path of await markerSuspects(git, changes)) {
    const blob = blobs.get(path);
    if (blob) addedLines[path] = await addedLinesOf(git, blob);
  }
  return addedLines;
}

/**
 * Files of the change whose content (staged = the worktree's now) holds a line that looks like a marker.
 * Only regular files with new content are read (never a symlink, which could point anywhere); a file that
 * looks binary is skipped as git would; a big one is streamed.
 */
async function markerSuspects(git: Git, changes: Change[]): Promise<string[]> {
  const suspects: string[] = [];
  const big: Array<{ path: string; full: string | Buffer }> = [];
  await eachInSlices(changes, (c) => {
    if (c.status === 'D' || (c.mode !== '100644' && c.mode !== '100755')) return;
    const full = fsPath(git.dir, c.path);
    let info: Stats | undefined;
    try {
      info = lstatSync(full, { throwIfNoEntry: false });
      if (!info?.isFile()) return;
      if (info.size > SCAN_LIMIT) {
        big.push({ path: c.path, full });
        return;
      }
      const content = readFileSync(full);
      if (!content.subarray(0, BINARY_PROBE).includes(0) && MARKER_LINE.test(content.toString('utf8'))) suspects.push(c.path);
    } catch (err) {
      if (!hasCode(err, 'ENOENT') && !hasCode(err, 'ENOTDIR')) throw err;
    }
  });
  for (const { path, full } of big) if (await holdsMarkerBytes(full)) suspects.push(path);
  return suspects;
}

/** Whether a big text file holds "<<<<<<<" or ">>>>>>>" anywhere, read in chunks (memory stays flat). */
async function holdsMarkerBytes(full: string | Buffer): Promise<boolean> {
  let tail = Buffer.alloc(0);
  let first = true;
  try {
    for await (const chunk of createReadStream(full, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
      if (first && chunk.subarray(0, BINARY_PROBE).includes(0)) return false;
      first = false;
      // The last bytes of the previous chunk: a marker may straddle the two.
      const window = Buffer.concat([tail, chunk]);
      if (MARKERS.some((m) => window.includes(m))) return true;
      tail = window.subarray(Math.max(0, window.length - (MARKERS[0] as Buffer).length + 1));
    }
  } catch (err) {
    if (hasCode(err, 'ENOENT') || hasCode(err, 'ENOTDIR')) return false;
    throw err;
  }
  return false;
}

/** Lines the change adds to one file: a diff of its two blobs, or the whole blob for a new file. */
async function addedLinesOf(git: Git, blob: BlobPair): Promise<string[]> {
  if (/^0+$/.test(blob.before)) {
    const text = await readBlobText(git, blob.after);
    return text.split('\n').slice(0, text.endsWith('\n') ? -1 : undefined);
  }
  const patch = await blobPatchLines(git, blob.before, blob.after);
  const hunks = patch.findIndex((l) => l.startsWith('@@'));
  return hunks === -1
    ? []
    : patch
        .slice(hunks)
        .filter((l) => l.startsWith('+'))
        .map((l) => l.slice(1));
}
