import { lstat, readlink } from 'node:fs/promises';
import { hasCode } from '../errors.js';
import { decodePath, fsPath } from '../util/bytePaths.js';

/**
 * Where a symlink the change adds really leads, resolved as a checkout of the commit would resolve it:
 * through chains of links and through folder links, each relative to the real folder it sits in, so
 * `..` after a folder link goes up from where that link points, not from where it is. A lexical check
 * (normalise "dirname/target") passes `a -> b` with `b -> /etc/passwd`, and `x -> d/../etc` with
 * `d -> ../..`. Nothing outside the worktree is ever looked at: resolution stops as soon as it leaves.
 *
 * Absolute targets are refused even when they name a place inside the worktree: in every other
 * checkout (the user's, a clone) the same bytes point somewhere else, typically into nightshift's pool.
 */

/** One link on the way: where it is (relative to the worktree) and what it says. */
export interface Hop {
  path: string;
  target: string;
}

export type LinkResolution =
  | { kind: 'inside' }
  /** `through`: the last link followed on the way out (another link, or a folder link on the path). */
  | { kind: 'outside'; through?: Hop }
  /** More than MAX_HOPS links on the way (a loop, as the kernel's ELOOP). */
  | { kind: 'loop' }
  /** Into a `.git` folder: a link to the repository's hooks or config, once checked out by someone. */
  | { kind: 'git' };

/** What one path of the worktree is (never followed). */
export type PathKind = { kind: 'link'; target: string } | { kind: 'folder' } | { kind: 'other' };

/** Reads one path relative to the worktree; the tests give a table instead of a folder. */
export type Lookup = (path: string) => Promise<PathKind>;

/** The kernel's limit on links followed in one lookup (Linux MAXSYMLINKS). */
const MAX_HOPS = 40;

/** Windows drive paths count as absolute too: the link may be checked out there. */
const ABSOLUTE = /^(?:\/|[A-Za-z]:[\\/])/;

export async function resolveLink(path: string, target: string, lookup: Lookup): Promise<LinkResolution> {
  if (ABSOLUTE.test(target)) return { kind: 'outside' };
  // The link's own path splits on "/" only: a backslash in a name from git is part of that name.
  const pending = [...path.split('/').slice(0, -1), ...parts(target)];
  const at: string[] = [];
  // Once a component is missing or not a folder, what follows cannot exist on disk: only `..` still moves.
  let onDisk = true;
  let hops = 0;
  // The last link followed on the way, named in the message: the reason a harmless-looking target leaves.
  let through: Hop | undefined;
  for (let part = pending.shift(); part !== undefined; part = pending.shift()) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (at.length === 0) return { kind: 'outside', through };
      at.pop();
      continue;
    }
    at.push(part);
    if (!onDisk) continue;
    const found = await lookup(at.join('/'));
    if (found.kind === 'folder') continue;
    if (found.kind === 'other') {
      onDisk = false;
      continue;
    }
    if (++hops > MAX_HOPS) return { kind: 'loop' };
    through = { path: at.join('/'), target: found.target };
    if (ABSOLUTE.test(found.target)) return { kind: 'outside', through };
    at.pop();
    pending.unshift(...parts(found.target));
  }
  if (at.some((p) => p.toLowerCase() === '.git')) return { kind: 'git' };
  return { kind: 'inside' };
}

/** A target's components; a backslash splits too (it separates folders where the link may be checked out). */
function parts(path: string): string[] {
  return path.replace(/\\/g, '/').split('/');
}

/** A Lookup on a real worktree, reading each path once (lstat and readlink, as bytes). */
export function worktreeLookup(root: string): Lookup {
  const seen = new Map<string, Promise<PathKind>>();
  const read = async (path: string): Promise<PathKind> => {
    const full = fsPath(root, path);
    try {
      const info = await lstat(full);
      if (info.isSymbolicLink()) return { kind: 'link', target: decodePath(await readlink(full, { encoding: 'buffer' })) };
      return info.isDirectory() ? { kind: 'folder' } : { kind: 'other' };
    } catch (err) {
      if (hasCode(err, 'ENOENT') || hasCode(err, 'ENOTDIR')) return { kind: 'other' };
      throw err;
    }
  };
  return (path) => {
    let found = seen.get(path);
    if (!found) seen.set(path, (found = read(path)));
    return found;
  };
}
