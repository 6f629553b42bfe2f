import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cleanUpAfterAll } from '../helpers/cleanup.js';
import { progressEvents, taskText, type Sandbox } from '../helpers/repo.js';
import { readTask, taskBranches } from '../helpers/task.js';

/**
 * The review gate with a `command` reviewer: a shell script that answers per task (and attempt) with an
 * approval, a rejection with comments, garbage, or a doubtful approval. One --once run for all of them.
 */
const REVIEWER = `#!/bin/sh
# args: prompt file, task id, attempt
prompt="$1"; id="$2"; attempt="$3"
grep -q "nightshift review of task $id" "$prompt" || { echo "wrong prompt"; exit 9; }
echo "reviewing $id attempt $attempt"
case "$id" in
  001-approved) printf 'Looks right.\\n\`\`\`json\\n{"verdict": "approve", "confidence": 0.9, "comments": "clean"}\\n\`\`\`\\n' ;;
  002-rejected-once)
    if [ "$attempt" = 1 ]; then
      echo '{"verdict":"reject","confidence":0.95,"comments":"the greeting must end with an exclamation mark"}'
    else
      echo '{"verdict":"approve","confidence":0.8,"comments":"good now"}'
    fi ;;
  003-garbage) echo "I like it a lot, ship it" ;;
  004-doubtful) echo '{"verdict":"approve","confidence":0.3,"comments":"not sure about the edge cases"}' ;;
esac
`;

describe('review gate', () => {
  const left = cleanUpAfterAll();
  let sb: Sandbox;
  let run: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    sb = await left.sandbox({});
    const script = join(sb.dir, 'reviewer.sh');
    await writeFile(script, REVIEWER, { mode: 0o755 });
    await sb.write(
      'rules.md',
      `---
push: branch
executors:
  judge: { command: ["sh", ${JSON.stringify(script)}, "{prompt_file}", "{task_id}", "{attempt}"] }
review: { executor: judge, when: always, min_confidence: 0.6 }
---
`,
    );
    await sb.git(['add', 'rules.md']);
    await sb.git(['commit', '-qm', 'rules']);
    await sb.write('tasks/001-approved.md', taskText({ title: 'Approved', run: 'echo hello > hello.txt' }, '# Goal\n\nWrite hello.txt.\n'));
    await sb.write(
      'tasks/002-rejected-once.md',
      taskText({
        title: 'Rejected once',
        run: 'if [ "$NIGHTSHIFT_ATTEMPT" = 1 ]; then echo hi > greet.txt; else echo "hi!" > greet.txt; fi',
      }),
    );
    await sb.write('tasks/003-garbage.md', taskText({ title: 'Garbage verdict', max_attempts: 1, run: 'echo g > g.txt' }));
    await sb.write('tasks/004-doubtful.md', taskText({ title: 'Doubtful approval', max_attempts: 1, run: 'echo d > d.txt' }));
    run = await sb.cli(['daemon', 'start', '--once'], { timeoutMs: 180_000 });
  }, 200_000);

  it('commits an approved change and keeps the verdict in the attempt log and progress.txt', async () => {
    expect(run.stdout).toContain('nightshift: 2 done, 2 failed, 0 blocked');
    const { fm } = await readTask(sb, '001-approved');
    expect(fm).toMatchObject({ status: 'done', attempts: 1 });
    expect((await taskBranches(sb, '001-approved')).remote).toBe(fm.commit);
    const verdict = JSON.parse(await sb.read('.nightshift/logs/001-approved/1.review.json')) as Record<string, unknown>;
    expect(verdict).toEqual({
      executor: 'judge',
      min_confidence: 0.6,
      verdict: 'approve',
      confidence: 0.9,
      comments: 'clean',
      result: 'pass',
    });
    const prompt = await sb.read('.nightshift/logs/001-approved/1.review-prompt.md');
    expect(prompt).toContain('Write hello.txt.');
    expect(prompt).toContain('+hello');
    expect(prompt).toContain('"verdict": "approve" or "reject"');
    const events = progressEvents(await sb.read('progress.txt'))
      .filter((e) => e.id === '001-approved')
      .map((e) => e.event);
    expect(events).toEqual(['claimed', 'attempt-started', 'reviewed', 'committed', 'pushed', 'done']);
    const reviewed = progressEvents(await sb.read('progress.txt')).find((e) => e.id === '001-approved' && e.event === 'reviewed');
    expect(reviewed?.fields).toEqual({ attempt: '1', executor: 'judge', verdict: 'approve', confidence: '0.9' });
  });

  it("fails a rejected attempt and hands the reviewer's comments to the next attempt", async () => {
    const { fm } = await readTask(sb, '002-rejected-once');
    expect(fm).toMatchObject({ status: 'done', attempts: 2 });
    const second = await sb.read('.nightshift/logs/002-rejected-once/2.prompt.md');
    expect(second).toContain('the greeting must end with an exclamation mark');
    expect(second).toContain('review rejected the change (confidence 0.95)');
    expect(await sb.git(['show', `${String(fm.commit)}:greet.txt`])).toBe('hi!\n');
    const failed = progressEvents(await sb.read('progress.txt')).find((e) => e.id === '002-rejected-once' && e.event === 'attempt-failed');
    expect(failed?.fields.reason).toBe('review rejected the change (confidence 0.95): the greeting must end with an exclamation mark');
  });

  it('counts garbage as a reject with a clear error', async () => {
    const { fm } = await readTask(sb, '003-garbage');
    expect(fm.status).toBe('failed');
    expect(String(fm.error)).toBe(
      'review: the reviewer gave no verdict: its output has no JSON object with a "verdict" key (see the verdict format in the README); counted as a reject',
    );
    expect(JSON.parse(await sb.read('.nightshift/logs/003-garbage/1.review.json'))).toMatchObject({ result: 'invalid' });
    expect((await taskBranches(sb, '003-garbage')).remote).toBeUndefined();
  });

  it('fails an approval under min_confidence', async () => {
    const { fm } = await readTask(sb, '004-doubtful');
    expect(fm.status).toBe('failed');
    expect(String(fm.error)).toBe('review approved with confidence 0.3, below min_confidence 0.6: not sure about the edge cases');
    const log = await readFile(join(sb.repo, '.nightshift/logs/004-doubtful/1.log'), 'utf8');
    expect(log).toContain('==> ');
    expect(log).toContain('reviewer judge');
  });
});

describe('review gate with a built-in agent as the reviewer', () => {
  const left = cleanUpAfterAll();
  let sb: Sandbox | undefined;

  it('starts the agent the way a task executor starts it and reads the verdict from its final message', async () => {
    // The fake agent reads its canned answers from the fixtures beside it in this checkout, which the sandbox
    // hides wherever /tmp or HOME holds the checkout (a CI clone): the review gate is what is tested here.
    sb = await left.sandbox({ rules: '---\nreview: { executor: gemini }\nmax_attempts: 1\nsandbox: none\n---\n' });
    const bin = join(sb.dir, 'bin');
    await mkdir(bin);
    await symlink(resolve(import.meta.dirname, '../fixtures/agents/bin/fake-agent.mjs'), join(bin, 'gemini'));
    const env = { PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` };
    await sb.write('tasks/001-agent-approves.md', taskText({ title: 'Approved by gemini', run: 'echo a > a.txt' }));
    await sb.write(
      'tasks/002-agent-rejects.md',
      taskText({ title: 'Rejected by gemini', run: 'echo b > b.txt' }, '# Goal\n\nWrite b.txt. REVIEW: reject\n'),
    );
    const r = await sb.cli(['daemon', 'start', '--once'], { env });
    expect(r.stdout).toContain('nightshift: 1 done, 1 failed, 0 blocked');
    expect(JSON.parse(await sb.read('.nightshift/logs/001-agent-approves/1.review.json'))).toMatchObject({
      executor: 'gemini',
      verdict: 'approve',
      confidence: 0.8,
      comments: 'gemini approves',
    });
    expect((await readTask(sb, '002-agent-rejects')).fm.error).toBe('review rejected the change (confidence 0.9): gemini wants a test');
  });
});

describe('a reviewer that cannot run', () => {
  const left = cleanUpAfterAll();
  let sb: Sandbox | undefined;

  it('is parked like any executor: reviewed tasks wait in the queue, no attempt used, none run again and again', async () => {
    const rules = [
      '---',
      'executors:',
      '  judge: { command: ["sh", "-c", "echo \'nightshift: infra server the review model is down\'; exit 1"] }',
      'review: { executor: judge }',
      '---',
      '',
    ].join('\n');
    sb = await left.sandbox({ rules });
    await sb.write('tasks/001-first.md', taskText({ title: 'First', run: 'echo 1 > one.txt' }));
    await sb.write('tasks/002-second.md', taskText({ title: 'Second', run: 'echo 2 > two.txt' }));
    const r = await sb.cli(['daemon', 'start', '--once', '--concurrency', '1']);
    // --once does not wait out the outage; what it leaves undone is not a success.
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('0 done, 0 failed, 0 blocked');
    expect(r.stdout).toContain('2 waiting for a parked executor');
    const first = (await readTask(sb, '001-first')).fm;
    expect(first).toMatchObject({ status: 'queued', attempts: 0 });
    expect(String(first.error)).toContain('reviewer judge could not run (server): server: the review model is down');
    // The second task was never claimed: its reviewer was already parked.
    expect(await sb.read('tasks/002-second.md')).toBe(taskText({ title: 'Second', run: 'echo 2 > two.txt' }));
    const events = progressEvents(await sb.read('progress.txt'));
    expect(events.filter((e) => e.event === 'claimed').map((e) => e.id)).toEqual(['001-first']);
    expect(events.find((e) => e.event === 'executor-parked')?.fields).toMatchObject({
      executor: 'judge',
      cause: 'server',
      task: '001-first',
    });
  });
});

describe('a reviewer that touches refs', () => {
  const left = cleanUpAfterAll();
  let sb: Sandbox | undefined;

  it('fails the attempt even with an approval: a reviewer must only answer', async () => {
    const approve = `git tag reviewer-was-here; echo '{"verdict":"approve","confidence":0.9,"comments":"fine"}'`;
    const rules = [
      '---',
      'max_attempts: 1',
      'executors:',
      `  judge: { command: ["sh", "-c", ${JSON.stringify(approve)}] }`,
      'review: { executor: judge }',
      '---',
      '',
    ].join('\n');
    sb = await left.sandbox({ rules });
    await sb.write('tasks/001-tagged.md', taskText({ title: 'Tagged', run: 'echo t > t.txt' }));
    const r = await sb.cli(['daemon', 'start', '--once']);
    expect(r.code).toBe(1);
    const { fm } = await readTask(sb, '001-tagged');
    expect(fm.status).toBe('failed');
    expect(String(fm.error)).toMatch(/^review: the reviewer changed refs, a reviewer must only answer: .*reviewer-was-here/);
    expect(fm.commit).toBeUndefined();
  });
});
