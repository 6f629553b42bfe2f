import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { hasCode } from '../errors.js';
import { invalidEntry, readTaskEntrySync } from './read.js';
import { idFromFileName } from './fileName.js';
import type { TaskEntry } from './task.js';

/**
 * A file changed this recently may change again within its file system's timestamp resolution without
 * its size changing: its stamp proves nothing yet, so it is read again on each look until it is older
 * than this (what git calls the "racy" case). File systems that keep whole seconds (FAT, HFS+, some
 * network shares) need seconds; the others stamp with the kernel's coarse clock, a few milliseconds.
 */
const RACY_MS = 3000;
const RACY_FINE_MS = 100;
/** How long one scan may hold the event loop before it lets timers and I/O run. */
const SLICE_MS = 10;

/** What a file's lstat said when it was read: any change to the file changes one of these. */
interface Stamp {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  dev: number;
}

interface Seen {
  stamp: Stamp | undefined;
  /** False when the stamp cannot be trusted (racy, or the read failed): the next look reads again. */
  settled: boolean;
  entry: TaskEntry;
}

/**
 * The parsed task files of one tasks/ folder, kept between scans. A file is read and parsed again only
 * when its stamp (size, mtime, ctime, inode) changed; a full scan costs one readdir and one lstat per
 * file. Status writes and claims never trust this: they re-read the file under its edit lock.
 */
export class TaskCache {
  private readonly seen = new Map<string, Seen>();
  /** Task file names present at the last look, sorted; undefined after a change to the set. */
  private sorted: string[] | undefined;
  private readonly names = new Set<string>();

  /** A lower `racyMs` is for tests, which cannot date a file's ctime back. */
  constructor(
    readonly dir: string,
    private readonly racyMs = RACY_MS,
  ) {}

  /**
   * Every task file in the folder, valid or not, sorted by file name. Duplicate ids make every file of
   * that id invalid. With `only`, just the files of those ids (duplicates among them still found).
   */
  async scan(only?: ReadonlySet<string>): Promise<TaskEntry[]> {
    let listed: string[];
    try {
      listed = readdirSync(this.dir);
    } catch (err) {
      if (!hasCode(err, 'ENOENT')) throw err;
      listed = [];
    }
    const present = new Set<string>();
    for (const name of listed) {
      const id = idFromFileName(name);
      if (id !== undefined && (only === undefined || only.has(id))) present.add(name);
    }
    for (const name of this.names) if (!present.has(name)) this.forget(name);
    for (const name of present) this.remember(name);
    const twins = twinIds(present);
    // A duplicate id is reported from the names alone; its files need not be read.
    await this.lookEach([...present].filter((name) => !twins.has(idFromFileName(name) as string)));
    return this.entries();
  }

  /**
   * Only the named files changed (watcher hints name them): looks at those and takes every other file
   * as last seen. A file named here that is gone is dropped; one that is new is added.
   */
  async refresh(changed: Iterable<string>): Promise<TaskEntry[]> {
    await this.lookEach([...new Set(changed)].filter((name) => idFromFileName(name) !== undefined));
    return this.entries();
  }

  /** Looks at each file (stat, and a read if it changed), yielding to the event loop now and then. */
  private async lookEach(names: string[]): Promise<void> {
    let slice = performance.now();
    for (const name of names) {
      if (this.look(name)) this.remember(name);
      else this.forget(name);
      if (performance.now() - slice > SLICE_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        slice = performance.now();
      }
    }
  }

  /** The file's entry, from the cache when its stamp is unchanged; undefined when it is gone. */
  private look(name: string): TaskEntry | undefined {
    const id = idFromFileName(name) as string;
    const file = join(this.dir, name);
    let info: Stats;
    try {
      info = lstatSync(file);
    } catch (err) {
      if (hasCode(err, 'ENOENT')) return undefined;
      return this.keep(name, undefined, false, invalidEntry(id, file, `cannot read the file: ${(err as Error).message}`));
    }
    const before = this.seen.get(name);
    if (before?.settled && sameStamp(before.stamp, info)) return before.entry;
    let entry: TaskEntry;
    try {
      entry = readTaskEntrySync(file, id, info);
    } catch (err) {
      // Deleted or renamed between the stat and the read: it is simply not there any more.
      if (hasCode(err, 'ENOENT')) return undefined;
      return this.keep(name, undefined, false, invalidEntry(id, file, `cannot read the file: ${(err as Error).message}`));
    }
    const changedAt = Math.max(info.mtimeMs, info.ctimeMs);
    const wholeSeconds = info.mtimeMs % 1000 === 0 && info.ctimeMs % 1000 === 0;
    const settled = Date.now() - changedAt > Math.min(this.racyMs, wholeSeconds ? RACY_MS : RACY_FINE_MS);
    const { size, mtimeMs, ctimeMs, ino, dev } = info;
    return this.keep(name, { size, mtimeMs, ctimeMs, ino, dev }, settled, entry);
  }

  private keep(name: string, stamp: Stamp | undefined, settled: boolean, entry: TaskEntry): TaskEntry {
    this.seen.set(name, { stamp, settled, entry });
    return entry;
  }

  private remember(name: string): void {
    if (this.names.has(name)) return;
    this.names.add(name);
    this.sorted = undefined;
  }

  private forget(name: string): void {
    this.seen.delete(name);
    if (this.names.delete(name)) this.sorted = undefined;
  }

  /** Every known file's entry in name order (a file last seen as a duplicate is looked at now). */
  private entries(): TaskEntry[] {
    this.sorted ??= [...this.names].sort();
    const twins = twinIds(this.sorted);
    const out: TaskEntry[] = [];
    const gone: string[] = [];
    for (const name of this.sorted) {
      const id = idFromFileName(name) as string;
      if (twins.has(id)) {
        const others = this.sorted.filter((n) => n !== name && idFromFileName(n) === id);
        out.push(invalidEntry(id, join(this.dir, name), `duplicate id "${id}": ${others.join(', ')} has the same id; rename one of them`));
        continue;
      }
      const entry = this.seen.get(name)?.entry ?? this.look(name);
      if (entry) out.push(entry);
      else gone.push(name);
    }
    for (const name of gone) this.forget(name);
    return out;
  }
}

/** Ids that more than one of these file names stands for. */
function twinIds(names: Iterable<string>): Set<string> {
  const seen = new Set<string>();
  const twins = new Set<string>();
  for (const name of names) {
    const id = idFromFileName(name) as string;
    if (seen.has(id)) twins.add(id);
    else seen.add(id);
  }
  return twins;
}

function sameStamp(a: Stamp | undefined, b: Stats): boolean {
  return a !== undefined && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino && a.dev === b.dev;
}
