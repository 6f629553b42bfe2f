import { existsSync } from 'node:fs';
import { lstat, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cleanUpAfterAll } from '../helpers/cleanup.js';
import { progressEvents, taskText, type Sandbox } from '../helpers/repo.js';
import { readTask, taskBranches } from '../helpers/task.js';

/**
 * Executors that do to the shared git state what agents do: move HEAD off the task's branch, install
 * hooks, change the config, use the stash, push to base, rewrite rules.md through the common dir. All in
 * one --once run (concurrency 1). The user's repository starts with a stash of two entries, hooks that
 * refuse every commit and push, and commit signing on with a gpg that always fails: nightshift's own
 * commits and pushes must succeed anyway, and every piece of that state must be byte for byte as before.
 */
// These executors reach outside their worktree on purpose: what the guards catch without the sandbox
// (sandbox: none; the sandbox's own suite is sandbox.test.ts).
const RULES = `---
sandbox: none
push: branch
max_attempts: 1
concurrency: 1
protect: ["src/auth/**"]
test: 'case "$NIGHTSHIFT_TASK_ID" in 013-*) git config user.name Mallory;; 014-*) git commit --allow-empty --no-verify --no-gpg-sign -qm t;; esac'
---
`;
const SCOPE = '# scope\n\nThe project.\n';
const EVIL_RULES = '---\nprotect: []\n---\n';
const COMMIT = 'git commit --no-verify --no-gpg-sign -qm';
const common = '"$(git rev-parse --git-common-dir)"';

function tasks(dir: string): Record<string, string> {
  return {
    '001-detach': `git checkout -q --detach && echo work > work.txt && git add work.txt && ${COMMIT} work`,
    '002-own-branch': `git checkout -q -b mine && echo w > w.txt && git add w.txt && ${COMMIT} w`,
    '003-hooks': `printf '#!/bin/sh\\necho hacked >> src/auth/session.ts; git add src/auth/session.ts\\n' > ${common}/hooks/pre-commit && printf '#!/bin/sh\\n' > ${common}/hooks/post-commit && chmod +x ${common}/hooks/post-commit && echo x >> src/app.ts`,
    '004-email': 'git config user.email evil@x && echo x >> src/app.ts',
    '005-hooks-path': 'git config core.hooksPath /tmp/x && echo x >> src/app.ts',
    '006-sign': 'git config gpg.program /bin/false && git config commit.gpgSign true && echo x >> src/app.ts',
    '007-set-url': 'git remote set-url origin /elsewhere && echo x >> src/app.ts',
    '008-stash-drop': 'git stash drop -q && echo x >> src/app.ts',
    '009-stash-push': 'echo tmp >> src/app.ts && git stash -q && echo x >> src/app.ts',
    '010-push-main': `echo p > p.txt && git add p.txt && ${COMMIT} p && git push -q --no-verify origin HEAD:main`,
    '011-rules': `printf -- '${EVIL_RULES.replace(/\n/g, '\\n')}' > ${common}/../rules.md && echo x >> src/app.ts`,
    // A filter and an fsmonitor run commands inside git status/add: nightshift's own must not run them.
    '012-commands': `git config core.fsmonitor "touch ${dir}/fsmonitor-ran" && git config filter.evil.clean "touch ${dir}/filter-ran; cat" && echo '* filter=evil' > .gitattributes && echo x >> src/app.ts`,
    '013-test-config': 'echo x >> src/app.ts',
    '014-test-commits': 'echo x >> src/app.ts',
    '015-good': 'echo ok >> src/app.ts',
  };
}

/** Every byte of the user's shared git state and rules files that an executor could reach. */
async function sharedState(sb: Sandbox): Promise<Record<string, string>> {
  const git = join(sb.repo, '.git');
  const state: Record<string, string> = {};
  const read = async (path: string) => {
    const full = join(sb.repo, path);
    state[path] = existsSync(full)
      ? `${((await lstat(full)).mode & 0o777).toString(8)} ${(await readFile(full)).toString('base64')}`
      : 'absent';
  };
  for (const path of [
    '.git/config',
    '.git/refs/stash',
    '.git/logs/refs/stash',
    '.git/info/attributes',
    '.git/info/exclude',
    'rules.md',
    'scope.md',
  ])
    await read(path);
  for (const hook of (await readdir(join(git, 'hooks'))).sort()) await read(`.git/hooks/${hook}`);
  return state;
}

describe('executors that change the git state they share with the user', () => {
  const left = cleanUpAfterAll();
  let sb: Sandbox;
  let mainBefore: string;
  let before: Record<string, string>;
  let stashBefore: string;
  let run: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    sb = await left.sandbox({
      rules: RULES,
      files: { 'scope.md': SCOPE, 'src/app.ts': 'export const app = 1;\n', 'src/auth/session.ts': 'export const session = 1;\n' },
    });
    mainBefore = (await sb.git(['rev-parse', 'main'])).trim();
    // The user's own stash, two entries.
    for (const n of [1, 2]) {
      await sb.write('README.md', `# test project\nwip ${n}\n`);
      await sb.git(['stash', 'push', '-q', '-m', `user wip ${n}`]);
    }
    stashBefore = await sb.git(['stash', 'list']);
    // Hooks and signing that would make any commit or push of nightshift's fail, were they honoured.
    await writeFile(join(sb.repo, '.git/hooks/pre-commit'), '#!/bin/sh\necho "user hook: no" >&2\nexit 1\n', { mode: 0o755 });
    await writeFile(join(sb.repo, '.git/hooks/pre-push'), '#!/bin/sh\necho "user hook: no" >&2\nexit 1\n', { mode: 0o755 });
    await sb.git(['config', 'commit.gpgsign', 'true']);
    await sb.git(['config', 'gpg.program', join(sb.dir, 'no-gpg')]);
    for (const [id, run] of Object.entries(tasks(sb.dir))) await sb.write(`tasks/${id}.md`, taskText({ title: `Case ${id}`, run }));
    before = await sharedState(sb);
    run = await sb.cli(['daemon', 'start', '--once'], { timeoutMs: 120_000 });
  }, 150_000);

  it('fails every hostile task with one line naming what changed, and does the good one', async () => {
    expect(run.stdout).toContain('nightshift: 1 done, 14 failed, 0 blocked');
    const pushed = (await sb.git(['rev-parse', 'main'], sb.remote)).trim();
    const recovered = async (id: string) => (await sb.git(['rev-parse', `nightshift-recovery/${id}/attempt-1`])).trim();
    const expected: Record<string, string> = {
      '001-detach': `guard failed: HEAD: the executor left HEAD detached at ${(await recovered('001-detach')).slice(0, 7)}; nightshift commits only on nightshift/001-detach; that commit is kept on branch nightshift-recovery/001-detach/attempt-1`,
      '002-own-branch': `guard failed: HEAD: the executor switched HEAD to branch mine at ${(await recovered('002-own-branch')).slice(0, 7)}; nightshift commits only on nightshift/002-own-branch; that commit is kept on branch nightshift-recovery/002-own-branch/attempt-1; refs: the executor created mine (left in place)`,
      '003-hooks': 'guard failed: hooks: the executor added post-commit (removed), changed pre-commit (restored)',
      '004-email': 'guard failed: git config: the executor changed user.email (restored)',
      '005-hooks-path': 'guard failed: git config: the executor changed core.hooksPath (restored)',
      '006-sign': 'guard failed: git config: the executor changed gpg.program (restored)',
      '007-set-url': 'guard failed: git config: the executor changed remote.origin.url (restored)',
      '008-stash-drop': 'guard failed: stash: the executor dropped 1 entry (restored)',
      '009-stash-push': 'guard failed: stash: the executor added 1 entry (restored)',
      '010-push-main': `guard failed: remote: the executor moved origin/main from ${mainBefore.slice(0, 7)} to ${pushed.slice(0, 7)} (left in place: nightshift never force-pushes your remote; undo it yourself if it was not wanted)`,
      '012-commands': 'guard failed: git config: the executor changed core.fsmonitor, filter.evil.clean (restored)',
      '013-test-config': 'guard failed: git config: the test command changed user.name (restored)',
    };
    for (const [id, error] of Object.entries(expected)) {
      const { fm } = await readTask(sb, id);
      expect({ id, status: fm.status, error: fm.error }).toEqual({ id, status: 'failed', error });
    }
    const committed = await readTask(sb, '014-test-commits');
    expect(committed.fm.status).toBe('failed');
    expect(String(committed.fm.error)).toMatch(
      new RegExp(
        `^guard failed: HEAD: the test command or the reviewer moved nightshift/014-test-commits to [0-9a-f]{7}; nightshift commits on base_commit ${mainBefore.slice(0, 7)} only$`,
      ),
    );
    const rules = await readTask(sb, '011-rules');
    expect(rules.fm.status).toBe('failed');
    const kept =
      /^guard failed: rules\.md changed while the executor ran; restored, the changed copy is kept at (\.nightshift\/quarantine\/\d{8}T\d{6}\.\d{3}Z-rules\.md)$/.exec(
        String(rules.fm.error),
      );
    expect(kept, String(rules.fm.error)).not.toBeNull();
    expect(await sb.read(kept?.[1] as string)).toBe(EVIL_RULES);
    expect((await readTask(sb, '015-good')).fm.status).toBe('done');
  });

  it('leaves the config, hooks, stash, rules.md and scope.md byte for byte as they were', async () => {
    expect(await sharedState(sb)).toEqual(before);
    expect(await sb.git(['stash', 'list'])).toBe(stashBefore);
    // The entry the executor stashed is not lost either: it may have been the user's, stashed meanwhile.
    const kept = (await sb.git(['for-each-ref', '--format=%(refname) %(subject)', 'refs/nightshift-quarantine/'])).trim();
    expect(kept).toMatch(
      /^refs\/nightshift-quarantine\/\d{8}T\d{6}\d{3}Z\/stash-1 WIP on nightshift\/009-stash-push: [0-9a-f]{7} initial$/,
    );
    expect(existsSync(join(sb.dir, 'fsmonitor-ran'))).toBe(false);
    expect(existsSync(join(sb.dir, 'filter-ran'))).toBe(false);
  });

  it('keeps the work of an executor that left its branch on a recovery branch, and pushes no task branch at base', async () => {
    expect(await sb.git(['show', '--format=', '--name-only', 'nightshift-recovery/001-detach/attempt-1'])).toBe('work.txt\n');
    expect(await sb.git(['show', '--format=', '--name-only', 'nightshift-recovery/002-own-branch/attempt-1'])).toBe('w.txt\n');
    for (const id of ['001-detach', '002-own-branch']) expect((await taskBranches(sb, id)).remote).toBeUndefined();
  });

  it('commits the good task with the identity of daemon start, unsigned, on base, past hooks that refuse', async () => {
    const good = await readTask(sb, '015-good');
    const commit = String(good.fm.commit);
    expect(await taskBranches(sb, '015-good')).toEqual({ local: commit, remote: commit });
    const raw = await sb.git(['cat-file', 'commit', commit]);
    expect(raw).not.toContain('gpgsig');
    expect(await sb.git(['log', '-1', '--format=%an <%ae>|%cn <%ce>|%P', commit])).toBe(
      `Test User <test@example.invalid>|Test User <test@example.invalid>|${mainBefore}\n`,
    );
    expect(await sb.git(['show', '--format=', '--name-only', commit])).toBe('src/app.ts\n');
    const events = progressEvents(await sb.read('progress.txt'));
    expect(events.filter((e) => e.event === 'pushed').map((e) => e.id)).toEqual(['015-good']);
  });
});

describe('an executor that pushes to base itself, with push: land', () => {
  const left = cleanUpAfterAll();
  let sb: Sandbox;
  let mainBefore: string;
  let run: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    sb = await left.sandbox({
      rules: '---\nsandbox: none\npush: land\nmax_attempts: 1\nconcurrency: 1\n---\n',
      files: { 'src/app.ts': 'export const app = 1;\n' },
    });
    mainBefore = (await sb.git(['rev-parse', 'main'])).trim();
    await sb.write(
      'tasks/001-push-main.md',
      taskText({
        title: 'Pushes to main',
        run: `echo p > p.txt && git add p.txt && ${COMMIT} p && git push -q origin HEAD:main && echo q >> src/app.ts`,
      }),
    );
    await sb.write('tasks/002-good.md', taskText({ title: 'Good', run: 'echo ok >> src/app.ts' }));
    run = await sb.cli(['daemon', 'start', '--once'], { timeoutMs: 60_000 });
  }, 90_000);

  it('fails the attempt instead of landing on top of the unverified push, leaves the push in place, lands the next task', async () => {
    expect(run.stdout).toContain('nightshift: 1 done, 1 failed, 0 blocked');
    const good = await readTask(sb, '002-good');
    const remoteMain = (await sb.git(['rev-parse', 'main'], sb.remote)).trim();
    expect(remoteMain).toBe(String(good.fm.commit));
    const pushed = (await sb.git(['rev-parse', `${remoteMain}~1`], sb.remote)).trim();
    expect((await sb.git(['rev-parse', `${pushed}~1`], sb.remote)).trim()).toBe(mainBefore);
    const { fm } = await readTask(sb, '001-push-main');
    expect({ status: fm.status, error: fm.error }).toEqual({
      status: 'failed',
      error: `guard failed: remote: the executor moved origin/main from ${mainBefore.slice(0, 7)} to ${pushed.slice(0, 7)} (left in place: nightshift never force-pushes your remote; undo it yourself if it was not wanted)`,
    });
    const events = progressEvents(await sb.read('progress.txt'));
    expect(events.filter((e) => e.event === 'landed').map((e) => e.id)).toEqual(['002-good']);
  });
});

describe('a reviewer that installs a hook while it reviews', () => {
  const left = cleanUpAfterAll();
  let sb: Sandbox;

  beforeAll(async () => {
    const judge = `printf '#!/bin/sh\\n' > "$(git rev-parse --git-common-dir)/hooks/post-merge"; echo '{"verdict": "approve", "confidence": 0.9}'`;
    // Unsandboxed: inside the sandbox the hooks folder is read-only and the hook never lands.
    const rules = [
      '---',
      'sandbox: none',
      'max_attempts: 1',
      'executors:',
      `  judge: { command: ["sh", "-c", ${JSON.stringify(judge)}] }`,
      'review: { executor: judge }',
      '---',
      '',
    ].join('\n');
    sb = await left.sandbox({ rules, files: { 'src/app.ts': 'export const app = 1;\n' } });
    await sb.write('tasks/001-reviewed.md', taskText({ title: 'Reviewed', run: 'echo x >> src/app.ts' }));
    await sb.cli(['daemon', 'start', '--once'], { timeoutMs: 60_000 });
  }, 90_000);

  it('fails the attempt despite the approval and removes the hook', async () => {
    const { fm } = await readTask(sb, '001-reviewed');
    expect({ status: fm.status, error: fm.error }).toEqual({
      status: 'failed',
      error: 'guard failed: hooks: the reviewer added post-merge (removed)',
    });
    expect(existsSync(join(sb.repo, '.git', 'hooks', 'post-merge'))).toBe(false);
  });
});
