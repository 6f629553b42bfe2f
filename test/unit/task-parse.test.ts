import { describe, expect, it } from 'vitest';
import { loadYamlMap, MAX_TASK_BYTES, parseTask, parseTaskText, tooBig, type ParseResult } from '../../src/task/parse.js';
import { joinFrontmatter, splitFrontmatter } from '../../src/task/frontmatter.js';
import type { Task } from '../../src/task/task.js';

const FILE = '/repo/tasks/001-demo.md';
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const parse = (text: string, id = '001-demo'): ParseResult => parseTask(id, FILE, bytes(text));

function ok(result: ParseResult): Task {
  if (result.kind !== 'ok') throw new Error(`expected ok, got invalid: ${result.reason}`);
  return result.task;
}

function reason(result: ParseResult): string {
  if (result.kind !== 'invalid') throw new Error(`expected invalid, got a task titled ${JSON.stringify(result.task.title)}`);
  // Every reason is one line: it goes into `list` output and progress.txt.
  expect(result.reason).not.toMatch(/[\r\n]/);
  expect(result.reason.length).toBeGreaterThan(20);
  return result.reason;
}

/** The classic billion-laughs document, as YAML flow lists: 9^9 "lol"s if expanded. */
function billionLaughs(): string {
  const names = 'abcdefghi';
  const lines = ['title: boom', `a: &a [${Array(9).fill('"lol"').join(', ')}]`];
  for (let i = 1; i < names.length; i++) {
    lines.push(
      `${names[i]}: &${names[i]} [${Array(9)
        .fill(`*${names[i - 1]}`)
        .join(', ')}]`,
    );
  }
  return `---\n${lines.join('\n')}\n---\nbody\n`;
}

describe('parseTask: invalid files', () => {
  // [case, file text, pattern the reason must match (what is wrong and how to fix it)]
  it.each<[string, string, RegExp]>([
    ['no frontmatter', '# Add login\n\nJust markdown.\n', /no frontmatter.*line 1 must be "---"/],
    ['text before the fence', 'hello\n---\ntitle: x\n---\n', /no frontmatter/],
    ['unclosed frontmatter', '---\ntitle: Add login\nstatus: queued\n', /unclosed frontmatter.*add one/],
    ['only an opening fence', '---', /unclosed frontmatter/],
    ['empty frontmatter', '---\n---\nbody\n', /frontmatter is empty.*title/],
    ['frontmatter of only comments', '---\n# nothing yet\n---\n', /frontmatter is empty/],
    ['frontmatter is a list', '---\n- title: x\n- status: queued\n---\n', /frontmatter is a list.*key: value/],
    ['frontmatter is a scalar', '---\njust some words\n---\n', /frontmatter is a single value.*key: value/],
    ['frontmatter is a flow map', '---\n{title: x, status: queued}\n---\n', /flow map.*one "key: value" per line/],
    ['a non-text key', '---\ntitle: x\n1: one\n---\n', /key that is not plain text/],
    ['missing title', '---\nstatus: queued\n---\nbody\n', /missing title.*add a line "title: /],
    ['null title', '---\ntitle:\n---\n', /missing title/],
    ['empty title', '---\ntitle: ""\n---\n', /title is empty.*title: /],
    ['blank title', '---\ntitle: "   "\n---\n', /title is empty/],
    ['title is a list', '---\ntitle: [a, b]\n---\n', /title must be text, got a list/],
    ['unknown status', '---\ntitle: x\nstatus: finished\n---\n', /unknown status "finished": use one of queued, running, done/],
    ['status is a list', '---\ntitle: x\nstatus: [done]\n---\n', /unknown status a list: use one of/],
    [
      'depends_on: 5',
      '---\ntitle: x\ndepends_on: 5\n---\n',
      /depends_on must be a list of text, like depends_on: \[001-setup-db\]; got number 5/,
    ],
    ['depends_on with a number item', '---\ntitle: x\ndepends_on: [001]\n---\n', /depends_on .*item 1 is number 1 \(quote it\)/],
    ['depends_on with a bad id', '---\ntitle: x\ndepends_on: [../etc]\n---\n', /depends_on: "..\/etc" is not a valid task id/],
    ['depends_on itself', '---\ntitle: x\ndepends_on: [001-demo]\n---\n', /depends_on lists the task itself; remove it/],
    ['priority: high', '---\ntitle: x\npriority: high\n---\n', /priority must be a whole number \(like priority: 1.*got text "high"/],
    ['priority: 1.5', '---\ntitle: x\npriority: 1.5\n---\n', /priority must be a whole number.*got number 1.5/],
    [
      'max_attempts: 0',
      '---\ntitle: x\nmax_attempts: 0\n---\n',
      /max_attempts must be a whole number of at least 1 \(like max_attempts: 3\), got number 0/,
    ],
    ['attempts: -1', '---\ntitle: x\nattempts: -1\n---\n', /attempts must be a whole number of at least 0/],
    ['timeout: soon', '---\ntitle: x\ntimeout: soon\n---\n', /timeout "soon" is not a duration; write it like 30m, 1h or 90s/],
    ['timeout is a map', '---\ntitle: x\ntimeout: {m: 30}\n---\n', /timeout a map is not a duration/],
    ['cost_usd negative', '---\ntitle: x\ncost_usd: -1\n---\n', /cost_usd must be a number of at least 0/],
    ['tokens as text', '---\ntitle: x\ntokens: many\n---\n', /tokens must be a whole number of at least 0.*got text "many"/],
    ['executor with capitals', '---\ntitle: x\nexecutor: Codex\n---\n', /executor "Codex" is not an executor name; use lowercase/],
    ['kind with a space', '---\ntitle: x\nkind: big code\n---\n', /kind "big code" is not a kind name/],
    ['files is a map', '---\ntitle: x\nfiles: {a: 1}\n---\n', /files must be a list of text.*got a map/],
    ['skills with a bad name', '---\ntitle: x\nskills: [Upgrade Deps]\n---\n', /skills: "Upgrade Deps" is not a skill name/],
    ['run is a list', '---\ntitle: x\nrun: [a, b]\n---\n', /run must be text, got a list/],
    ['a "---" line with text inside', '---\ntitle: x\n--- more\n---\n', /line 3.*starts with "---"/],
    ['an alias without anchor', '---\ntitle: *nowhere\n---\n', /\*alias refers to no &anchor/],
  ])('%s', (_name, text, expected) => {
    expect(reason(parse(text))).toMatch(expected);
  });

  it('lists every problem at once, still on one line', () => {
    const why = reason(parse('---\nstatus: nope\npriority: high\ntimeout: soon\n---\n'));
    expect(why).toMatch(/missing title/);
    expect(why).toMatch(/unknown status "nope"/);
    expect(why).toMatch(/priority must be a whole number/);
    expect(why).toMatch(/timeout "soon"/);
  });

  it.each<[string, number, string, RegExp]>([
    // [case, FILE line number of the error (YAML line + 1 for the opening fence), file text, what the reason says]
    [
      'unclosed flow list',
      4,
      '---\ntitle: x\ndepends_on: [a, b\nstatus: queued\n---\n',
      /invalid YAML in frontmatter at line 4: .*fix that line/,
    ],
    ['nested mapping on one line', 3, '---\ntitle: x\nkind: a: b\n---\n', /invalid YAML in frontmatter at line 3: .*quote values/],
    ['tab indentation', 4, '---\ntitle: x\nfiles:\n\t- a\n---\n', /invalid YAML in frontmatter at line 4: .*[Tt]ab/],
    ['bad line after a BOM and CRLF', 3, '\uFEFF---\r\ntitle: x\r\nkind: a: b\r\n---\r\n', /invalid YAML in frontmatter at line 3/],
    [
      'duplicate key',
      4,
      '---\ntitle: x\nstatus: queued\ntitle: y\n---\n',
      /duplicate key "title" in frontmatter at line 4: each key may appear once; remove or merge/,
    ],
    ['duplicate owned key', 5, '---\ntitle: x\nattempts: 1\n\nattempts: 2\n---\n', /duplicate key "attempts" .* at line 5/],
  ])('invalid YAML: %s reports file line %i', (_name, line, text, expected) => {
    const why = reason(parse(text));
    expect(why).toMatch(expected);
    expect(why).toContain(`line ${line}`);
  });

  it('reports the YAML line plus the opening fence when called directly', () => {
    const loaded = loadYamlMap('title: x\nkind: a: b\n', 2);
    expect(loaded.kind).toBe('invalid');
    if (loaded.kind === 'invalid') expect(loaded.reason).toMatch(/at line 3:/);
  });

  it('refuses an empty file', () => {
    expect(reason(parseTask('001-demo', FILE, new Uint8Array(0)))).toMatch(/file is empty.*"---" frontmatter/);
  });

  it.each<[string, Uint8Array]>([
    ['0xff 0xfe 0x41', Buffer.from([0xff, 0xfe, 0x41])],
    ['a lone continuation byte', Buffer.from([0x2d, 0x2d, 0x2d, 0x0a, 0x80, 0x0a])],
    ['a truncated sequence', Buffer.concat([Buffer.from('---\ntitle: caf'), Buffer.from([0xc3])])],
    ['UTF-16 text', Buffer.from('\uFEFF---\ntitle: x\n---\n', 'utf16le')],
  ])('refuses bytes that are not UTF-8: %s', (_name, data) => {
    expect(reason(parseTask('001-demo', FILE, data))).toMatch(/not UTF-8 text; save it as UTF-8/);
  });

  it('refuses NUL bytes', () => {
    expect(reason(parse('---\ntitle: x\n---\n\u0000\u0001'))).toMatch(/NUL bytes/);
  });

  it('refuses a 10 MB file quickly, without reading it', () => {
    const huge = Buffer.alloc(10 * 1024 * 1024, 0x61);
    huge.write('---\ntitle: huge\n---\n');
    const start = performance.now();
    const why = reason(parseTask('001-demo', FILE, huge));
    expect(performance.now() - start).toBeLessThan(100);
    expect(why).toMatch(/the file is 10\.0 MB; task files are limited to 1 MB/);
    expect(why).toBe(tooBig(huge.length));
  });

  it('accepts a file of exactly MAX_TASK_BYTES and refuses one byte more', () => {
    const head = '---\ntitle: big\n---\n';
    const exact = head + 'x'.repeat(MAX_TASK_BYTES - head.length);
    expect(ok(parse(exact)).body.length).toBe(MAX_TASK_BYTES - head.length);
    expect(reason(parse(`${exact}x`))).toMatch(/limited to 1 MB/);
  });

  it('refuses an oversized frontmatter before parsing it', () => {
    const nested = '['.repeat(500_000);
    const start = performance.now();
    const why = reason(parse(`---\ntitle: x\nk: ${nested}\n---\nbody\n`));
    expect(performance.now() - start).toBeLessThan(200);
    expect(why).toMatch(/the frontmatter is 489 KB; keep it under 64 KB and put long text in the markdown body/);
  });

  it('refuses deeply nested YAML without throwing', () => {
    expect(reason(parse(`---\ntitle: x\nk: ${'['.repeat(5000)}${']'.repeat(5000)}\n---\n`))).toMatch(/invalid YAML in frontmatter/);
  });

  it('refuses a billion-laughs alias bomb fast and without expanding it', () => {
    const heapBefore = process.memoryUsage().heapUsed;
    const start = performance.now();
    const why = reason(parse(billionLaughs()));
    expect(performance.now() - start).toBeLessThan(500);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(100 * 1024 * 1024);
    expect(why).toMatch(/aliases.*alias bomb.*remove the \* references/);
  });

  it('refuses a block-style alias bomb too', () => {
    const lines = ['title: boom', 'a: &a', ...Array<string>(10).fill('  - lol')];
    for (const [prev, name] of [
      ['a', 'b'],
      ['b', 'c'],
      ['c', 'd'],
      ['d', 'e'],
      ['e', 'f'],
    ] as const) {
      lines.push(`${name}: &${name}`, ...Array<string>(10).fill(`  - *${prev}`));
    }
    expect(reason(parse(`---\n${lines.join('\n')}\n---\n`))).toMatch(/aliases/);
  });

  it('still allows a few harmless aliases', () => {
    const task = ok(parse('---\ntitle: x\nshared: &s [a, b]\nfiles: *s\n---\n'));
    expect(task.files).toEqual(['a', 'b']);
  });

  it.each<[string, RegExp]>([
    ['../x', /bad file name: "..\/x" is not a valid task id \(use lowercase letters.*; rename the file/],
    ['a/b', /"a\/b" is not a valid task id/],
    ['-rf', /"-rf" is not a valid task id.*starting with a letter or digit/],
    ['has space', /"has space" is not a valid task id/],
    ['UPPER', /"UPPER" is not a valid task id \(use lowercase/],
    ['a'.repeat(101), /the id is 101 characters long \(at most 100\); rename the file/],
    ['a..b', /"a..b" is not a valid task id \(it contains ".."\)/],
    ['x.lock', /may not end in "\." or "\.lock"/],
    ['', /the id is empty/],
    ['bad\nname', /"bad\\nname" is not a valid task id/],
  ])('refuses the bad id %j before reading the file', (id, expected) => {
    expect(reason(parse('---\ntitle: fine\n---\n', id))).toMatch(expected);
  });
});

describe('parseTask: valid files', () => {
  it('applies defaults to a title-only task', () => {
    const task = ok(parse('---\ntitle: Add login form\n---\n'));
    expect(task).toMatchObject({
      id: '001-demo',
      file: FILE,
      title: 'Add login form',
      status: 'queued',
      priority: 0,
      dependsOn: [],
      attempts: 0,
      body: '',
      frontmatter: { title: 'Add login form' },
    });
    for (const key of [
      'kind',
      'executor',
      'files',
      'skills',
      'timeoutMs',
      'maxAttempts',
      'run',
      'claimedBy',
      'startedAt',
      'finishedAt',
      'baseCommit',
      'branch',
      'commit',
      'error',
      'costUsd',
      'tokens',
    ] as const) {
      expect(task[key], key).toBeUndefined();
    }
  });

  it('parses every contract field', () => {
    const text = [
      '---',
      'title: Add login form          # required',
      'status: running',
      'priority: 5',
      'depends_on: [001-setup-db, 002-schema]',
      'kind: code',
      'executor: codex',
      'files: ["src/login/**"]',
      'skills: [upgrade-deps]',
      'timeout: 30m',
      'max_attempts: 3',
      'run: "sh scripts/do-it.sh"',
      '# written by nightshift, never required from the user:',
      'attempts: 1',
      'claimed_by: host:1234',
      'started_at: 2026-11-21T03:10:00Z',
      'finished_at: 2026-11-21T03:14:12Z',
      'base_commit: 3f9c2d1aa',
      'branch: nightshift/003-add-login',
      'commit: 9e8d7c6b5',
      'error: "tests failed (exit 1): 3 failing"   # last failure, one line',
      'cost_usd: 0.42',
      'tokens: 18342',
      'reviewer: alice',
      '---',
      '# Goal',
      '',
    ].join('\n');
    const task = ok(parse(text, '003-add-login'));
    expect(task).toMatchObject({
      title: 'Add login form',
      status: 'running',
      priority: 5,
      dependsOn: ['001-setup-db', '002-schema'],
      kind: 'code',
      executor: 'codex',
      files: ['src/login/**'],
      skills: ['upgrade-deps'],
      timeoutMs: 1_800_000,
      maxAttempts: 3,
      run: 'sh scripts/do-it.sh',
      attempts: 1,
      claimedBy: 'host:1234',
      startedAt: '2026-11-21T03:10:00Z',
      finishedAt: '2026-11-21T03:14:12Z',
      baseCommit: '3f9c2d1aa',
      branch: 'nightshift/003-add-login',
      commit: '9e8d7c6b5',
      error: 'tests failed (exit 1): 3 failing',
      costUsd: 0.42,
      tokens: 18342,
      body: '# Goal\n',
      text,
    });
    expect(task.frontmatter.reviewer).toBe('alice');
  });

  it.each<[string, 'queued' | 'running' | 'done' | 'failed' | 'blocked' | 'cancelled' | 'draft']>([
    ['queued', 'queued'],
    ['running', 'running'],
    ['done', 'done'],
    ['failed', 'failed'],
    ['blocked', 'blocked'],
    ['cancelled', 'cancelled'],
    ['draft', 'draft'],
  ])('accepts status %s', (raw, expected) => {
    expect(ok(parse(`---\ntitle: x\nstatus: ${raw}\n---\n`)).status).toBe(expected);
  });

  it.each<[string, number]>([
    ['30m', 1_800_000],
    ['1h', 3_600_000],
    ['90s', 90_000],
    ['1h30m', 5_400_000],
    ['45', 45_000],
  ])('parses timeout %s', (raw, ms) => {
    expect(ok(parse(`---\ntitle: x\ntimeout: ${raw}\n---\n`)).timeoutMs).toBe(ms);
  });

  it.each<[string, Partial<Task>]>([
    ['depends_on: 001-setup-db', { dependsOn: ['001-setup-db'] }],
    ['depends_on: []', { dependsOn: [] }],
    ['depends_on:', { dependsOn: [] }],
    ['files: "src/**"', { files: ['src/**'] }],
    ['priority: -2', { priority: -2 }],
    ['title: 42', { title: '42' }],
    ['title: "  padded  "', { title: 'padded' }],
    ['commit: 1234567', { commit: '1234567' }],
    ['max_attempts: 1', { maxAttempts: 1 }],
    ['cost_usd: 0', { costUsd: 0 }],
  ])('parses %s', (line, expected) => {
    const text = line.startsWith('title:') ? `---\n${line}\n---\n` : `---\ntitle: x\n${line}\n---\n`;
    expect(ok(parse(text))).toMatchObject(expected);
  });

  it('keeps the body byte for byte', () => {
    const body = '# Goal\r\n\n  indented\t\ttabs  \n---\nnot frontmatter: true\n\n\n\u00e9\u{1F600} trailing spaces   \n';
    const text = `---\ntitle: x\n---\n${body}`;
    const task = ok(parse(text));
    expect(task.body).toBe(body);
    expect(task.text).toBe(text);
  });

  it('keeps a body without a final newline', () => {
    expect(ok(parse('---\ntitle: x\n---\nno newline')).body).toBe('no newline');
    expect(ok(parse('---\ntitle: x\n---')).body).toBe('');
  });

  it('accepts "..." as the closing fence and trailing spaces on fences', () => {
    const task = ok(parse('---  \ntitle: x\n...\t\nbody\n'));
    expect(task.title).toBe('x');
    expect(task.body).toBe('body\n');
  });

  it('parses CRLF line endings', () => {
    const text = '---\r\ntitle: Add login\r\nstatus: done\r\ndepends_on: [a]\r\n---\r\n# Goal\r\nline two\r\n';
    const task = ok(parse(text));
    expect(task).toMatchObject({ title: 'Add login', status: 'done', dependsOn: ['a'], body: '# Goal\r\nline two\r\n' });
  });

  it('parses a UTF-8 BOM and keeps it in task.text', () => {
    const data = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('---\r\ntitle: Caf\u00e9\r\n---\r\nbody\r\n')]);
    const task = ok(parseTask('001-demo', FILE, data));
    expect(task.title).toBe('Caf\u00e9');
    expect(task.body).toBe('body\r\n');
    expect(task.text).toBe('\uFEFF---\r\ntitle: Caf\u00e9\r\n---\r\nbody\r\n');
  });

  it('parseTaskText gives the same result as parseTask', () => {
    const text = '---\ntitle: x\npriority: 3\n---\nbody\n';
    expect(parseTaskText('001-demo', FILE, text)).toEqual(parse(text));
  });

  it('does not let __proto__ smuggle in fields', () => {
    const result = parse('---\n__proto__: {title: sneaky}\n---\n');
    expect(reason(result)).toMatch(/missing title/);
  });
});

describe('splitFrontmatter / joinFrontmatter', () => {
  it.each<[string, string]>([
    ['LF', '---\ntitle: x\n---\nbody\n'],
    ['CRLF', '---\r\ntitle: x\r\n---\r\nbody\r\n'],
    ['BOM', '\uFEFF---\ntitle: x\n---\nbody'],
    ['no body', '---\ntitle: x\n---'],
    ['dots', '---\ntitle: x\n...\n'],
  ])('round-trips %s byte for byte', (_name, text) => {
    const split = splitFrontmatter(text);
    expect(split.kind).toBe('ok');
    if (split.kind === 'ok') expect(joinFrontmatter(split.file)).toBe(text);
  });

  it('splits into its parts', () => {
    const split = splitFrontmatter('\uFEFF---\r\ntitle: x\r\nkind: y\r\n---\r\n# Body\r\n');
    expect(split).toEqual({
      kind: 'ok',
      file: {
        bom: '\uFEFF',
        eol: '\r\n',
        open: '---\r\n',
        yaml: 'title: x\r\nkind: y\r\n',
        close: '---\r\n',
        body: '# Body\r\n',
        yamlFirstLine: 2,
      },
    });
  });
});
