import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startDaemon, type DaemonHandle } from '../../src/daemon/start.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { taskText } from '../helpers/repo.js';
import { waitFor } from '../helpers/wait.js';
import { DirWatcher } from '../../src/daemon/watchDir.js';
import { nextRescanMs } from '../../src/daemon/scheduler.js';

const left = cleanUpAfterEach();

/** Resolves with the next event of that name whose payload passes `match`. */
function next<T>(handle: DaemonHandle, event: 'task:invalid' | 'task:done', match: (p: T) => boolean): Promise<T> {
  return new Promise((resolve) => {
    const on = (payload: T) => {
      if (!match(payload)) return;
      handle.events.off(event, on as never);
      resolve(payload);
    };
    handle.events.on(event, on as never);
  });
}

describe('daemon in watch mode', () => {
  it('reports a file that breaks, is fixed and runs, then breaks again the same way, both times', async () => {
    const sb = await left.sandbox('---\n---\n');
    const file = join(sb.repo, 'tasks', '001-flaky.md');
    const handle = left.daemon(await startDaemon({ cwd: sb.repo, worktreeRoot: join(sb.dir, 'wt'), rescanMs: 200 }));
    const broken = '---\ntitle: [unclosed\n---\n';

    let invalid = next<{ id: string; reason: string }>(handle, 'task:invalid', (p) => p.id === '001-flaky');
    await writeFile(file, broken);
    const first = await invalid;

    const done = next<{ id: string }>(handle, 'task:done', (p) => p.id === '001-flaky');
    await writeFile(file, taskText({ title: 'Flaky', run: 'echo x > x.txt' }));
    await done;

    invalid = next(handle, 'task:invalid', (p) => p.id === '001-flaky');
    await writeFile(file, broken);
    expect((await invalid).reason).toBe(first.reason);
  });

  it('runs on watcher hints alone: a dropped file, an edit in place, and a dependent once its dependency is done', async () => {
    const sb = await left.sandbox('---\n---\n');
    const tasks = join(sb.repo, 'tasks');
    // No full rescan in this test's lifetime: each step must come from a watcher event or a task's end.
    const handle = left.daemon(await startDaemon({ cwd: sb.repo, worktreeRoot: join(sb.dir, 'wt'), rescanMs: 3_600_000 }));
    const doneIds: string[] = [];
    handle.events.on('task:done', ({ id }: { id: string }) => void doneIds.push(id));

    await writeFile(join(tasks, '.001-first.md.tmp'), taskText({ title: 'First', run: 'echo 1 > one.txt' }));
    await rename(join(tasks, '.001-first.md.tmp'), join(tasks, '001-first.md'));
    await waitFor('001 done', () => doneIds.includes('001-first'));

    // A draft edited in place (no rename) to queued; then 003, which waits for it. (Not 003 first: it
    // would be blocked if it saw 002 half-written, as an invalid file.)
    await writeFile(join(tasks, '002-second.md'), taskText({ title: 'Second', status: 'draft', run: 'echo 2 > two.txt' }));
    await writeFile(join(tasks, '002-second.md'), taskText({ title: 'Second', run: 'echo 2 > two.txt' }));
    await writeFile(join(tasks, '.003.tmp'), taskText({ title: 'Third', depends_on: ['002-second'], run: 'echo 3 > three.txt' }));
    await rename(join(tasks, '.003.tmp'), join(tasks, '003-third.md'));
    await waitFor('002 and 003 done', () => doneIds.includes('003-third'), 30_000);
    expect(doneIds).toEqual(['001-first', '002-second', '003-third']);
  });
});

describe('dependencies written after the task that needs them', () => {
  it('in watch mode a missing dependency is given a few seconds to appear; one that never does blocks', async () => {
    const sb = await left.sandbox('---\n---\n');
    const tasks = join(sb.repo, 'tasks');
    // A planner writing the dependent first and its dependency a moment later: the daemon has looked at
    // the queue (and gone idle) while the dependency was missing.
    await writeFile(join(tasks, '002-needs.md'), taskText({ title: 'Needs', depends_on: ['001-base'], run: 'echo 2 > two.txt' }));
    const handle = left.daemon(await startDaemon({ cwd: sb.repo, worktreeRoot: join(sb.dir, 'wt'), rescanMs: 3_600_000 }));
    const blocked: Array<{ id: string; reason: string }> = [];
    handle.events.on('task:blocked', (p: { id: string; reason: string }) => void blocked.push(p));
    await new Promise<void>((resolve) => handle.events.once('idle', () => resolve()));
    const done = next<{ id: string }>(handle, 'task:done', (p) => p.id === '002-needs').then(() => 'done');
    const gaveUp = new Promise<string>((resolve) =>
      handle.events.on('task:blocked', (p: { id: string; reason: string }) => p.id === '002-needs' && resolve(`blocked: ${p.reason}`)),
    );
    await writeFile(join(tasks, '001-base.md'), taskText({ title: 'Base', run: 'echo 1 > one.txt' }));
    expect(await Promise.race([done, gaveUp])).toBe('done');

    // A dependency that never comes: blocked, with the reason.
    const gone = new Promise<{ id: string; reason: string }>((resolve) =>
      handle.events.on('task:blocked', (p: { id: string; reason: string }) => p.id === '004-orphan' && resolve(p)),
    );
    await writeFile(join(tasks, '004-orphan.md'), taskText({ title: 'Orphan', depends_on: ['003-never'], run: 'echo 4 > four.txt' }));
    expect((await gone).reason).toBe('dependency 003-never does not exist in tasks/');
    expect(blocked.map((b) => b.id)).toEqual(['004-orphan']);
  });
});

describe('DirWatcher', () => {
  it('reports changed names, and watches a folder again once it is created or replaced', async () => {
    const root = await left.tempDir('nightshift-watch-');
    const dir = join(root, 'tasks');
    const names = new Set<string | undefined>();
    const watcher = new DirWatcher(
      dir,
      (name) => names.add(name),
      () => undefined,
    );
    left.defer(() => watcher.close());
    watcher.check(); // no folder yet: nothing to watch, no error
    await mkdir(dir);
    watcher.check();
    await writeFile(join(dir, 'a.md'), 'x');
    await waitFor('a.md reported', () => names.has('a.md'));
    await rm(dir, { recursive: true });
    await mkdir(dir);
    watcher.check();
    await writeFile(join(dir, 'b.md'), 'x');
    await waitFor('b.md reported', () => names.has('b.md'));
  });
});

describe('the safety-net rescan while idle', () => {
  it('comes half as often after each quiet full scan, down to a quarter of the base rate', () => {
    const seen = [30_000];
    for (let i = 0; i < 4; i++) seen.push(nextRescanMs(seen.at(-1) as number, 30_000));
    expect(seen).toEqual([30_000, 60_000, 120_000, 120_000, 120_000]);
  });
});
