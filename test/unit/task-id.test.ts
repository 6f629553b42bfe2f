import { describe, expect, it } from 'vitest';
import { ID_PATTERN, MAX_ID_LENGTH, idProblem, isValidId, slugify } from '../../src/task/id.js';

describe('idProblem / isValidId', () => {
  it.each(['001-setup-db', 'a', '0', 'v1.2.3', 'snake_case', 'x-', 'a'.repeat(MAX_ID_LENGTH), '002-add-login'])('accepts %j', (id) => {
    expect(idProblem(id)).toBeUndefined();
    expect(isValidId(id)).toBe(true);
  });

  it.each<[string, RegExp]>([
    ['', /the id is empty/],
    ['../x', /"..\/x" is not a valid task id \(use lowercase letters, digits/],
    ['a/b', /"a\/b" is not a valid task id/],
    ['a\\b', /is not a valid task id/],
    ['-rf', /"-rf" is not a valid task id.*starting with a letter or digit/],
    ['.hidden', /".hidden" is not a valid task id/],
    ['_x', /"_x" is not a valid task id/],
    ['has space', /"has space" is not a valid task id/],
    ['UPPER', /"UPPER" is not a valid task id/],
    ['Mixed-Case', /is not a valid task id/],
    ['caf\u00e9', /is not a valid task id/],
    ['a'.repeat(MAX_ID_LENGTH + 1), /the id is 101 characters long \(at most 100\)/],
    ['a..b', /"a..b" is not a valid task id \(it contains ".."\)/],
    ['x.lock', /"x.lock" is not a valid task id \(it may not end in "." or ".lock"\)/],
    ['x.', /may not end in "\."/],
    ['a~1', /is not a valid task id/],
    ['a:b', /is not a valid task id/],
    ['tab\there', /"tab\\there" is not a valid task id/],
    ['new\nline', /"new\\nline" is not a valid task id/],
  ])('refuses %j', (id, expected) => {
    const problem = idProblem(id);
    expect(problem).toMatch(expected);
    expect(problem).not.toMatch(/[\r\n]/);
    expect(isValidId(id)).toBe(false);
  });

  it('agrees with ID_PATTERN for simple ids', () => {
    expect(ID_PATTERN.test('001-a')).toBe(true);
    expect(ID_PATTERN.test('A')).toBe(false);
  });
});

describe('slugify', () => {
  it.each<[string, string]>([
    ['Add login form', 'add-login-form'],
    ['  Fix: the *bug*!  ', 'fix-the-bug'],
    ['Caf\u00e9 d\u00e9j\u00e0 vu', 'cafe-deja-vu'],
    ['Upgrade Node 18 -> 20', 'upgrade-node-18-20'],
    ['snake_case and.dots', 'snake-case-and-dots'],
    ['UPPER', 'upper'],
    ['', 'task'],
    ['!!!', 'task'],
    ['\u65e5\u672c\u8a9e', 'task'],
    ['../../etc/passwd', 'etc-passwd'],
  ])('%j -> %j', (title, slug) => {
    expect(slugify(title)).toBe(slug);
    expect(isValidId(slugify(title))).toBe(true);
  });

  it('caps the slug at 60 characters without a trailing dash', () => {
    const slug = slugify(`${'word '.repeat(11)}${'x'.repeat(30)}`);
    expect(slug.length).toBeLessThanOrEqual(60);
    expect(slug).not.toMatch(/-$/);
    expect(slug.startsWith('word-word-')).toBe(true);
    expect(slugify('a'.repeat(200))).toBe('a'.repeat(60));
    // A cut that lands right after a dash drops the dash.
    expect(slugify(`${'a'.repeat(59)} b`)).toBe('a'.repeat(59));
  });

  it('makes a valid id with a number prefix', () => {
    expect(isValidId(`007-${slugify('Ship it!')}`)).toBe(true);
  });
});
