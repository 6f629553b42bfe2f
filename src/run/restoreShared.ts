import { chmod, cp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import type { Git } from '../git/git.js';
import { keepReachable, setStashRef } from '../git/refs.js';
import { writeFileAtomic } from '../util/atomic.js';
import { stashCommit, stashEntries, type SharedChange, type SharedPlaces, type SharedSnapshot } from './sharedState.js';

export interface RestoreInput {
  places: SharedPlaces;
  before: SharedSnapshot;
  after: SharedSnapshot;
  changes: SharedChange[];
  /** The repository: only for the stash ref (update-ref knows loose and packed refs alike). */
  repo: Git;
  /** .nightshift/quarantine: where every changed copy is kept, so nothing someone wrote is lost. */
  quarantine: string;
  /** For paths in the guard lines. */
  root: string;
  who: string;
}

/**
 * Puts every changed piece of shared state back as the snapshot had it, keeping the changed copy under
 * .nightshift/quarantine/<stamp>-<name> first (the change may have been the user's own, made while a step
 * ran). Returns the guard lines, one per kind of change. The config goes first: the stash restore runs git.
 */
export async function restoreShared(input: RestoreInput): Promise<string[]> {
  const { before, after, places, who } = input;
  const stamp = new Date().toISOString().replace(/[-:]/g, '');
  const keep = async (name: string, bytes: Buffer | null): Promise<string | undefined> => {
    if (bytes === null) return undefined;
    await mkdir(input.quarantine, { recursive: true });
    const file = join(input.quarantine, `${stamp}-${name.replace(/[/\\]/g, '-')}`);
    await writeFile(file, bytes);
    return file;
  };
  const lines: string[] = [];
  const hooks: string[] = [];
  for (const change of input.changes) {
    switch (change.kind) {
      case 'config':
      case 'git-file': {
        const path = join(places.commonDir, change.file);
        await keep(change.file, after.gitFiles.get(change.file) ?? null);
        await putBack(path, before.gitFiles.get(change.file) ?? null);
        const what = change.kind === 'git-file' ? `${change.file}: ${who} changed it` : configLine(change.file, change.keys, who);
        lines.push(`${what} (restored)`);
        break;
      }
      case 'hook': {
        const dir = join(places.commonDir, 'hooks');
        const now = after.hooks.get(change.name);
        if (now) {
          await mkdir(input.quarantine, { recursive: true });
          await cp(join(dir, change.name), join(input.quarantine, `${stamp}-hooks-${change.name}`), {
            recursive: true,
            verbatimSymlinks: true,
          }).catch(() => undefined);
          await rm(join(dir, change.name), { recursive: true, force: true });
        }
        const was = before.hooks.get(change.name);
        if (was?.kind === 'file') {
          await writeFile(join(dir, change.name), was.bytes, { mode: was.mode });
          await chmod(join(dir, change.name), was.mode);
        } else if (was?.kind === 'link') await symlink(was.target, join(dir, change.name));
        else if (was?.kind === 'dir') await mkdir(join(dir, change.name), { recursive: true });
        hooks.push(`${change.how} ${change.name} (${change.how === 'added' ? 'removed' : 'restored'})`);
        break;
      }
      case 'stash': {
        await keep('stash.reflog', after.stash.log);
        await keepAddedStashes(input, stamp);
        await restoreStash(input);
        const did = [
          change.dropped > 0 ? `dropped ${entries(change.dropped)}` : '',
          change.added > 0 ? `added ${entries(change.added)}` : '',
        ]
          .filter(Boolean)
          .join(' and ');
        lines.push(`stash: ${who} ${did || 'changed refs/stash'} (restored)`);
        break;
      }
      case 'user-file': {
        const kept = await keep(basename(change.path), after.userFiles.get(change.path) ?? null);
        await putBack(change.path, before.userFiles.get(change.path) ?? null);
        const name = relative(input.root, change.path);
        lines.push(
          `${name} changed while ${who} ran; restored${kept ? `, the changed copy is kept at ${relative(input.root, kept)}` : ''}`,
        );
        break;
      }
      default: {
        const never: never = change;
        throw new Error(`unexpected change ${JSON.stringify(never)}`);
      }
    }
  }
  // diffShared lists git files first, then hooks: their one line goes right after the git files' lines.
  const gitLines = input.changes.filter((c) => c.kind === 'config' || c.kind === 'git-file').length;
  if (hooks.length > 0) lines.splice(gitLines, 0, `hooks: ${who} ${hooks.join(', ')}`);
  return lines;
}

function configLine(file: string, keys: string[], who: string): string {
  const which = file === 'config' ? 'git config' : `git config (${file})`;
  return keys.length > 0 ? `${which}: ${who} changed ${keys.join(', ')}` : `${which}: ${who} changed the file`;
}

function entries(n: number): string {
  return n === 1 ? '1 entry' : `${n} entries`;
}

/** A file back to its bytes (atomically), or removed when it did not exist. */
async function putBack(path: string, bytes: Buffer | null): Promise<void> {
  if (bytes === null) await rm(path, { recursive: true, force: true });
  else {
    // A folder put where the file was would make the rename fail.
    await rm(path, { recursive: true, force: true }).catch(() => undefined);
    await writeFileAtomic(path, bytes);
  }
}

/**
 * Entries added while the step ran may be the user's own (a `git stash` in their checkout meanwhile): each
 * stays reachable as refs/nightshift-quarantine/<stamp>/stash-<n> (`git stash apply <ref>` brings it back).
 */
async function keepAddedStashes(input: RestoreInput, stamp: string): Promise<void> {
  const was = new Set(stashEntries(input.before.stash.log));
  const added = stashEntries(input.after.stash.log).filter((e) => !was.has(e));
  for (const [n, entry] of added.entries()) {
    const commit = entry.split(' ')[1];
    if (commit && /^[0-9a-f]{40,64}$/.test(commit)) {
      await keepReachable(input.repo, `refs/nightshift-quarantine/${stamp.replace(/[^0-9A-Za-z]/g, '')}/stash-${n + 1}`, commit);
    }
  }
}

/**
 * refs/stash to the commit it named (update-ref writes a loose ref, which wins over a packed one, and
 * removes both when there was none), then the reflog, which holds the entries, byte for byte.
 */
async function restoreStash(input: RestoreInput): Promise<void> {
  const { before, places, repo } = input;
  const logFile = join(places.commonDir, 'logs', 'refs', 'stash');
  const commit = stashCommit(before.stash);
  await setStashRef(repo, commit);
  await putBack(logFile, before.stash.log);
}
