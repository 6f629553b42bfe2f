import { mkdir, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Git } from '../git/git.js';
import { hasCode } from '../errors.js';
import { updateTask } from '../task/store.js';
import { idFromFileName } from '../task/fileName.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { FleetView } from './fetch.js';
import { ownedChangesOf } from './status.js';

export interface SyncPlace {
  git: Git;
  root: string;
  tasksDir: string;
  locksDir: string;
}

export interface SyncResult {
  /** Task files the remote's queue has that this checkout did not. */
  added: string[];
  /** Task files whose nightshift keys now say what the fleet's status refs say. */
  updated: string[];
}

/**
 * Brings this checkout's task files up to the fleet's view: new task files on the remote base are written
 * (atomically, never over a file of the same name), and a task still queued here whose status ref says it
 * ended gets that status. Never a merge: the status ref alone decides, and only the nightshift keys change.
 * `applied` remembers statuses already written (the daemon's poll passes one across polls).
 */
export async function syncTaskFiles(place: SyncPlace, view: FleetView, applied = new Map<string, string>()): Promise<SyncResult> {
  const result: SyncResult = { added: [], updated: [] };
  const local = new Set(await listNames(place.tasksDir));
  if (view.base) {
    const rel = relative(place.root, place.tasksDir).split('\\').join('/');
    const listing = await place.git.status(['ls-tree', '-z', `${view.base}:${rel}`]);
    for (const entry of listing.code === 0 ? listing.stdout.split('\0') : []) {
      const m = /^100644 blob ([0-9a-f]+)\t(.+)$/.exec(entry);
      if (!m) continue;
      const [, blob, name] = m as unknown as [string, string, string];
      if (local.has(name) || idFromFileName(name) === undefined) continue;
      const text = await place.git.raw(['cat-file', 'blob', blob]);
      await mkdir(place.tasksDir, { recursive: true });
      // Temp file and rename: the daemon's watcher never reads half a task file.
      await writeFileAtomic(join(place.tasksDir, name), text);
      local.add(name);
      result.added.push(name);
    }
  }
  for (const [id, status] of view.statuses) {
    const key = `${status.status}:${status.commit ?? ''}:${status.attempts}`;
    if (applied.get(id) === key || !local.has(`${id}.md`)) continue;
    const r = await updateTask(place.locksDir, join(place.tasksDir, `${id}.md`), id, (t) =>
      t.status === 'queued' ? ownedChangesOf(status) : undefined,
    );
    if (r.kind === 'updated') result.updated.push(`${id}.md`);
    if (r.kind !== 'gone') applied.set(id, key);
  }
  return result;
}

async function listNames(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return [];
    throw err;
  }
}
