import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { updateTasksInBulk } from '../../src/task/bulkUpdate.js';
import { readTaskEntry } from '../../src/task/read.js';
import type { Task } from '../../src/task/task.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';

const left = cleanUpAfterEach();
let dir: string | undefined;

async function task(id: string, text: string): Promise<Task> {
  const file = join(dir as string, 'tasks', `${id}.md`);
  await writeFile(file, text);
  const entry = await readTaskEntry(file, id);
  if (entry.kind !== 'task') throw new Error('fixture does not parse');
  return entry.task;
}

describe('updateTasksInBulk', () => {
  it('writes every file it decided on, keeps the user bytes, leaves no temp file, and skips a file changed since it was read', async () => {
    dir = await left.tempDir('nightshift-bulk-');
    await import('node:fs/promises').then((fs) => fs.mkdir(join(dir as string, 'tasks')));
    const a = await task('001-a', '---\ntitle: A\nmine: keep   \n---\nBody A\n');
    const b = await task('002-b', '---\ntitle: B\n---\nBody B\n');
    const c = await task('003-c', '---\ntitle: C\nstatus: done\n---\nBody C\n');
    // Someone edits 002-b after the scan read it: their change wins, the batch leaves the file alone.
    await writeFile(b.file, '---\ntitle: B\nstatus: cancelled\n---\nBody B\n');
    const block = (t: Task) => (t.status === 'queued' ? { status: 'blocked' as const, error: 'dependency x is failed' } : undefined);
    const written = await updateTasksInBulk(
      join(dir, 'locks'),
      [a, b, c].map((t) => ({ task: t, decide: block })),
    );
    expect(written.map((t) => t.id)).toEqual(['001-a']);
    expect(await readFile(a.file, 'utf8')).toBe(
      '---\ntitle: A\nmine: keep   \nstatus: blocked\nerror: "dependency x is failed"\n---\nBody A\n',
    );
    expect(await readFile(b.file, 'utf8')).toBe('---\ntitle: B\nstatus: cancelled\n---\nBody B\n');
    expect(await readFile(c.file, 'utf8')).toBe('---\ntitle: C\nstatus: done\n---\nBody C\n');
    expect((await readdir(join(dir, 'tasks'))).sort()).toEqual(['001-a.md', '002-b.md', '003-c.md']);
  });
});
