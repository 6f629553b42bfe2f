import { watch, statSync, type FSWatcher } from 'node:fs';

/**
 * Watches one folder (not its subfolders) and reports the names of entries that changed. One inotify
 * watch for the folder, where chokidar added one per file plus a stat of each: 10,000 task files cost
 * seconds at start-up and 10,000 kernel watches.
 *
 * Events are hints: the caller's periodic full scan is what guarantees nothing is missed (a full event
 * queue, a network file system). A folder that does not exist yet, or was replaced, is watched again
 * when `check()` finds it.
 */
export class DirWatcher {
  private watcher: FSWatcher | undefined;
  private inode: number | undefined;

  constructor(
    private readonly dir: string,
    /** A changed entry's name, or undefined when the platform did not say which. */
    private readonly onChange: (name: string | undefined) => void,
    private readonly onError: (err: Error) => void,
  ) {}

  /**
   * Starts watching if not already watching this very folder (it may have been removed and re-created).
   * Whatever happened in between is for the caller's full scan, which follows each check.
   */
  check(): void {
    let inode: number;
    try {
      inode = statSync(this.dir).ino;
    } catch {
      this.close();
      return;
    }
    if (this.watcher && inode === this.inode) return;
    this.close();
    try {
      const watcher = watch(this.dir, { persistent: true }, (_event, name) => this.onChange(name ?? undefined));
      watcher.on('error', (err) => {
        if (this.watcher === watcher) this.close();
        this.onError(err);
      });
      this.watcher = watcher;
      this.inode = inode;
    } catch (err) {
      this.onError(err as Error);
    }
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.inode = undefined;
  }
}
