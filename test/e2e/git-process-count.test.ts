import { beforeEach, describe, expect, it } from 'vitest';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { taskText, type Sandbox } from '../helpers/repo.js';

describe('git processes per attempt in the daemon log', () => {
  const left = cleanUpAfterEach();
  let sb: Sandbox;
  beforeEach(async () => {
    sb = await left.sandbox({ rules: '---\npush: branch\nmax_attempts: 2\nretry_backoff: 1ms\n---\nBe nice.\n' });
  });

  it('logs gitProcesses on every "attempt finished" line: a task done at once, and one that fails twice', async () => {
    await sb.write('tasks/001-hello.md', taskText({ title: 'Hello', run: 'echo hi > hello.txt' }));
    await sb.write('tasks/002-nothing.md', taskText({ title: 'Nothing', run: 'true' }));
    const r = await sb.cli(['daemon', 'start', '--once']);
    expect(r.code).toBe(1);
    const log = (await sb.read('.nightshift/daemon.log')).split('\n').filter(Boolean);
    const lines = log.map((l) => JSON.parse(l) as Record<string, unknown>);
    const finished = lines
      .filter((l) => l.msg === 'attempt finished')
      .map((l) => ({ what: `${String(l.task)} ${String(l.attempt)} ${String(l.outcome)}`, git: l.gitProcesses }));
    expect(finished.map((f) => f.what).sort()).toEqual(['001-hello 1 success', '002-nothing 1 failure', '002-nothing 2 failure']);
    // A worktree, the guards, and for the success a commit and a push: each takes git processes.
    for (const f of finished) expect(f.git).toBeGreaterThan(5);
  });
});
