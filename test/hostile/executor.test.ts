import { realpathSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cleanUpAfterAll } from '../helpers/cleanup.js';
import { progressEvents, taskText, type Sandbox } from '../helpers/repo.js';
import { attemptWorktree, readTask } from '../helpers/task.js';
import { livePidsMatching, sleepMarker } from '../helpers/wait.js';
import { startDaemon } from '../../src/daemon/start.js';

/**
 * What an executor can see and outlive: its own task file, the environment, its prompt, the attempt's
 * total time and the processes it leaves behind. Every hostile task runs in one `--once` run.
 */

/** The real task file, found the way any agent could: through the git dir the worktree shares. */
const REAL = (id: string) => `f="$(git rev-parse --git-common-dir)/../tasks/${id}.md"`;

/** Dumps what the process can see into $DUMP/<name>.txt (outside the worktree: nothing is committed). */
const DUMP = (name: string) =>
  `{ echo "## env"; env; echo "## prompt $NIGHTSHIFT_PROMPT_FILE"; cat "$NIGHTSHIFT_PROMPT_FILE"; echo "## task $NIGHTSHIFT_TASK_FILE"; cat "$NIGHTSHIFT_TASK_FILE"; echo "## args $*"; } > "$DUMP/${name}.txt"`;

const REVIEWER = `#!/bin/sh
${DUMP('review')}
echo '{"verdict": "approve", "confidence": 0.9, "comments": "fine"}'
`;

const markers = { setsid: sleepMarker(300), doubleFork: sleepMarker(300), leaves: sleepMarker(300) };

const TASKS: Record<string, Record<string, unknown>> = {
  '001-self-done': {
    title: 'Marks itself done',
    max_attempts: 1,
    run: `${REAL('001-self-done')}; sed -i 's/^status: .*/status: done/' "$f"; exit 3`,
  },
  '002-reset-attempts': {
    title: 'Resets its attempts',
    max_attempts: 2,
    run: `${REAL('002-reset-attempts')}; sed -i 's/^attempts: .*/attempts: 0/' "$f"; exit 3`,
  },
  '003-edits-copy': {
    title: 'Marks its copy done',
    max_attempts: 1,
    run: 'chmod u+w "$NIGHTSHIFT_TASK_FILE" && sed -i "s/^status: .*/status: done/" "$NIGHTSHIFT_TASK_FILE" && exit 3',
  },
  '004-dump': { title: 'Looks around', kind: 'reviewed', run: `${DUMP('004-dump')} && echo ok > out.txt` },
  '005-slow-executor': { title: 'Runs past the deadline', timeout: '3s', max_attempts: 1, run: 'sleep 6; echo late > late.txt' },
  '006-slow-tests': { title: 'Tests run past the deadline', timeout: '3s', max_attempts: 1, run: 'echo quick > quick.txt' },
  '007-setsid': {
    title: 'Leaves a detached child',
    run: `env -u NIGHTSHIFT_WORKTREE setsid sh -c 'sleep ${markers.setsid}' >/dev/null 2>&1 & echo s > s.txt`,
  },
  '008-double-fork': {
    title: 'Double-forks a child',
    run: `( env -u NIGHTSHIFT_WORKTREE setsid sh -c 'sleep ${markers.doubleFork}' >/dev/null 2>&1 & ) ; echo d > d.txt`,
  },
  '009-leaves-worktree': {
    title: 'Detaches a child outside the worktree',
    // Seen while its parent still runs: a child of one of the step's processes belongs to the step.
    run: `env -u NIGHTSHIFT_WORKTREE setsid sh -c 'cd / && exec sleep ${markers.leaves}' >/dev/null 2>&1 & sleep 2; echo l > l.txt`,
  },
};

// Setup and test sleep 2 s for the deadline tasks only: within their 3 s, each step alone would fit.
// Unsandboxed: these are what the guards catch when an executor can reach the checkout (see sandbox.test.ts).
const RULES = `---
sandbox: none
push: branch
concurrency: 4
retry_backoff: 1s
setup: 'case "$NIGHTSHIFT_TASK_ID" in 005-*|006-*) sleep 2;; esac'
test: 'case "$NIGHTSHIFT_TASK_ID" in 006-*) sleep 6;; esac'
executors:
  judge: { command: ["sh", "REVIEWER", "{prompt_file}", "{task_file}"] }
review: { executor: judge, when: "kind:[reviewed]" }
---
`;

describe('what a hostile executor can see and outlive', () => {
  const left = cleanUpAfterAll();
  left.markers.push(...Object.values(markers));
  let sb: Sandbox;
  let dump: string;
  let run: { code: number; stdout: string; stderr: string };
  let checkout: string[];

  beforeAll(async () => {
    sb = await left.sandbox({});
    dump = join(sb.dir, 'dump');
    await mkdir(dump);
    const reviewer = join(sb.dir, 'reviewer.sh');
    await writeFile(reviewer, REVIEWER, { mode: 0o755 });
    await sb.write('rules.md', RULES.replace('REVIEWER', reviewer));
    await sb.git(['add', 'rules.md']);
    await sb.git(['commit', '-qm', 'rules']);
    for (const [id, fields] of Object.entries(TASKS)) await sb.write(`tasks/${id}.md`, taskText(fields));
    checkout = [...new Set([sb.repo, realpathSync(sb.repo)])];
    // A daemon started the way npx starts it, from the checkout: every one of these names the checkout.
    const env = {
      DUMP: dump,
      PWD: sb.repo,
      OLDPWD: sb.repo,
      INIT_CWD: sb.repo,
      npm_config_local_prefix: sb.repo,
      npm_package_json: join(sb.repo, 'package.json'),
      PATH: `${join(sb.repo, 'node_modules', '.bin')}:${process.env.PATH}`,
    };
    run = await sb.cli(['daemon', 'start', '--once'], { env, timeoutMs: 120_000 });
  }, 150_000);

  const events = async (id: string) => progressEvents(await sb.read('progress.txt')).filter((e) => e.id === id);

  it('never takes status: done from the real task file while the task runs, and says it put its keys back', async () => {
    expect(run.stdout).toContain('nightshift: 4 done, 5 failed, 0 blocked');
    const { fm } = await readTask(sb, '001-self-done');
    expect({ status: fm.status, attempts: fm.attempts, error: fm.error }).toEqual({
      status: 'failed',
      attempts: 1,
      error: 'executor shell failed (exit 3)',
    });
    const restored = (await events('001-self-done')).filter((e) => e.event === 'task-file-restored');
    expect(restored.map((e) => e.fields.keys)).toEqual(['status']);
  });

  it('never lets a reset of attempts extend the attempt budget', async () => {
    const { fm } = await readTask(sb, '002-reset-attempts');
    expect({ status: fm.status, attempts: fm.attempts }).toEqual({ status: 'failed', attempts: 2 });
    const seen = await events('002-reset-attempts');
    expect(seen.filter((e) => e.event === 'attempt-started').map((e) => e.fields.attempt)).toEqual(['1', '2']);
    expect(seen.filter((e) => e.event === 'task-file-restored').map((e) => e.fields.keys)).toEqual(['attempts', 'attempts']);
  });

  it('hands the executor a copy of its task file outside the checkout: editing it changes nothing', async () => {
    const { fm } = await readTask(sb, '003-edits-copy');
    expect({ status: fm.status, error: fm.error }).toEqual({ status: 'failed', error: 'executor shell failed (exit 3)' });
    expect((await events('003-edits-copy')).some((e) => e.event === 'task-file-restored')).toBe(false);
  });

  it('gives executor and reviewer no path to the checkout in their environment, prompt, task file or arguments', async () => {
    expect((await readTask(sb, '004-dump')).fm.status).toBe('done');
    const worktree = await attemptWorktree(sb, '004-dump');
    for (const name of ['004-dump', 'review']) {
      const seen = await readFile(join(dump, `${name}.txt`), 'utf8');
      for (const path of checkout) expect({ name, leaks: seen.includes(path) }).toEqual({ name, leaks: false });
      expect(seen).toContain(`\nPWD=${worktree}\n`);
      expect(seen).toContain(`\nNIGHTSHIFT_WORKTREE=${worktree}\n`);
      // The checkout's node_modules/.bin became the worktree's: the task's own tools are still found.
      expect(seen).toContain(`\nPATH=${join(worktree, 'node_modules', '.bin')}:`);
      expect(seen).toContain('title: "Looks around"');
    }
    const executor = await readFile(join(dump, '004-dump.txt'), 'utf8');
    expect(executor).toContain('# nightshift task 004-dump (attempt 1)');
    const reviewer = await readFile(join(dump, 'review.txt'), 'utf8');
    expect(reviewer).toContain('nightshift review of task 004-dump');
    // The originals stay under .nightshift/logs for the user.
    expect(await sb.read('.nightshift/logs/004-dump/1.prompt.md')).toContain('# nightshift task 004-dump (attempt 1)');
    expect(await sb.read('.nightshift/logs/004-dump/1.review-prompt.md')).toContain('nightshift review of task 004-dump');
  });

  it('bounds the whole attempt by timeout: setup, executor and tests share one deadline', async () => {
    expect((await readTask(sb, '005-slow-executor')).fm).toMatchObject({
      status: 'failed',
      error: 'attempt timed out after 3s in executor shell',
    });
    expect((await readTask(sb, '006-slow-tests')).fm).toMatchObject({ status: 'failed', error: 'attempt timed out after 3s in tests' });
  });

  it('leaves no process of an attempt running, even one that left the group, the worktree and the marker', async () => {
    for (const id of ['007-setsid', '008-double-fork', '009-leaves-worktree'])
      expect({ id, status: (await readTask(sb, id)).fm.status }).toEqual({ id, status: 'done' });
    for (const [name, marker] of Object.entries(markers))
      expect({ name, pids: await livePidsMatching(marker) }).toEqual({ name, pids: [] });
  });
});

describe('a watching daemon and a task that marks itself done', () => {
  const left = cleanUpAfterAll();

  it('does not start its dependent on the false done: the dependent is blocked once the task fails', async () => {
    const sb = await left.sandbox('---\nmax_attempts: 1\nconcurrency: 2\n---\n');
    // It stays a while after the edit: the watcher sees the file change while the task still runs.
    await sb.write(
      'tasks/001-self-done.md',
      taskText({ title: 'Marks itself done', run: `${REAL('001-self-done')}; sed -i 's/^status: .*/status: done/' "$f"; sleep 3; exit 3` }),
    );
    await sb.write('tasks/002-after.md', taskText({ title: 'Depends on it', depends_on: ['001-self-done'], run: 'echo x > x.txt' }));
    const claimed: string[] = [];
    const daemon = left.daemon(await startDaemon({ cwd: sb.repo, worktreeRoot: join(sb.dir, 'wt'), rescanMs: 200 }));
    daemon.events.on('task:claimed', ({ id }: { id: string }) => void claimed.push(id));
    // Whichever comes first for the dependent: blocked (right) or done (it ran on the false done).
    const settled = new Promise<string>((resolve) => {
      for (const event of ['task:blocked', 'task:done'] as const)
        daemon?.events.on(event, ({ id }: { id: string }) => id === '002-after' && resolve(event));
    });
    expect(await settled).toBe('task:blocked');
    expect(claimed).toEqual(['001-self-done']);
    expect((await readTask(sb, '001-self-done')).fm).toMatchObject({ status: 'failed', attempts: 1 });
    expect((await readTask(sb, '002-after')).fm).toMatchObject({ status: 'blocked', error: 'dependency 001-self-done is failed' });
  }, 60_000);
});
