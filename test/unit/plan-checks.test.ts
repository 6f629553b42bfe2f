import { describe, expect, it } from 'vitest';
import { claude } from '../../src/exec/agents/claude.js';
import { codex } from '../../src/exec/agents/codex.js';
import { objectionTo } from '../../src/plan/approve.js';
import { checkPlan } from '../../src/plan/checks.js';
import { draftText } from '../../src/plan/drafts.js';
import { judgeReadiness } from '../../src/plan/gate.js';
import { checkAnswer, parseJsonText } from '../../src/plan/schema.js';
import { parseTaskText } from '../../src/task/parse.js';
import type { Task } from '../../src/task/task.js';
import { plannedTask, THREE } from '../helpers/plan.js';

const TREE = ['README.md', 'src/login/form.ts', 'src/login/form.test.ts'];
const GATE = { minConfidence: 0.8, maxSpread: 0.3 };

describe('static checks of a plan', () => {
  it('passes a plan whose ids are new, dependencies resolve, sections are filled and globs match', () => {
    const plan = {
      tasks: [plannedTask('010-a', { files: ['src/login/**', 'src/new.ts'] }), plannedTask('011-b', { depends_on: ['010-a', '001-old'] })],
      questions: [],
    };
    const checks = checkPlan(plan, new Set(['001-old']), TREE);
    expect([...checks.failed]).toEqual([]);
    expect([...checks.notAtomic]).toEqual([]);
  });

  it('names every failed check on its task', () => {
    const empty = plannedTask('012-c', { files: ['lib/**', '../outside.ts'], kind: 'Code' });
    empty.body.goal = '';
    const plan = {
      tasks: [plannedTask('001-old'), plannedTask('Bad Id'), plannedTask('011-b', { depends_on: ['011-b', '099-nowhere'] }), empty],
      questions: [],
    };
    const failed = Object.fromEntries(checkPlan(plan, new Set(['001-old']), TREE).failed);
    expect(failed).toEqual({
      '001-old': ['the id 001-old is taken by tasks/001-old.md; pick a new one'],
      'Bad Id': [expect.stringContaining('"Bad Id" is not a valid task id')],
      '011-b': ['depends_on lists the task itself', 'depends_on 099-nowhere: no such task in the plan or in tasks/'],
      '012-c': [
        'the goal section is missing (empty)',
        'kind "Code" is not a kind name',
        'files: "lib/**" matches nothing in the tree',
        'files: "../outside.ts" is not a path inside the repository',
      ],
    });
  });

  it('finds a dependency cycle through several tasks once', () => {
    const tasks = [
      plannedTask('a', { depends_on: ['c'] }),
      plannedTask('b', { depends_on: ['a'] }),
      plannedTask('c', { depends_on: ['b'] }),
      plannedTask('d', { depends_on: ['a'] }),
    ];
    expect(Object.fromEntries(checkPlan({ tasks, questions: [] }, new Set(), TREE).failed)).toEqual({
      a: ['dependency cycle: a -> c -> b -> a'],
    });
  });

  it('flags a task over 60 minutes or 10 files as not atomic, without refusing the plan', () => {
    const files = Array.from({ length: 11 }, (_, i) => `new-${i}.ts`);
    const checks = checkPlan({ tasks: [plannedTask('a', { estimated_minutes: 61, files })], questions: [] }, new Set(), TREE);
    expect(checks.failed.size).toBe(0);
    expect(checks.notAtomic.get('a')).toBe('not atomic: estimated 61 minutes (more than 60), 11 files (more than 10); split it');
  });
});

describe('the readiness gate', () => {
  const review = (confidence: number) => ({ confidence, gaps: ['g'], questions: [] });
  it.each([
    ['both high', 0.9, 0.85, undefined],
    ['both exactly at the bar', 0.8, 0.8, undefined],
    ['the reviewer low', 0.9, 0.5, 'confidence below min_confidence 0.8: reviewer 0.5; planner 0.9 and reviewer 0.5 differ by 0.4'],
    ['both low, close', 0.5, 0.6, 'confidence below min_confidence 0.8: planner 0.5, reviewer 0.6'],
  ])('%s', (_name, planner, reviewer, reason) => {
    const verdict = judgeReadiness(GATE, planner, review(reviewer));
    expect(verdict.ready).toBe(reason === undefined);
    if (reason) expect(verdict.reason).toContain(reason);
    expect(verdict).toMatchObject({ planner_confidence: planner, reviewer_confidence: reviewer, gaps: ['g'] });
  });

  it('far apart though both pass min_confidence: a person looks', () => {
    const verdict = judgeReadiness({ minConfidence: 0.5, maxSpread: 0.3 }, 1, review(0.6));
    expect(verdict.ready).toBe(false);
    expect(verdict.reason).toBe('planner 1 and reviewer 0.6 differ by 0.4 (max_spread 0.3): a person should look');
  });

  it('never ready when not atomic', () => {
    expect(judgeReadiness(GATE, 0.9, review(0.9), 'not atomic: 90 minutes').reason).toBe('not atomic: 90 minutes');
  });
});

describe('answers and drafts', () => {
  it('accepts the shared example plan and refuses one without questions, naming what is wrong', async () => {
    expect((await checkAnswer('plan', THREE)).kind).toBe('ok');
    const bad = await checkAnswer('plan', { tasks: [{ ...plannedTask('a'), confidence: 2 }], extra: 1 });
    expect(bad).toEqual({
      kind: 'invalid',
      errors: expect.arrayContaining([
        'the answer lacks "questions"',
        'the answer has an unknown key "extra"',
        '/tasks/0/confidence must be <= 1',
      ]),
    });
  });

  it('reads JSON as it is or in one fenced block, and says when it is not JSON', () => {
    expect(parseJsonText('```json\n{"a": 1}\n```')).toEqual({ value: { a: 1 } });
    expect(parseJsonText(' {"a": 1} ')).toEqual({ value: { a: 1 } });
    expect(parseJsonText('Sure! {"a": 1}')).toEqual({ error: expect.stringContaining('the answer is not JSON') });
  });

  it('writes a draft that parses as a task, whatever the planner put in its title', () => {
    const task = plannedTask('010-a', { title: 'Fix: "quotes" #and: colons\n---', depends_on: ['009-x'] });
    const text = draftText(
      task,
      '20261201-050000-x',
      'a'.repeat(40),
      judgeReadiness(GATE, 0.9, { confidence: 0.9, gaps: [], questions: [] }),
    );
    const parsed = parseTaskText('010-a', '010-a.md', text);
    expect(parsed.kind).toBe('ok');
    if (parsed.kind !== 'ok') return;
    expect(parsed.task).toMatchObject({ status: 'draft', dependsOn: ['009-x'], plannedAt: 'a'.repeat(40), files: ['out-010-a.txt'] });
    expect(parsed.task.frontmatter).toMatchObject({ plan: '20261201-050000-x', readiness: { ready: true } });
    expect(parsed.task.body.startsWith('# Goal\n\nWrite out-010-a.txt.\n\n## Context\n')).toBe(true);
  });
});

it('keeps a secret of the environment out of a draft: the title, the body and the gaps', () => {
  const secret = 'tok-5e1f9a8b7c6d-not-real';
  process.env.MY_PLAN_TEST_TOKEN = secret;
  try {
    const task = plannedTask('010-a', { title: `Rotate ${secret}` });
    task.body.context = `The token is ${secret}.`;
    const readiness = judgeReadiness(GATE, 0.9, { confidence: 0.9, gaps: [`uses ${secret}`], questions: [] });
    const text = draftText(task, 'p', 'a'.repeat(40), readiness);
    expect(text).not.toContain(secret);
    expect(parseTaskText('010-a', '010-a.md', text).kind).toBe('ok');
  } finally {
    delete process.env.MY_PLAN_TEST_TOKEN;
  }
});

describe('agent adapters for planning steps', () => {
  const base = { promptFile: '/p/prompt.md', promptBytes: 10, worktree: '/w', options: { args: ['--extra'] } };
  const answerSchema = { file: '/docs/plan.schema.json', json: '{"type":"object"}' };

  it('Claude Code: reading tools only, no accepted edits, the schema inline', () => {
    const argv = claude.invocation({ ...base, readOnly: true, answerSchema }).argv;
    expect(argv).toEqual(
      expect.arrayContaining(['--permission-mode', 'dontAsk', '--tools', 'Read,Glob,Grep', '--json-schema', '{"type":"object"}']),
    );
    expect(argv).not.toContain('acceptEdits');
    expect(argv.at(-1)).toBe('--extra');
  });

  it('Codex: the read-only sandbox and the schema file', () => {
    const argv = codex.invocation({ ...base, readOnly: true, answerSchema }).argv;
    expect(argv.slice(0, 6)).toEqual(['codex', 'exec', '--json', '--skip-git-repo-check', '-s', 'read-only']);
    expect(argv).toEqual(expect.arrayContaining(['--output-schema', '/docs/plan.schema.json']));
    expect(codex.invocation(base).argv).toContain('workspace-write');
  });
});

describe('what approve objects to', () => {
  const task = (id: string, fm: string) => {
    const parsed = parseTaskText(id, `${id}.md`, `---\ntitle: ${id}\n${fm}---\n# Goal\nx\n`);
    if (parsed.kind !== 'ok') throw new Error(parsed.reason);
    return parsed.task;
  };
  const tasks = new Map(
    [
      task('a', 'status: draft\nreadiness: { ready: true }\n'),
      task('b', 'status: draft\ndepends_on: [a]\nreadiness: { ready: true }\n'),
      task('c', 'status: draft\nreadiness: { ready: false, reason: "reviewer 0.4" }\n'),
      task('d', 'status: draft\n'),
    ].map((t) => [t.id, t]),
  );
  it.each([
    ['a ready draft', 'a', [], undefined],
    ['a ready draft depending on a draft left behind', 'b', [], 'depends on draft a'],
    ['a ready draft depending on a draft approved with it', 'b', ['a'], undefined],
    ['a draft the gate did not pass', 'c', [], 'not ready: reviewer 0.4'],
    ['a draft written by hand, without a verdict', 'd', [], undefined],
  ])('%s', (_name, id, withIt, objection) => {
    expect(objectionTo(tasks.get(id) as Task, tasks, new Set([id, ...withIt]))).toBe(objection);
  });
});
