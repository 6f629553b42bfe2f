import { watch, statSync, type FSWatcher } from 'node:fs';
import { basename } from 'node:path';

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
  /** The last attempt to watch failed: the error was reported once, not again on every check. */
  private failing = false;
  /** Inode and birth time of the watched folder: a folder re-created at once often gets the same inode. */
  private identity: string | undefined;

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
    let identity: string;
    try {
      const info = statSync(this.dir);
      identity = `${info.ino}:${info.birthtimeMs}`;
    } catch {
      this.close();
      return;
    }
    if (this.watcher && identity === this.identity) return;
    this.close();
    const self = basename(this.dir);
    try {
      const watcher = watch(this.dir, { persistent: true }, (_event, name) => {
        // Linux names the folder itself when it is removed or moved away: this watch sees nothing more.
        if (name === self) {
          this.check();
          this.onChange(undefined);
        } else this.onChange(name ?? undefined);
      });
      watcher.on('error', (err) => {
        if (this.watcher === watcher) this.close();
        this.onError(err);
      });
      this.watcher = watcher;
      this.identity = identity;
      this.failing = false;
    } catch (err) {
      // Out of inotify watches, say: the caller's rescans carry on; one warning, not one per check.
      if (!this.failing) this.onError(err as Error);
      this.failing = true;
    }
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.identity = undefined;
  }
}
