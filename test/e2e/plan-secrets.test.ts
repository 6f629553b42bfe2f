import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cleanUpAfterAll } from '../helpers/cleanup.js';
import { listFiles, progressEvents, taskText, type Sandbox } from '../helpers/repo.js';
import { readTask } from '../helpers/task.js';

const TOKEN = 'tok-9f8e7d6c5b4a-not-a-real-one';

/**
 * Plan drift, a failing setup and secret masking, in one --once run: the daemon runs with MY_API_TOKEN
 * set, and executor, setup and test commands all print it.
 */
describe('plan drift, setup failures and secrets', () => {
  const left = cleanUpAfterAll();
  let sb: Sandbox;
  let planned: string;
  let run: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    sb = await left.sandbox({
      rules: `---
max_attempts: 2
setup: 'echo "setup sees $MY_API_TOKEN"; test "$NIGHTSHIFT_TASK_ID" != 004-setup-fails || { echo "npm ci: registry unreachable"; exit 3; }'
test: 'echo "test sees $MY_API_TOKEN"'
sandbox_env: [MY_API_TOKEN]
---
`,
      files: { 'src/x.ts': 'export const x = 1;\n', 'docs/guide.md': '# Guide\n' },
    });
    planned = (await sb.git(['rev-parse', 'HEAD'])).trim();
    await sb.write('src/x.ts', 'export const x = 2;\n');
    await sb.git(['commit', '-qam', 'x changes after the plan']);
    await sb.write(
      'tasks/001-drifted.md',
      taskText({ title: 'Planned before x changed', planned_at: planned.slice(0, 10), files: ['src/**'], run: 'echo y > src/y.ts' }),
    );
    await sb.write(
      'tasks/002-unknown-plan.md',
      taskText({ title: 'Planned on a commit we lack', planned_at: 'abcdef1', files: ['src/**'], run: 'echo y > src/y.ts' }),
    );
    await sb.write(
      'tasks/003-no-drift.md',
      taskText({ title: 'Planned docs', planned_at: planned, files: ['docs/**'], run: 'echo more >> docs/guide.md' }),
    );
    await sb.write('tasks/004-setup-fails.md', taskText({ title: 'Setup fails', run: 'echo never > never.txt' }));
    await sb.write(
      'tasks/005-leaky.md',
      taskText({
        title: 'Echoes a secret',
        // It writes a file, but not the token: a change holding the token is refused (test/hostile-output.test.ts).
        run: `echo "my token is $MY_API_TOKEN"; echo "token of \${#MY_API_TOKEN} characters" > leaked.txt; [ "$NIGHTSHIFT_ATTEMPT" = 2 ] || { echo "failing with $MY_API_TOKEN"; exit 1; }`,
      }),
    );
    run = await sb.cli(['daemon', 'start', '--once'], { timeoutMs: 180_000, env: { MY_API_TOKEN: TOKEN } });
  }, 200_000);

  it('blocks a task whose files changed on base since planned_at, and one planned on an unknown commit', async () => {
    expect(run.stdout).toContain('nightshift: 2 done, 1 failed, 2 blocked');
    const drifted = await readTask(sb, '001-drifted');
    expect(drifted.fm).toMatchObject({
      status: 'blocked',
      error: `plan drift: src/x.ts changed since the plan was written (planned_at ${planned.slice(0, 7)})`,
    });
    expect(drifted.fm.attempts).toBeUndefined();
    const unknown = await readTask(sb, '002-unknown-plan');
    expect(unknown.fm).toMatchObject({ status: 'blocked' });
    expect(String(unknown.fm.error)).toBe(
      'plan drift: planned_at abcdef1 is not a commit in this repository, or is ambiguous (fetch it, or re-plan the task and set planned_at again)',
    );
    expect((await readTask(sb, '003-no-drift')).fm.status).toBe('done');
    const blocked = progressEvents(await sb.read('progress.txt'))
      .filter((e) => e.event === 'blocked')
      .map((e) => e.id);
    expect(blocked.sort()).toEqual(['001-drifted', '002-unknown-plan']);
  });

  it('reports a failing setup as setup, with its output, and spends an attempt on each try', async () => {
    const { fm } = await readTask(sb, '004-setup-fails');
    expect(fm).toMatchObject({ status: 'failed', attempts: 2, error: 'setup failed (exit 3): npm ci: registry unreachable' });
    const log = await sb.read('.nightshift/logs/004-setup-fails/2.log');
    expect(log).toContain('npm ci: registry unreachable');
    expect(log).not.toContain('==> ' + 'executor');
  });

  it('masks the secret in every file nightshift writes', async () => {
    const { fm, text } = await readTask(sb, '005-leaky');
    expect(fm).toMatchObject({ status: 'done', attempts: 2 });
    const files = await listFiles(join(sb.repo, '.nightshift'));
    expect(files.some((f) => f.endsWith('daemon.log'))).toBe(true);
    expect(files.some((f) => f.endsWith('005-leaky/2.prompt.md'))).toBe(true);
    const leaks: string[] = [];
    for (const file of [...files, join(sb.repo, 'progress.txt')]) if ((await readFile(file, 'utf8')).includes(TOKEN)) leaks.push(file);
    expect(text).not.toContain(TOKEN);
    expect(leaks).toEqual([]);
    // Masked, not lost: the reader still sees where the secret was.
    expect(await sb.read('.nightshift/logs/005-leaky/1.log')).toContain('my token is ***');
    expect(await sb.read('.nightshift/logs/005-leaky/1.log')).toContain('setup sees ***');
    expect(await sb.read('.nightshift/logs/005-leaky/2.log')).toContain('test sees ***');
    expect(await sb.read('.nightshift/logs/005-leaky/2.prompt.md')).toContain('failing with ***');
    const failed = progressEvents(await sb.read('progress.txt')).find((e) => e.id === '005-leaky' && e.event === 'attempt-failed');
    expect(failed?.fields.reason).toBe('executor shell failed (exit 1): failing with ***');
  });
});
