import { truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cleanUpAfterAll } from '../helpers/cleanup.js';
import { progressEvents, taskText, type Sandbox } from '../helpers/repo.js';
import { readTask, taskBranches } from '../helpers/task.js';

/**
 * Executors that misbehave on purpose, all in one --once run (concurrency 1: the executor that moves
 * base would otherwise trip the ref guard of the tasks running beside it). Each must end with the right
 * outcome and reason, and nothing but the good task's branch may reach the remote.
 */
const RULES = `---
push: branch
max_attempts: 1
concurrency: 1
test: "true"
protect: ["src/auth/**"]
tests: ["test/**"]
---
`;

const TASKS: Record<string, Record<string, unknown>> = {
  '001-outside': { title: 'Edits outside its files', files: ['src/app.ts'], run: 'echo more >> src/app.ts && echo stray > other.txt' },
  '002-protected': { title: 'Edits a protected path', run: 'echo hacked >> src/auth/session.ts' },
  '003-delete-test': { title: 'Deletes a test', run: 'rm test/b.test.ts && echo x >> src/app.ts' },
  '004-good': {
    title: 'Weakens nothing',
    files: ['src/**', 'test/**'],
    run: 'echo ok >> src/app.ts && echo "more checks" >> test/a.test.ts',
  },
  '005-self-commit': {
    title: 'Commits a protected edit itself',
    run: 'echo hacked >> src/auth/session.ts && git commit -qam "agent: tweak" && echo y > y.txt',
  },
  '006-reset-base': { title: 'Resets base', run: 'git update-ref refs/heads/main HEAD~1 && git tag agent-tag HEAD && echo z > z.txt' },
  '007-markers': {
    title: 'Leaves conflict markers',
    run: "printf '<<<<<<< HEAD\\nmine\\n=======\\ntheirs\\n>>>>>>> other\\n' > src/app.ts",
  },
  '008-huge': { title: 'Writes a 100 MB file', run: 'truncate -s 100M huge.bin && echo x >> src/app.ts' },
  '009-escapes': {
    title: 'Embeds a repository and links outside',
    run: 'mkdir sub && cd sub && git init -q && echo x > f && cd .. && ln -s /etc/passwd pw && echo x >> src/app.ts',
  },
  '010-too-long': { title: 'Changes too many lines', max_changed_lines: 5, run: 'seq 1 20 > numbers.txt' },
  '011-reset-and-crash': { title: 'Resets base and fails', run: 'git update-ref refs/heads/main HEAD~1; exit 4' },
};

const EXPECTED_ERRORS: Record<string, string> = {
  '001-outside': "guard failed: files: changed outside the task's scope (src/app.ts): other.txt",
  '002-protected': 'guard failed: protect: changed protected paths: src/auth/session.ts',
  '003-delete-test': 'guard failed: tests: deleted or renamed away test files: test/b.test.ts',
  '005-self-commit': 'guard failed: protect: changed protected paths: src/auth/session.ts',
  '007-markers': 'guard failed: conflict markers: unresolved <<<<<<< / >>>>>>> lines in src/app.ts',
  '008-huge': 'guard failed: max_file_size: files over 5 MB: huge.bin (100 MB)',
  '009-escapes':
    'guard failed: .git: embedded repositories (folders with their own .git): sub; symlinks: pointing outside the worktree: pw -> /etc/passwd',
  '010-too-long':
    'guard failed: max_changed_lines: the change adds and removes 20 lines, more than 5; split the task or make a smaller change',
};

describe('guards against misbehaving executors', () => {
  const left = cleanUpAfterAll();
  let sb: Sandbox;
  let mainBefore: string;
  let run: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    sb = await left.sandbox({
      rules: RULES,
      files: {
        'src/app.ts': 'export const app = 1;\n',
        'src/auth/session.ts': 'export const session = 1;\n',
        'test/a.test.ts': 'a\n',
        'test/b.test.ts': 'b\n',
      },
    });
    // A second commit, so an executor has something to reset base to.
    await sb.write('src/app.ts', 'export const app = 2;\n');
    await sb.git(['commit', '-qam', 'second']);
    await sb.git(['push', '-q', 'origin', 'main']);
    mainBefore = (await sb.git(['rev-parse', 'main'])).trim();
    for (const [id, fields] of Object.entries(TASKS)) await sb.write(`tasks/${id}.md`, taskText(fields));
    run = await sb.cli(['daemon', 'start', '--once'], { timeoutMs: 180_000 });
  }, 200_000);

  it('fails each misbehaving task with the rule and the paths, and does the good one', async () => {
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('nightshift: 1 done, 10 failed, 0 blocked');
    for (const [id, error] of Object.entries(EXPECTED_ERRORS)) {
      const { fm } = await readTask(sb, id);
      expect({ id, status: fm.status, error: fm.error }).toEqual({ id, status: 'failed', error });
    }
    const good = await readTask(sb, '004-good');
    expect(good.fm.status).toBe('done');
    expect((await sb.git(['show', '--format=', '--name-only', String(good.fm.commit)])).trim().split('\n')).toEqual([
      'src/app.ts',
      'test/a.test.ts',
    ]);
  });

  it('restores base after an executor reset it, and names the refs it moved or created', async () => {
    const { fm } = await readTask(sb, '006-reset-base');
    expect(fm.status).toBe('failed');
    expect(String(fm.error)).toBe(
      `guard failed: refs: the executor moved main from ${mainBefore.slice(0, 7)} to ${(await sb.git(['rev-parse', 'main~1'])).trim().slice(0, 7)} (restored); refs: the executor created tag agent-tag (left in place)`,
    );
    const crashed = await readTask(sb, '011-reset-and-crash');
    expect(String(crashed.fm.error)).toBe(
      `executor shell failed (exit 4); guard failed: refs: the executor moved main from ${mainBefore.slice(0, 7)} to ${(await sb.git(['rev-parse', 'main~1'])).trim().slice(0, 7)} (restored)`,
    );
    expect((await sb.git(['rev-parse', 'main'])).trim()).toBe(mainBefore);
    expect((await sb.git(['rev-parse', 'main'], sb.remote)).trim()).toBe(mainBefore);
  });

  it('runs the guards on commits the executor made itself and keeps no branch of them', async () => {
    expect(await taskBranches(sb, '005-self-commit')).toEqual({ local: undefined, remote: undefined });
  });

  it('never hashes an oversized file into the object store', async () => {
    const copy = join(sb.dir, 'huge.bin');
    await writeFile(copy, '');
    await truncate(copy, 100 * 1024 * 1024);
    const blob = (await sb.git(['hash-object', '--', copy])).trim();
    await expect(sb.git(['cat-file', '-e', blob])).rejects.toThrow();
  });

  it('lets nothing but the good task reach the remote', async () => {
    const refs = (await sb.git(['for-each-ref', '--format=%(refname) %(objectname)'], sb.remote)).trim().split('\n');
    const good = await readTask(sb, '004-good');
    expect(refs).toEqual([`refs/heads/main ${mainBefore}`, `refs/heads/nightshift/004-good ${String(good.fm.commit)}`]);
    const events = progressEvents(await sb.read('progress.txt'));
    expect(events.filter((e) => e.event === 'pushed').map((e) => e.id)).toEqual(['004-good']);
    expect(events.filter((e) => e.event === 'tests-passed').map((e) => e.id)).toEqual(['004-good']);
  });
});
