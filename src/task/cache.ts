import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { hasCode } from '../errors.js';
import { invalidEntry, readTaskEntrySync } from './read.js';
import { idFromFileName } from './fileName.js';
import { eachInSlices } from '../util/timeSlices.js';
import type { TaskEntry } from './task.js';

/**
 * A file changed this recently may change again within its file system's timestamp resolution without
 * its size changing: its stamp proves nothing yet, so it is read again on each look until it is older
 * than this (what git calls the "racy" case). File systems that keep whole seconds (FAT, HFS+, some
 * network shares) need seconds; the others stamp with the kernel's coarse clock, a few milliseconds.
 */
const RACY_MS = 3000;
const RACY_FINE_MS = 100;

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

/** A task file the cache knows of. */
interface Known {
  id: string;
  file: string;
  /** Undefined until first looked at (a duplicate's file is never read). */
  seen?: Seen;
}

/**
 * The parsed task files of one tasks/ folder, kept between scans. A file is read and parsed again only
 * when its stamp (size, mtime, ctime, inode) changed; a full scan costs one readdir and one lstat per
 * file. Status writes and claims never trust this: they re-read the file under its edit lock.
 */
export class TaskCache {
  private readonly files = new Map<string, Known>();
  /** Known names in order and the ids more than one of them stands for; undefined after the set changes. */
  private order: { names: string[]; twins: Set<string> } | undefined;
  /** The last answer, handed out again (the same array) until something changes. */
  private listing: TaskEntry[] | undefined;

  /** A lower `racyMs` is for tests, which cannot date a file's ctime back. */
  constructor(
    readonly dir: string,
    private readonly racyMs = RACY_MS,
  ) {}

  /**
   * Every task file in the folder, valid or not, sorted by file name. Duplicate ids make every file of
   * that id invalid. With `only`, just the files of those ids (duplicates among them still found).
   * Callers must not change the array: while nothing changes, the next scan returns it again.
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
      const known = this.files.get(name);
      if (known) {
        if (only === undefined || only.has(known.id)) present.add(name);
      } else {
        const id = idFromFileName(name);
        if (id !== undefined && (only === undefined || only.has(id))) {
          this.add(name, id);
          present.add(name);
        }
      }
    }
    for (const name of this.files.keys()) if (!present.has(name)) this.forget(name);
    const { names, twins } = this.ordered();
    // A duplicate id is reported from the names alone; its files need not be read.
    await this.lookEach(names.filter((name) => !twins.has((this.files.get(name) as Known).id)));
    return this.entries();
  }

  /**
   * Only the named files changed (watcher hints name them): looks at those and takes every other file
   * as last seen. A file named here that is gone is dropped; one that is new is added.
   */
  async refresh(changed: Iterable<string>): Promise<TaskEntry[]> {
    const names: string[] = [];
    for (const name of new Set(changed)) {
      const id = this.files.get(name)?.id ?? idFromFileName(name);
      if (id === undefined) continue;
      if (!this.files.has(name)) this.add(name, id);
      names.push(name);
    }
    await this.lookEach(names);
    return this.entries();
  }

  /** The inode of a task file (by name) when last looked at: a rename keeps it, an atomic save does not. */
  inodeOf(name: string): number | undefined {
    return this.files.get(name)?.seen?.stamp?.ino;
  }

  /** Looks at each file (stat, and a read if it changed), yielding to the event loop now and then. */
  private async lookEach(names: string[]): Promise<void> {
    await eachInSlices(names, (name) => {
      const known = this.files.get(name);
      if (known && !this.look(known)) this.forget(name);
    });
  }

  /** The file's entry, from the cache when its stamp is unchanged; undefined when it is gone. */
  private look(known: Known): TaskEntry | undefined {
    const { id, file } = known;
    let info: Stats;
    try {
      info = lstatSync(file);
    } catch (err) {
      if (hasCode(err, 'ENOENT')) return undefined;
      return this.keep(known, undefined, false, invalidEntry(id, file, `cannot read the file: ${(err as Error).message}`));
    }
    const before = known.seen;
    if (before?.settled && sameStamp(before.stamp, info)) return before.entry;
    let entry: TaskEntry;
    try {
      entry = readTaskEntrySync(file, id, info);
    } catch (err) {
      // Deleted or renamed between the stat and the read: it is simply not there any more.
      if (hasCode(err, 'ENOENT')) return undefined;
      return this.keep(known, undefined, false, invalidEntry(id, file, `cannot read the file: ${(err as Error).message}`));
    }
    const changedAt = Math.max(info.mtimeMs, info.ctimeMs);
    const wholeSeconds = info.mtimeMs % 1000 === 0 && info.ctimeMs % 1000 === 0;
    const settled = Date.now() - changedAt > Math.min(this.racyMs, wholeSeconds ? RACY_MS : RACY_FINE_MS);
    const { size, mtimeMs, ctimeMs, ino, dev } = info;
    return this.keep(known, { size, mtimeMs, ctimeMs, ino, dev }, settled, entry);
  }

  private keep(known: Known, stamp: Stamp | undefined, settled: boolean, entry: TaskEntry): TaskEntry {
    known.seen = { stamp, settled, entry };
    this.listing = undefined;
    return entry;
  }

  private add(name: string, id: string): void {
    this.files.set(name, { id, file: join(this.dir, name) });
    this.order = undefined;
    this.listing = undefined;
  }

  private forget(name: string): void {
    if (!this.files.delete(name)) return;
    this.order = undefined;
    this.listing = undefined;
  }

  private ordered(): { names: string[]; twins: Set<string> } {
    if (this.order) return this.order;
    const names = [...this.files.keys()].sort();
    const ids = new Set<string>();
    const twins = new Set<string>();
    for (const name of names) {
      const { id } = this.files.get(name) as Known;
      if (ids.has(id)) twins.add(id);
      else ids.add(id);
    }
    this.order = { names, twins };
    return this.order;
  }

  /** Every known file's entry in name order (a file last seen as a duplicate is looked at now). */
  private entries(): TaskEntry[] {
    if (this.listing) return this.listing;
    const { names, twins } = this.ordered();
    const out: TaskEntry[] = [];
    const gone: string[] = [];
    for (const name of names) {
      const known = this.files.get(name) as Known;
      if (twins.has(known.id)) {
        const others = names.filter((n) => n !== name && this.files.get(n)?.id === known.id);
        out.push(
          invalidEntry(known.id, known.file, `duplicate id "${known.id}": ${others.join(', ')} has the same id; rename one of them`),
        );
        continue;
      }
      const entry = known.seen?.entry ?? this.look(known);
      if (entry) out.push(entry);
      else gone.push(name);
    }
    for (const name of gone) this.forget(name);
    if (gone.length > 0) return this.entries();
    this.listing = out;
    return out;
  }
}

function sameStamp(a: Stamp | undefined, b: Stats): boolean {
  return a !== undefined && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino && a.dev === b.dev;
}
