import { describe, expect, it } from 'vitest';
import { formatScalar, updateTaskText } from '../../src/task/update.js';
import { parseTaskText } from '../../src/task/parse.js';
import { InternalError } from '../../src/errors.js';
import type { OwnedChanges, Task } from '../../src/task/task.js';

const ID = '002-add-login';

function parsed(text: string): Task {
  const result = parseTaskText(ID, '/repo/tasks/002-add-login.md', text);
  if (result.kind !== 'ok') throw new Error(`does not re-parse: ${result.reason}\n${text}`);
  return result.task;
}

/** Updates and checks the invariants every update must keep. */
function update(text: string, changes: OwnedChanges): string {
  const next = updateTaskText(text, changes);
  const after = parsed(next);
  const before = parseTaskText(ID, '', text);
  // Some inputs below hold owned keys of the wrong shape (a list as error:); the update fixes those.
  if (before.kind === 'ok') {
    expect(after.body).toBe(before.task.body);
    for (const [key, value] of Object.entries(before.task.frontmatter)) {
      if (changes[key as keyof OwnedChanges] === undefined) expect(after.frontmatter[key], key).toEqual(value);
    }
  }
  return next;
}

const lines = (...ls: string[]): string => ls.join('\n');

const USER_FILE = lines(
  '---',
  '# a task from the backlog',
  'title: Add login form   # required',
  'status: queued          # queued | running | done',
  'priority: 2',
  '',
  'depends_on: [001-setup-db]',
  'reviewer: alice   # not ours',
  'custom: {a: 1, b: [x, y]}',
  '---',
  '# Goal',
  '',
  'Body with --- and status: done inside.',
  '',
);

describe('updateTaskText: exact output', () => {
  it.each<[string, OwnedChanges, string]>([
    [
      'changes status in place, keeping its comment',
      { status: 'running' },
      USER_FILE.replace('status: queued          # queued', 'status: running          # queued'),
    ],
    [
      'appends new owned keys before the closing fence, in OWNED_KEYS order',
      { attempts: 1, claimed_by: 'host:4242', status: 'running', started_at: '2026-11-21T03:10:00Z' },
      lines(
        '---',
        '# a task from the backlog',
        'title: Add login form   # required',
        'status: running          # queued | running | done',
        'priority: 2',
        '',
        'depends_on: [001-setup-db]',
        'reviewer: alice   # not ours',
        'custom: {a: 1, b: [x, y]}',
        'attempts: 1',
        'claimed_by: host:4242',
        'started_at: 2026-11-21T03:10:00Z',
        '---',
        '# Goal',
        '',
        'Body with --- and status: done inside.',
        '',
      ),
    ],
    [
      'removes a key with null, and its line',
      { status: null },
      USER_FILE.replace('status: queued          # queued | running | done\n', ''),
    ],
    ['removing an absent key changes nothing', { error: null, commit: null }, USER_FILE],
    ['undefined means no change', { status: undefined, error: undefined }, USER_FILE],
    ['no changes at all', {}, USER_FILE],
  ])('%s', (_name, changes, expected) => {
    expect(update(USER_FILE, changes)).toBe(expected);
  });

  it('walks a task through its lifecycle', () => {
    const start = lines('---', 'title: Add login', 'kind: code', '---', 'Do it.', '');
    const claimed = update(start, { status: 'running', attempts: 1, claimed_by: 'box:7', base_commit: 'abc1234' });
    expect(claimed).toBe(
      lines(
        '---',
        'title: Add login',
        'kind: code',
        'status: running',
        'attempts: 1',
        'claimed_by: box:7',
        'base_commit: abc1234',
        '---',
        'Do it.',
        '',
      ),
    );
    const failed = update(claimed, { status: 'failed', claimed_by: null, error: 'tests failed (exit 1): 3 failing' });
    expect(failed).toBe(
      lines(
        '---',
        'title: Add login',
        'kind: code',
        'status: failed',
        'attempts: 1',
        'base_commit: abc1234',
        'error: "tests failed (exit 1): 3 failing"',
        '---',
        'Do it.',
        '',
      ),
    );
    const done = update(failed, {
      status: 'done',
      attempts: 2,
      error: null,
      branch: 'nightshift/002-add-login',
      commit: '3f9c2d1',
      finished_at: '2026-11-21T03:14:12Z',
      cost_usd: 0.42,
      tokens: 18342,
    });
    expect(done).toBe(
      lines(
        '---',
        'title: Add login',
        'kind: code',
        'status: done',
        'attempts: 2',
        'base_commit: abc1234',
        'finished_at: 2026-11-21T03:14:12Z',
        'branch: nightshift/002-add-login',
        'commit: 3f9c2d1',
        'cost_usd: 0.42',
        'tokens: 18342',
        '---',
        'Do it.',
        '',
      ),
    );
    expect(parsed(done)).toMatchObject({ status: 'done', attempts: 2, costUsd: 0.42, tokens: 18342, error: undefined });
  });

  it('keeps CRLF endings and the BOM, and uses CRLF for appended keys', () => {
    const text = '\uFEFF---\r\ntitle: x\r\nstatus: queued\r\n# note\r\n---\r\nbody\r\nmore\r\n';
    expect(update(text, { status: 'done', commit: 'abc' })).toBe(
      '\uFEFF---\r\ntitle: x\r\nstatus: done\r\n# note\r\ncommit: abc\r\n---\r\nbody\r\nmore\r\n',
    );
    expect(update(text, { status: null })).toBe('\uFEFF---\r\ntitle: x\r\n# note\r\n---\r\nbody\r\nmore\r\n');
  });

  it('keeps a body without a final newline and a closing fence at end of file', () => {
    expect(update('---\ntitle: x\n---\nno newline', { attempts: 3 })).toBe('---\ntitle: x\nattempts: 3\n---\nno newline');
    expect(update('---\ntitle: x\n---', { attempts: 3 })).toBe('---\ntitle: x\nattempts: 3\n---');
  });

  it('keeps blank lines and comments around a replaced key', () => {
    const text = lines('---', 'title: x', '', '# state', 'status: queued', '', '# more', 'owner: bob', '---', '');
    expect(update(text, { status: 'blocked' })).toBe(
      lines('---', 'title: x', '', '# state', 'status: blocked', '', '# more', 'owner: bob', '---', ''),
    );
  });

  it('keeps an indented top-level map indented', () => {
    const text = lines('---', '  title: x', '  status: queued', '---', '');
    expect(update(text, { status: 'done', attempts: 1 })).toBe(lines('---', '  title: x', '  status: done', '  attempts: 1', '---', ''));
  });

  it.each<[string, string, OwnedChanges, string]>([
    [
      'a literal block scalar',
      lines('---', 'title: x', 'error: |', '  line one', '  line two', '', 'commit: abc', '---', ''),
      { error: 'short' },
      lines('---', 'title: x', 'error: short', '', 'commit: abc', '---', ''),
    ],
    [
      'a folded block scalar at the end of the frontmatter',
      lines('---', 'title: x', 'error: >-', '  folded', '  text', '---', 'body', ''),
      { error: 'new' },
      lines('---', 'title: x', 'error: new', '---', 'body', ''),
    ],
    [
      'a flow list spread over lines',
      lines('---', 'title: x', 'commit: [a,', '  b,', '  c]', 'owner: me', '---', ''),
      { commit: 'abc' },
      lines('---', 'title: x', 'commit: abc', 'owner: me', '---', ''),
    ],
    [
      'a block list',
      lines('---', 'title: x', 'error:', '  - one', '  - two', 'owner: me', '---', ''),
      { error: 'one line' },
      lines('---', 'title: x', 'error: "one line"', 'owner: me', '---', ''),
    ],
    [
      'a multi-line plain scalar',
      lines('---', 'title: x', 'error: first', '  continued', 'owner: me', '---', ''),
      { error: null },
      lines('---', 'title: x', 'owner: me', '---', ''),
    ],
    [
      'a multi-line quoted scalar',
      lines('---', 'title: x', 'error: "first', '  second"', 'owner: me', '---', ''),
      { error: 'e' },
      lines('---', 'title: x', 'error: e', 'owner: me', '---', ''),
    ],
    [
      'a value on the next line',
      lines('---', 'title: x', 'branch:', '  nightshift/old', 'owner: me', '---', ''),
      { branch: 'nightshift/new' },
      lines('---', 'title: x', 'branch: nightshift/new', 'owner: me', '---', ''),
    ],
    [
      'an empty value with a comment',
      lines('---', 'title: x', 'error:   # none yet', 'owner: me', '---', ''),
      { error: 'boom' },
      lines('---', 'title: x', 'error: boom   # none yet', 'owner: me', '---', ''),
    ],
    [
      'a quoted value with # inside and a comment after',
      lines('---', 'title: x', 'error: "a # b"  # last failure', '---', ''),
      { error: 'c' },
      lines('---', 'title: x', 'error: c  # last failure', '---', ''),
    ],
  ])('replaces all lines of %s', (_name, text, changes, expected) => {
    expect(update(text, changes)).toBe(expected);
  });

  it('replaces a CRLF block scalar and keeps a CRLF comment', () => {
    const text = '---\r\nerror: |\r\n  one\r\n  two\r\nstatus: failed  # why\r\ntitle: x\r\n---\r\nbody\r\n';
    expect(update(text, { error: 'three', status: 'queued' })).toBe(
      '---\r\nerror: three\r\nstatus: queued  # why\r\ntitle: x\r\n---\r\nbody\r\n',
    );
    expect(update(text, { error: null, status: null })).toBe('---\r\ntitle: x\r\n---\r\nbody\r\n');
  });

  it('rewrites an unchanged value to the same bytes', () => {
    const text = lines('---', 'title: x', 'status: queued', 'attempts: 2', 'error: "a: b"', '---', '');
    expect(update(text, { status: 'queued', attempts: 2, error: 'a: b' })).toBe(text);
  });

  it('rewrites a single-quoted or plain owned value with the same meaning', () => {
    const text = lines('---', 'title: x', "error: 'it''s: broken'", '---', '');
    const next = update(text, { error: "it's: broken" });
    expect(next).toBe(lines('---', 'title: x', 'error: "it\'s: broken"', '---', ''));
  });

  it('leaves the user keys byte for byte when they look like owned ones', () => {
    const text = lines('---', 'title: status', 'notes: |', '  status: queued', '  error: x', 'status: queued', '---', '');
    expect(update(text, { status: 'done', error: 'e' })).toBe(
      lines('---', 'title: status', 'notes: |', '  status: queued', '  error: x', 'status: done', 'error: e', '---', ''),
    );
  });
});

describe('updateTaskText: the result always re-parses', () => {
  const bases: Record<string, string> = {
    user: USER_FILE,
    crlfBom: '\uFEFF---\r\ntitle: x\r\nstatus: failed\r\nerror: "old: one"\r\n---\r\nbody',
    blockError: lines('---', 'title: x', 'error: |', '  multi', '  line', 'attempts: 3', '---', ''),
    indented: lines('---', '  title: x', '  # c', '  tokens: 5', '---', ''),
    minimal: '---\ntitle: x\n---',
  };
  const changeSets: OwnedChanges[] = [
    { status: 'running', attempts: 1, claimed_by: 'host:1', started_at: '2026-11-21T03:10:00Z' },
    { status: 'failed', error: 'tests failed: 3\nfailing # really', claimed_by: null },
    { status: 'done', error: null, commit: 'true', branch: '-weird-', cost_usd: 1.5, tokens: 0 },
    { status: 'queued', attempts: 0, error: '', base_commit: null, finished_at: 'null' },
  ];
  it.each(Object.keys(bases))('%s', (name) => {
    let text = bases[name] as string;
    for (const changes of changeSets) {
      text = update(text, changes);
      const task = parsed(text);
      if (changes.status) expect(task.status).toBe(changes.status);
      if (typeof changes.error === 'string') expect(task.error).toBe(changes.error.replace(/\n/g, ' '));
      if (changes.error === null) expect(task.error).toBeUndefined();
    }
    expect(text.startsWith('\uFEFF')).toBe((bases[name] as string).startsWith('\uFEFF'));
  });
});

describe('updateTaskText: values that need quoting round-trip', () => {
  it.each<[string, string, string]>([
    // [case, value, how it is written]
    ['colon space', 'tests failed: x', '"tests failed: x"'],
    ['contract error', 'tests failed (exit 1): 3 failing', '"tests failed (exit 1): 3 failing"'],
    ['true', 'true', '"true"'],
    ['false', 'false', '"false"'],
    ['123', '123', '"123"'],
    ['float-looking', '1e5', '"1e5"'],
    ['hex-looking', '0x1f', '"0x1f"'],
    ['null', 'null', '"null"'],
    ['tilde', '~', '"~"'],
    ['leading dash', '-rf', '"-rf"'],
    ['leading dash space', '- item', '"- item"'],
    ['leading hash', '#1 failed', '"#1 failed"'],
    ['space hash', 'a #b', '"a #b"'],
    ['double quote', 'say "hi"', '"say \\"hi\\""'],
    ['single quote', "it's", '"it\'s"'],
    ['backslash', 'C:\\path', '"C:\\\\path"'],
    ['flow chars', '[a] {b}', '"[a] {b}"'],
    ['alias and anchor', '*a &b', '"*a &b"'],
    ['empty', '', '""'],
    ['leading space', ' x', '" x"'],
    ['tab', 'a\tb', '"a\\tb"'],
    ['unicode', 'caf\u00e9 \u{1F600}', '"caf\u00e9 \u{1F600}"'],
    ['plain sha', '3f9c2d1', '3f9c2d1'],
    ['plain host:pid', 'host:1234', 'host:1234'],
    ['plain timestamp', '2026-11-21T03:10:00Z', '2026-11-21T03:10:00Z'],
    ['plain branch', 'nightshift/002-add-login', 'nightshift/002-add-login'],
  ])('%s', (_name, value, written) => {
    expect(formatScalar(value)).toBe(written);
    const next = update('---\ntitle: x\n---\n', { error: value });
    expect(next).toBe(`---\ntitle: x\nerror: ${written}\n---\n`);
    expect(parsed(next).frontmatter.error).toBe(value);
  });

  it.each<[string, string, string]>([
    ['LF', 'line one\nline two', 'line one line two'],
    ['CRLF', 'line one\r\nline two\r\n', 'line one line two '],
    ['blank lines', 'a\n\n\nb', 'a b'],
  ])('flattens newlines (%s) to one line', (_name, value, flat) => {
    const next = update('---\ntitle: x\nerror: old\n---\n', { error: value });
    expect(next.split('\n')).toHaveLength(5);
    expect(parsed(next).error).toBe(flat);
  });

  it.each<[string, number, string]>([
    ['zero', 0, '0'],
    ['integer', 18342, '18342'],
    ['decimal', 0.42, '0.42'],
  ])('writes numbers plainly: %s', (_name, value, written) => {
    const next = update('---\ntitle: x\n---\n', { tokens: Math.round(value), cost_usd: value });
    expect(next).toBe(`---\ntitle: x\ncost_usd: ${written}\ntokens: ${Math.round(value)}\n---\n`);
  });

  it('round-trips every BMP character', () => {
    for (let start = 0; start < 0x10000; start += 0x400) {
      let value = '';
      for (let code = start; code < start + 0x400; code++) value += String.fromCharCode(code);
      const next = updateTaskText('---\ntitle: x\n---\n', { error: value });
      expect(parsed(next).frontmatter.error, `U+${start.toString(16)}..`).toBe(value.replace(/[\r\n]+/g, ' '));
    }
  });
});

describe('updateTaskText: refusals', () => {
  it.each<[string, string]>([
    ['no frontmatter', '# just markdown\n'],
    ['unclosed frontmatter', '---\ntitle: x\n'],
    ['invalid YAML', '---\ntitle: x\nkind: a: b\n---\n'],
    ['a list frontmatter', '---\n- a\n---\n'],
    ['a flow map frontmatter', '---\n{title: x, status: queued}\n---\n'],
  ])('refuses to rewrite %s', (_name, text) => {
    expect(() => updateTaskText(text, { status: 'done' })).toThrow(InternalError);
  });

  it('refuses an update that would break a user alias to an owned value', () => {
    const text = lines('---', 'title: x', 'commit: &c abc123', 'mirror: *c', '---', '');
    expect(() => updateTaskText(text, { commit: 'def456' })).toThrow(InternalError);
  });

  it.each<[string, OwnedChanges]>([
    ['an unknown status', { status: 'bogus' }],
    ['negative attempts', { attempts: -1 }],
    ['fractional tokens', { tokens: 1.5 }],
    ['NaN cost', { cost_usd: Number.NaN }],
    ['infinite cost', { cost_usd: Number.POSITIVE_INFINITY }],
  ])('refuses to write %s into a valid task', (_name, changes) => {
    expect(() => updateTaskText('---\ntitle: x\n---\n', changes)).toThrow(InternalError);
  });
});
