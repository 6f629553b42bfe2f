import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { startDaemon } from '../../src/daemon/start.js';
import { progressEvents, taskText, type Sandbox } from './repo.js';
import { readTask } from './task.js';

/**
 * A chain of n tasks, each depending on the one before, whose head fails: runs `daemon start --once` (in
 * process) and checks that every dependent is blocked in the scan after the failure, each naming its
 * direct dependency and the root cause. Returns the seconds from the head's `failed` to the last `blocked`.
 */
export async function failedHeadOfChain(sb: Sandbox, n: number): Promise<number> {
  const id = (i: number) => `t${String(i).padStart(5, '0')}`;
  writeFileSync(join(sb.repo, 'tasks', `${id(0)}.md`), taskText({ title: 'Head', run: 'exit 1', max_attempts: 1 }));
  for (let i = 1; i < n; i++)
    writeFileSync(join(sb.repo, 'tasks', `${id(i)}.md`), taskText({ title: `Link ${i}`, depends_on: [id(i - 1)] }));

  const blockedAt: number[] = [];
  let failedAt = 0;
  const daemon = await startDaemon({
    cwd: sb.repo,
    once: true,
    worktreeRoot: join(sb.dir, 'wt'),
    onProgress: (line) => {
      if (line.includes(' blocked ')) blockedAt.push(performance.now());
      else if (line.includes(`${id(0)} failed `)) failedAt = performance.now();
    },
  });
  expect(await daemon.done).toMatchObject({ failed: 1, blocked: n - 1, waiting: 0 });
  expect(blockedAt).toHaveLength(n - 1);
  expect((await readTask(sb, id(1))).fm).toMatchObject({ status: 'blocked', error: `dependency ${id(0)} is failed` });
  expect((await readTask(sb, id(n - 1))).fm).toMatchObject({
    status: 'blocked',
    error: `dependency ${id(n - 2)} is blocked (dependency ${id(0)} is failed)`,
  });
  const events = progressEvents(await sb.read('progress.txt'));
  const blocked = events.filter((e) => e.event === 'blocked');
  expect(new Set(blocked.map((e) => e.id)).size).toBe(n - 1);
  // One scan: every blocked line comes right after the failure, with no scan of another level between.
  expect(events.map((e) => e.event)).toEqual([
    'daemon-start',
    'claimed',
    'attempt-started',
    'attempt-failed',
    'failed',
    ...blocked.map(() => 'blocked'),
    'daemon-stop',
  ]);
  return ((blockedAt[blockedAt.length - 1] as number) - failedAt) / 1000;
}
