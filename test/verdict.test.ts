import { describe, expect, it } from 'vitest';
import { parseRules } from '../src/config/rules.js';
import { parseTaskText } from '../src/task/parse.js';
import type { Task } from '../src/task/task.js';
import { buildReviewPrompt, judge, parseVerdict, shouldReview } from '../src/run/verdict.js';
import { driftReason, driftedPaths } from '../src/run/drift.js';

function task(fields: string, body = '# Goal\n\nDo it.\n'): Task {
  const parsed = parseTaskText('001-x', '/tmp/001-x.md', `---\ntitle: X\n${fields}---\n${body}`);
  if (parsed.kind !== 'ok') throw new Error(parsed.reason);
  return parsed.task;
}

describe('parseVerdict', () => {
  it.each<[string, string, unknown]>([
    ['a json block', 'Looks good.\n```json\n{"verdict": "approve", "confidence": 0.9, "comments": "fine"}\n```\n', { verdict: 'approve', confidence: 0.9, comments: 'fine' }],
    ['the last line', 'thinking...\n{"verdict":"reject","confidence":0.8,"comments":"add a test"}', { verdict: 'reject', confidence: 0.8, comments: 'add a test' }],
    ['the last of several blocks', '```json\n{"verdict":"reject","confidence":0.1}\n```\nthen\n```json\n{"verdict":"approve","confidence":1}\n```', { verdict: 'approve', confidence: 1, comments: '' }],
    ['a block over a later stray line', '```json\n{"verdict":"approve","confidence":0.7}\n```\n{"verdict":"reject","confidence":0.2}', { verdict: 'approve', confidence: 0.7, comments: '' }],
    ['inside an agent JSON envelope', JSON.stringify({ type: 'result', result: 'Done.\n```json\n{"verdict":"reject","confidence":0.75,"comments":"x"}\n```' }), { verdict: 'reject', confidence: 0.75, comments: 'x' }],
  ])('reads %s', (_name, output, expected) => {
    expect(parseVerdict(output)).toEqual({ kind: 'ok', verdict: expected });
  });

  it.each<[string, string, RegExp]>([
    ['no verdict at all', 'I think it is fine.', /no verdict/],
    ['an empty output', '', /no verdict/],
    ['the prompt echoed back', buildReviewPrompt({ task: task(''), attempt: 1, rulesBody: '', baseCommit: 'a'.repeat(40), diff: '+x' }), /no verdict/],
    ['an unknown verdict', '{"verdict":"maybe","confidence":0.5}', /must be "approve" or "reject", got "maybe"/],
    ['a confidence over 1', '{"verdict":"approve","confidence":7}', /confidence must be a number from 0 to 1, got 7/],
    ['a confidence as text', '{"verdict":"approve","confidence":"high"}', /confidence must be a number from 0 to 1/],
    ['comments as a list', '{"verdict":"approve","confidence":1,"comments":["a"]}', /comments must be text/],
  ])('refuses %s', (_name, output, reason) => {
    const parsed = parseVerdict(output);
    expect(parsed.kind).toBe('invalid');
    if (parsed.kind === 'invalid') expect(parsed.reason).toMatch(reason);
  });
});

describe('judge', () => {
  it('passes an approval at or above min_confidence, fails a reject or a doubtful approval', () => {
    expect(judge({ verdict: 'approve', confidence: 0.7, comments: '' }, 0.7)).toEqual({ pass: true });
    expect(judge({ verdict: 'reject', confidence: 0.9, comments: 'add tests' }, 0.7)).toEqual({ pass: false, reason: 'review rejected the change (confidence 0.9): add tests' });
    expect(judge({ verdict: 'approve', confidence: 0.5, comments: '' }, 0.7)).toEqual({ pass: false, reason: 'review approved with confidence 0.5, below min_confidence 0.7' });
  });
});

describe('review prompt', () => {
  it('holds the task, the diff in a fence it cannot close, and the verdict format', () => {
    const prompt = buildReviewPrompt({ task: task('', '# Goal\n\nAdd a greeting.\n'), attempt: 2, rulesBody: 'Be careful.', baseCommit: 'abcdef1234567890', diff: '+```\n+code\n' });
    expect(prompt).toContain('# nightshift review of task 001-x (attempt 2)');
    expect(prompt).toContain('Be careful.');
    expect(prompt).toContain('Add a greeting.');
    expect(prompt).toContain('````diff\n+```\n+code\n````');
    expect(prompt).toContain('"verdict": "approve" or "reject"');
  });
});

describe('rules.md review, max_changed_lines, max_file_size', () => {
  const rules = (fm: string) => parseRules(`---\nexecutors: { judge: { command: [judge] } }\n${fm}\n---\n`);
  it('reads review with its defaults and each form of when', () => {
    expect(rules('review: { executor: judge }').review).toEqual({ executor: 'judge', when: { kind: 'always' }, minConfidence: 0.7 });
    expect(rules('review: { executor: judge, when: never, min_confidence: 0.5 }').review).toEqual({ executor: 'judge', when: { kind: 'never' }, minConfidence: 0.5 });
    expect(rules('review: { executor: judge, when: "kind:[code, docs]" }').review?.when).toEqual({ kind: 'kinds', kinds: ['code', 'docs'] });
    expect(rules('review: { executor: judge, when: { kind: [code] } }').review?.when).toEqual({ kind: 'kinds', kinds: ['code'] });
  });
  it('lists every problem of review together with the rest of rules.md', () => {
    let message = '';
    try {
      rules('review: { executor: nobody, when: sometimes, min_confidence: 2, extra: 1 }\nmax_file_size: huge\nmax_changed_lines: 0');
    } catch (err) {
      message = (err as Error).message;
    }
    for (const problem of [
      'review: unknown key "extra"',
      'review.min_confidence must be a number from 0 to 1, got 2',
      'review.when must be always, never or kind:[a, b]',
      'max_changed_lines must be a whole number',
      'max_file_size: "huge" is not a size',
    ]) expect(message).toContain(problem);
    expect(() => rules('review: { executor: nobody }')).toThrow(/executor "nobody" is not available/);
    expect(() => rules('review: { executor: shell }')).toThrow(/the shell executor cannot review/);
    expect(() => rules('review: judge')).toThrow(/review must be a map/);
  });
  it('reads sizes and line limits', () => {
    expect(rules('').maxFileSize).toBe(5 * 1024 * 1024);
    expect(rules('max_file_size: 500KB').maxFileSize).toBe(500 * 1024);
    expect(rules('max_file_size: 1.5 mb').maxFileSize).toBe(1.5 * 1024 * 1024);
    expect(rules('max_file_size: 2048').maxFileSize).toBe(2048);
    expect(rules('max_changed_lines: 400').maxChangedLines).toBe(400);
    expect(rules('').maxChangedLines).toBeUndefined();
  });
});

describe('should review', () => {
  const review = (when: string) => parseRules(`---\nexecutors: { judge: { command: [judge] } }\nreview: { executor: judge, when: "${when}" }\n---\n`).review;
  it.each<[string, string, boolean]>([
    ['always', '', true],
    ['never', '', false],
    ['kind:[code]', 'kind: code\n', true],
    ['kind:[code]', 'kind: docs\n', false],
    ['kind:[code]', '', false],
  ])('when %s, task %j -> %s', (when, fields, expected) => {
    expect(shouldReview(review(when), task(fields))).toBe(expected);
  });
  it('is false without review:', () => {
    expect(shouldReview(undefined, task(''))).toBe(false);
  });
});

describe('task keys max_changed_lines and planned_at', () => {
  it('reads them', () => {
    const t = task('max_changed_lines: 50\nplanned_at: ABCDEF1\n');
    expect([t.maxChangedLines, t.plannedAt]).toEqual([50, 'abcdef1']);
  });
  it.each<[string, RegExp]>([
    ['planned_at: main\n', /planned_at "main" is not a commit id/],
    ['planned_at: abc\n', /planned_at "abc" is not a commit id/],
    ['planned_at: "-fabcdef1"\n', /is not a commit id/],
    ['max_changed_lines: 0\n', /max_changed_lines must be a whole number of at least 1/],
  ])('refuses %j', (fields, reason) => {
    const parsed = parseTaskText('001-x', '/tmp/001-x.md', `---\ntitle: X\n${fields}---\n`);
    expect(parsed.kind).toBe('invalid');
    if (parsed.kind === 'invalid') expect(parsed.reason).toMatch(reason);
  });
});

describe('plan drift', () => {
  it('keeps only paths in the task scope and names them', () => {
    expect(driftedPaths(['src/x.ts', 'docs/a.md', 'src/y/z.ts'], ['src/**'])).toEqual(['src/x.ts', 'src/y/z.ts']);
    expect(driftReason(['src/x.ts'], 'abc1234def')).toBe('plan drift: src/x.ts changed since the plan was written (planned_at abc1234)');
    expect(driftReason(['a', 'b', 'c', 'd'], 'abc1234')).toBe('plan drift: a, b, c and 1 more changed since the plan was written (planned_at abc1234)');
  });
});
