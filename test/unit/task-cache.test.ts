import { beforeEach, describe, expect, it } from 'vitest';
import { rename, unlink, utimes, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TaskCache } from '../../src/task/cache.js';
import { loadTasks, readTaskEntry } from '../../src/task/store.js';
import { MAX_TASK_BYTES } from '../../src/task/parse.js';
import type { TaskEntry } from '../../src/task/task.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';

const left = cleanUpAfterEach();
let dir: string;
beforeEach(async () => {
  dir = await left.tempDir('nightshift-cache-');
});

const task = (title: string, extra = '') => `---\ntitle: ${title}\n${extra}---\nbody\n`;
/** Writes a file dated an hour back (only its ctime says it is new). */
async function writeOld(name: string, text: string): Promise<void> {
  const file = join(dir, name);
  await writeFile(file, text);
  const old = new Date(Date.now() - 3600_000);
  await utimes(file, old, old);
}
const summary = (entries: TaskEntry[]) =>
  entries.map((e) => (e.kind === 'task' ? `${e.task.id}:${e.task.title}` : `${e.invalid.id}:invalid:${e.invalid.reason}`));

describe('TaskCache', () => {
  it('reuses the parsed entry of an unchanged file and re-reads an edit that keeps size and mtime', async () => {
    await writeOld('a.md', task('one'));
    await writeOld('b.md', task('bee'));
    const cache = new TaskCache(dir, 0); // the files' ctime is now: trust stamps at once
    const first = await cache.scan();
    const again = await cache.scan();
    expect(again[0]).toBe(first[0]); // the same object: not read again
    const { mtime } = await stat(join(dir, 'a.md'));
    await writeFile(join(dir, 'a.md'), task('two')); // same size
    await utimes(join(dir, 'a.md'), mtime, mtime); // same mtime; the ctime still moves
    expect(summary(await cache.scan())).toEqual(['a:two', 'b:bee']);
  });

  it('drops a deleted file, follows a rename, and reports a file that became invalid', async () => {
    await writeOld('a.md', task('one'));
    await writeOld('b.md', task('bee'));
    await writeOld('c.md', task('sea'));
    const cache = new TaskCache(dir);
    await cache.scan();
    await unlink(join(dir, 'a.md'));
    await rename(join(dir, 'b.md'), join(dir, 'd.md'));
    await writeFile(join(dir, 'c.md'), '---\ntitle: sea\nstatus: nope\n---\n');
    expect(summary(await cache.scan())).toEqual([
      'c:invalid:unknown status "nope": use one of queued, running, done, failed, blocked, cancelled, draft',
      'd:bee',
    ]);
  });

  it('finds duplicate ids, and reads the survivor once its twin is gone', async () => {
    await writeOld('a.md', task('one'));
    await writeOld('a.markdown', task('other'));
    const cache = new TaskCache(dir);
    expect(summary(await cache.scan())).toEqual([
      'a:invalid:duplicate id "a": a.md has the same id; rename one of them',
      'a:invalid:duplicate id "a": a.markdown has the same id; rename one of them',
    ]);
    await unlink(join(dir, 'a.md'));
    // A watcher names only the removed file; the survivor was never read as a duplicate.
    expect(summary(await cache.refresh(['a.md']))).toEqual(['a:other']);
  });

  it('refresh looks only at the named files and takes the rest as last seen', async () => {
    await writeOld('a.md', task('one'));
    await writeOld('b.md', task('bee'));
    const cache = new TaskCache(dir);
    await cache.scan();
    await writeFile(join(dir, 'a.md'), task('changed'));
    await writeFile(join(dir, 'n.md'), task('new'));
    await unlink(join(dir, 'b.md'));
    await writeFile(join(dir, '.n.md.tmp'), task('temp'));
    // Only n.md named: the edit of a.md and the removal of b.md wait for the next full scan.
    expect(summary(await cache.refresh(['n.md', '.n.md.tmp']))).toEqual(['a:one', 'b:bee', 'n:new']);
    expect(summary(await cache.refresh(['a.md', 'b.md']))).toEqual(['a:changed', 'n:new']);
    expect(summary(await cache.scan())).toEqual(['a:changed', 'n:new']);
  });

  it('loads only the files of the ids asked for', async () => {
    await writeFile(join(dir, 'a.md'), task('one'));
    await writeFile(join(dir, 'b.md'), task('bee'));
    await writeFile(join(dir, 'b.markdown'), task('twin'));
    expect(summary(await loadTasks(dir, ['a']))).toEqual(['a:one']);
    expect(summary(await loadTasks(dir, ['b', 'zz']))).toHaveLength(2);
    expect(summary(await loadTasks(join(dir, 'missing')))).toEqual([]);
  });

  it('reads files of any size up to the limit, and refuses one byte more', async () => {
    const head = '---\ntitle: big\n---\n';
    const exact = head + 'x'.repeat(MAX_TASK_BYTES - head.length);
    await writeFile(join(dir, 'big.md'), exact);
    await writeFile(join(dir, 'bigger.md'), `${exact}x`);
    await writeFile(join(dir, 'mid.md'), head + 'y'.repeat(5000));
    const entries = await loadTasks(dir);
    expect(entries.map((e) => (e.kind === 'task' ? e.task.text.length : e.invalid.reason))).toEqual([
      MAX_TASK_BYTES,
      expect.stringMatching(/limited to 1 MB/),
      head.length + 5000,
    ]);
    const direct = await readTaskEntry(join(dir, 'big.md'), 'big');
    expect(direct.kind === 'task' && direct.task.text).toBe(exact);
  });
});
