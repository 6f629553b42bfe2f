import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'vitest';
import { planGoal } from '../../src/commands/plan.js';
import { startDaemon } from '../../src/daemon/start.js';
import { cleanUpAfterTest } from '../helpers/cleanup.js';
import { cannedAnswers, plannedTask, REVIEWS, THREE, threeAnswers } from '../helpers/plan.js';
import { listFiles, progressEvents, type Sandbox } from '../helpers/repo.js';
import { readTask } from '../helpers/task.js';
import { waitFor } from '../helpers/wait.js';

/**
 * `nightshift plan` with command executors as planner and reviewer (answer.sh hands back canned JSON
 * through {output_file}), the built CLI end to end, and a daemon that runs what is approved.
 */

async function planSandbox(
  leftovers: { tempDir: () => Promise<string>; sandbox: (o: { rules: string }) => Promise<Sandbox> },
  answers: Record<string, unknown>,
  scripts: Record<string, string> = {},
  more = '',
): Promise<Sandbox> {
  const script = await cannedAnswers(join(await leftovers.tempDir(), 'answers'), answers, scripts);
  // answer.sh reads its canned answers from a temp folder outside the repository, which the sandbox hides:
  // these tests are about planning, so they plan unsandboxed (plan-sandbox.test.ts plans inside bwrap).
  const rules = `---
executor: worker
plan: { planner: canned, reviewer: canned }
sandbox: none
${more}executors:
  canned: { command: ["sh", ${JSON.stringify(script)}, "{output_file}"] }
  worker: { command: ["sh", "-c", "echo built > out-$NIGHTSHIFT_TASK_ID.txt"] }
---
Keep it small.
`;
  return leftovers.sandbox({ rules });
}

// Both describes' tests mostly wait on processes: side by side, the file takes as long as its longest test.
describe.concurrent('plan with command executors, then a running daemon', () => {
  it('writes three drafts, queues the two ready ones with --queue; the daemon runs them and leaves the draft alone until approved', async (t) => {
    const { expect } = t;
    const left = cleanUpAfterTest(t);
    const sb = await planSandbox(left, threeAnswers());
    const base = (await sb.git(['rev-parse', 'HEAD'])).trim();
    const handle = left.daemon(await startDaemon({ cwd: sb.repo, worktreeRoot: join(sb.dir, 'wt'), rescanMs: 200 }));
    const done: string[] = [];
    handle.events.on('task:done', ({ id }: { id: string }) => void done.push(id));

    // Planning while the daemon runs: the drafts appear in tasks/ under its watch.
    await sb.write('notes/spec.md', 'The spec: three files, one line each.\n');
    const r = await sb.cli(['plan', 'Write three files', '--from', 'notes/spec.md', '--queue']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/012-c\s+draft\s+0\.85\s+0\.40\s+no/);
    expect(r.stdout).toContain('question: Which line?');
    const planId = /^plan (\S+) {2}written$/m.exec(r.stdout)?.[1] as string;
    expect(planId).toMatch(/^\d{8}-\d{6}-write-three-files$/);

    await waitFor('010-a and 011-b done', () => done.includes('010-a') && done.includes('011-b'), 60_000);
    const c = await readTask(sb, '012-c');
    expect(c.fm).toMatchObject({
      status: 'draft',
      plan: planId,
      planned_at: base,
      estimated_minutes: 20,
      readiness: { ready: false, planner_confidence: 0.85, reviewer_confidence: 0.4, gaps: REVIEWS['012-c']?.gaps },
    });
    expect(String((c.fm.readiness as { reason: string }).reason)).toContain('confidence below min_confidence 0.8: reviewer 0.4');
    expect(c.body).toContain('## Acceptance criteria\n\nout-012-c.txt exists.');
    expect((await readTask(sb, '011-b')).fm).toMatchObject({ status: 'done', depends_on: ['010-a'], readiness: { ready: true } });

    const events = progressEvents(await sb.read('progress.txt'));
    expect(events.find((e) => e.event === 'planned')?.fields).toMatchObject({ plan: planId, tasks: '3', ready: '2' });
    expect(
      events.filter((e) => e.event === 'plan-reviewed').map((e) => [e.id, e.fields.planner, e.fields.reviewer, e.fields.ready]),
    ).toEqual([
      ['010-a', '0.9', '0.9', 'yes'],
      ['011-b', '0.9', '0.85', 'yes'],
      ['012-c', '0.85', '0.4', 'no'],
    ]);
    expect(events.filter((e) => e.event === 'approved').map((e) => e.id)).toEqual(['010-a', '011-b']);
    expect(events.some((e) => e.id === '012-c' && e.event === 'claimed')).toBe(false);
    expect((await readTask(sb, '012-c')).text).toBe(c.text);

    // approve refuses the one that is not ready, then queues it with --force; the daemon runs it.
    const refused = await sb.cli(['approve', '012-c']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('warning: 012-c stays a draft: not ready: confidence below min_confidence');
    expect((await readTask(sb, '012-c')).fm.status).toBe('draft');
    const forced = await sb.cli(['approve', '--plan', planId, '--force']);
    expect(forced.stdout).toContain('012-c: draft -> queued (forced: not ready');
    await waitFor('012-c done', () => done.includes('012-c'), 60_000);

    const shown = await sb.cli(['plan', 'show', '--json']);
    const record = JSON.parse(shown.stdout) as {
      id: string;
      state: string;
      tasks: unknown[];
      questions: string[];
      steps: unknown[];
      usage: object;
    };
    expect(record).toMatchObject({ id: planId, state: 'written', questions: THREE.questions, usage: { tokens: 0, cost_usd: 0 } });
    expect(record.steps).toHaveLength(4);
    const dir = join(sb.repo, '.nightshift', 'plans', planId);
    const prompt = await readFile(join(dir, 'planner.prompt.md'), 'utf8');
    expect(prompt).toContain('# Goal\n\nWrite three files');
    expect(prompt).toContain('# Input: notes/spec.md\n\nThe spec: three files, one line each.');
    expect(prompt).toContain('Keep it small.');
    expect(record).toMatchObject({
      inputs: [{ file: 'notes/spec.md', sha256: '0e090f1830c7c8066e116832f91399298823d7e576ea961a9e3c9351594eef4a' }],
    });
    expect(await readFile(join(dir, 'review-012-c.prompt.md'), 'utf8')).not.toContain('0.85');
  });
});

/**
 * `nightshift plan` in this process (the command's own function, as the CLI calls it): the executors are
 * still real processes in a real repository; only node's start-up per run is saved.
 */
async function plan(sb: Sandbox, args: { queue?: boolean } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = { out: (s: string) => void (stdout += s), err: (s: string) => void (stderr += s) };
  const code = await planGoal({ cwd: sb.repo, goal: 'Write three files', ...args }, io);
  return { code, stdout, stderr };
}

/** A plan that must fail with `message`, leaving tasks/ as it was. */
async function failsCleanly(t: TestContext, sb: Sandbox, message: string | RegExp): Promise<string> {
  const before = await listFiles(join(sb.repo, 'tasks'));
  const r = await plan(sb, { queue: true });
  t.expect(r.code, r.stderr).toBe(1);
  t.expect(r.stderr).toMatch(message);
  t.expect(r.stderr).toContain('nothing was written to tasks/');
  t.expect(await listFiles(join(sb.repo, 'tasks'))).toEqual(before);
  const progress = await sb.read('progress.txt').catch(() => '');
  t.expect(progress).not.toContain(' planned ');
  return r.stderr;
}

describe.concurrent('plan failures leave tasks/ untouched', () => {
  it('an answer that is not JSON, twice: asked again once with the error, then a clear failure', async (t) => {
    const l = cleanUpAfterTest(t);
    const sb = await planSandbox(l, { ...threeAnswers(), planner: 'Here is my plan: three tasks.' });
    await failsCleanly(t, sb, /the planner canned did not answer valid JSON after 2 tries:\n {2}- the answer is not JSON/);
    const plans = await readdir(join(sb.repo, '.nightshift', 'plans'));
    const retry = await sb.read(`.nightshift/plans/${plans[0]}/planner-retry.prompt.md`);
    t.expect(retry).toContain('# Your previous answer was refused');
  });

  it('an answer that breaks the schema once, then follows it: the retry is used', async (t) => {
    const l = cleanUpAfterTest(t);
    const sb = await planSandbox(l, { ...threeAnswers(), planner: { tasks: THREE.tasks }, 'planner-retry': THREE });
    const r = await plan(sb);
    t.expect(r.code, r.stderr).toBe(0);
    t.expect((await readTask(sb, '010-a')).fm.status).toBe('draft');
    const retry = await sb.read(`.nightshift/plans/${(await readdir(join(sb.repo, '.nightshift', 'plans')))[0]}/planner-retry.prompt.md`);
    t.expect(retry).toContain('- the answer lacks "questions"');
  });

  it('a dependency cycle', async (t) => {
    const l = cleanUpAfterTest(t);
    const tasks = [plannedTask('010-a', { depends_on: ['011-b'] }), plannedTask('011-b', { depends_on: ['010-a'] })];
    const sb = await planSandbox(l, { ...threeAnswers(), planner: { tasks, questions: [] } });
    await failsCleanly(t, sb, /the plan failed its checks:\n {2}- 010-a: dependency cycle: 010-a -> 011-b -> 010-a/);
  });

  it('an id that is taken, and a missing section, each named on its task', async (t) => {
    const l = cleanUpAfterTest(t);
    const empty = plannedTask('011-b');
    empty.body.test_plan = '  ';
    const sb = await planSandbox(l, { ...threeAnswers(), planner: { tasks: [plannedTask('010-a'), empty], questions: [] } });
    await sb.write('tasks/010-a.md', '---\ntitle: Mine\n---\n# Goal\nmine\n');
    const err = await failsCleanly(t, sb, /- 010-a: the id 010-a is taken by tasks\/010-a.md/);
    t.expect(err).toContain('- 011-b: the test plan section is missing (empty)');
    t.expect(await sb.read('tasks/010-a.md')).toBe('---\ntitle: Mine\n---\n# Goal\nmine\n');
  });

  it('a 401 from the planner: says so, reviews nothing', async (t) => {
    const l = cleanUpAfterTest(t);
    const sb = await planSandbox(l, threeAnswers(), { planner: 'echo "nightshift: infra auth 401 Unauthorized: log in again"; exit 75\n' });
    await failsCleanly(t, sb, 'planner canned: auth: 401 Unauthorized: log in again');
    const plans = await readdir(join(sb.repo, '.nightshift', 'plans'));
    t.expect(plans.length).toBe(1);
    t.expect(await readdir(join(sb.repo, '.nightshift', 'plans', plans[0] as string))).not.toContain('review-010-a.prompt.md');
  });

  it('a reviewer that never answers is stopped at the timeout', async (t) => {
    const l = cleanUpAfterTest(t);
    const sb = await planSandbox(l, threeAnswers(), { 'review-011-b': 'sleep 60\n' }, 'timeout: 3s\n');
    await failsCleanly(t, sb, 'review of 011-b: reviewer canned timed out after 3s, stopped');
  });

  it('a task over 60 minutes is written but never ready, even with --queue', async (t) => {
    const l = cleanUpAfterTest(t);
    const big = { tasks: [plannedTask('010-a', { estimated_minutes: 90 })], questions: [] };
    const sb = await planSandbox(l, { ...threeAnswers(), planner: big });
    const r = await plan(sb, { queue: true });
    t.expect(r.code, r.stderr).toBe(0);
    const { fm } = await readTask(sb, '010-a');
    t.expect(fm.status).toBe('draft');
    t.expect(String((fm.readiness as { reason: string }).reason)).toContain('not atomic: estimated 90 minutes (more than 60); split it');
  });
});
