import { describe, expect, it } from 'vitest';
import { globToRegExp, matchesAny } from '../../src/util/glob.js';
import {
  checkGuards as checkFacts,
  checkRefs,
  checkWorktree,
  formatBytes,
  hasConflictMarkers,
  underDotGit,
  type Change,
  type ChangeFacts,
  type GuardRules,
  type RefMove,
  type WorktreeEntry,
} from '../../src/run/guards.js';
import { resolveLink, type Lookup, type PathKind } from '../../src/run/symlinks.js';

/** The staged-change guards on a list of changes, with neutral facts unless a test gives its own. */
const checkGuards = (changes: Change[], rules: GuardRules, extra: Partial<ChangeFacts> = {}) =>
  checkFacts({ changes, changedLines: 0, addedLines: {}, testFiles: { before: 0, after: 0 }, ...extra }, rules);

describe('globToRegExp', () => {
  // [pattern, path, matches]
  it.each<[string, string, boolean]>([
    // ** crosses folders
    ['src/**', 'src/a.ts', true],
    ['src/**', 'src/a/b/c.ts', true],
    ['src/**', 'srcx/a.ts', false],
    ['src/**', 'lib/src/a.ts', false],
    ['**', 'any/thing/at/all.txt', true],
    ['**/*.test.*', 'a.test.ts', true],
    ['**/*.test.*', 'src/deep/a.test.ts', true],
    ['**/*.test.*', 'src/test.ts', false],
    ['src/**/test', 'src/test', true],
    ['src/**/test', 'src/a/b/test', true],
    ['src/**/test', 'src/a/b/test/x.ts', true],
    ['src/**/test', 'src/atest', false],
    ['src/**/*.ts', 'src/a.ts', true],
    ['src/**/*.ts', 'src/a/b.ts', true],
    ['src/**/*.ts', 'src/a/b.js', false],
    // * and ? stay within one segment
    ['src/*.ts', 'src/a.ts', true],
    ['src/*.ts', 'src/sub/a.ts', false],
    ['?.md', 'a.md', true],
    ['?.md', 'ab.md', false],
    ['?.md', '.md', false],
    ['a?b', 'a/b', false],
    // {a,b} alternates, each alternative a glob of its own
    ['src/{a,b}/**', 'src/a/x.ts', true],
    ['src/{a,b}/**', 'src/b/x.ts', true],
    ['src/{a,b}/**', 'src/c/x.ts', false],
    ['src/{a,b}/**', 'src/ab/x.ts', false],
    ['*.{ts,tsx}', 'x.ts', true],
    ['*.{ts,tsx}', 'deep/x.tsx', true],
    ['*.{ts,tsx}', 'x.js', false],
    ['{*.md,docs/**}', 'README.md', true],
    ['{*.md,docs/**}', 'docs/a/b.txt', true],
    ['{*.md,docs/**}', 'src/a.ts', false],
    ['{a', '{a', true],
    // no slash: matches at any depth, as in .gitignore
    ['*.ts', 'a.ts', true],
    ['*.ts', 'src/deep/a.ts', true],
    ['*.ts', 'a.tsx', false],
    ['*.ts', 'a.ts.bak', false],
    ['secrets.env', 'config/secrets.env', true],
    ['src', 'src/a.ts', true],
    ['src', 'lib/src/a.ts', true],
    ['src', 'srcx/a.ts', false],
    // folder patterns match everything below the folder
    ['docs/', 'docs/a.md', true],
    ['docs/', 'docs/x/y.md', true],
    ['docs/', 'docsx/a.md', false],
    ['docs/', 'pkg/docs/a.md', false],
    ['src/auth', 'src/auth/login.ts', true],
    ['src/auth', 'src/authz/login.ts', false],
    // ./ and a leading / anchor at the repository root
    ['./src/**', 'src/a.ts', true],
    ['/src/**', 'src/a.ts', true],
    ['/src/**', 'lib/src/a.ts', false],
    ['/README.md', 'README.md', true],
    ['/README.md', 'docs/README.md', false],
    ['  src/**  ', 'src/a.ts', true],
    // regex characters are literal
    ['a.ts', 'abts', false],
    ['a+b(1)$.ts', 'a+b(1)$.ts', true],
    ['a+b(1)$.ts', 'aab1.ts', false],
    ['x|y', 'x', false],
  ])('%s ~ %s -> %s', (pattern, path, expected) => {
    expect(globToRegExp(pattern).test(path)).toBe(expected);
  });

  it('matchesAny is true when one pattern matches and false for no patterns', () => {
    expect(matchesAny('src/a.ts', ['docs/**', 'src/**'])).toBe(true);
    expect(matchesAny('src/a.ts', ['docs/**'])).toBe(false);
    expect(matchesAny('src/a.ts', [])).toBe(false);
  });
});

const NONE: GuardRules = { protect: [], tests: [] };
const add = (path: string): Change => ({ status: 'A', path });
const mod = (path: string): Change => ({ status: 'M', path });
const del = (path: string): Change => ({ status: 'D', path });
const ren = (from: string, path: string): Change => ({ status: 'R', from, path });

describe('checkGuards: files (task scope)', () => {
  const scope: GuardRules = { ...NONE, files: ['src/login/**', 'docs/login.md'] };

  it('passes changes inside the scope', () => {
    expect(checkGuards([add('src/login/form.ts'), mod('docs/login.md'), del('src/login/old.ts')], scope)).toEqual([]);
  });

  it('fails a change outside the scope, naming the scope and the paths', () => {
    expect(checkGuards([mod('src/login/form.ts'), mod('src/app.ts'), add('README.md')], scope)).toEqual([
      "files: changed outside the task's scope (src/login/**, docs/login.md): src/app.ts, README.md",
    ]);
  });

  it('checks both ends of a rename', () => {
    expect(checkGuards([ren('src/login/a.ts', 'src/a.ts')], scope)).toEqual([expect.stringMatching(/outside.*: src\/a\.ts$/)]);
    expect(checkGuards([ren('src/a.ts', 'src/login/a.ts')], scope)).toEqual([expect.stringMatching(/outside.*: src\/a\.ts$/)]);
  });

  it('no files: or an empty list means no scope', () => {
    expect(checkGuards([mod('anything/at/all.ts')], NONE)).toEqual([]);
    expect(checkGuards([mod('anything/at/all.ts')], { ...NONE, files: [] })).toEqual([]);
  });
});

describe('checkGuards: protect', () => {
  const rules: GuardRules = { ...NONE, protect: ['src/auth/**', '*.pem'] };

  it.each<[string, Change]>([
    ['a modified file', mod('src/auth/session.ts')],
    ['an added file', add('src/auth/new.ts')],
    ['a deleted file', del('src/auth/session.ts')],
    ['a file matched at any depth', add('config/keys/server.pem')],
    ['a rename out of a protected folder', ren('src/auth/session.ts', 'src/session.ts')],
    ['a rename into a protected folder', ren('src/session.ts', 'src/auth/session.ts')],
  ])('fails %s', (_name, change) => {
    const violations = checkGuards([change], rules);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatch(/^protect: changed protected paths: /);
  });

  it('passes changes elsewhere', () => {
    expect(checkGuards([mod('src/app.ts'), add('src/authz.ts'), mod('pem.txt')], rules)).toEqual([]);
  });
});

describe('checkGuards: tests', () => {
  const rules: GuardRules = { ...NONE, tests: ['test/**', '**/*.test.*'] };

  it.each<[string, Change, boolean]>([
    ['deleting a test file', del('test/login.ts'), true],
    ['deleting a test file matched by name', del('src/a/login.test.ts'), true],
    ['renaming a test file away from the tests', ren('test/login.ts', 'src/login-check.ts'), true],
    ['modifying a test file', mod('test/login.ts'), false],
    ['adding a test file', add('test/new.ts'), false],
    ['moving a test file within the tests', ren('test/login.ts', 'test/auth/login.ts'), false],
    ['renaming a test to another test name', ren('src/a.test.ts', 'test/a.ts'), false],
    ['renaming a source file into the tests', ren('src/helper.ts', 'test/helper.ts'), false],
    ['deleting a source file', del('src/login.ts'), false],
  ])('%s -> violation: %s', (_name, change, fails) => {
    expect(checkGuards([change], rules)).toEqual(fails ? [expect.stringMatching(/^tests: deleted or renamed away test files: /)] : []);
  });

  it('names the original path of a renamed-away test', () => {
    expect(checkGuards([ren('test/login.ts', 'src/x.ts')], rules)).toEqual(['tests: deleted or renamed away test files: test/login.ts']);
  });
});

describe('checkGuards: reporting', () => {
  it('reports every violated rule, one line each', () => {
    const rules: GuardRules = { files: ['src/**'], protect: ['src/auth/**'], tests: ['test/**'] };
    const violations = checkGuards([mod('src/auth/a.ts'), del('test/a.ts')], rules);
    expect(violations).toEqual([
      "files: changed outside the task's scope (src/**): test/a.ts",
      'protect: changed protected paths: src/auth/a.ts',
      'tests: deleted or renamed away test files: test/a.ts',
    ]);
  });

  it('names each path once and caps a long list', () => {
    const changes = Array.from({ length: 8 }, (_, i) => mod(`lib/f${i}.ts`));
    const [line] = checkGuards([...changes, ...changes], { ...NONE, files: ['src/**'] });
    expect(line).toBe("files: changed outside the task's scope (src/**): lib/f0.ts, lib/f1.ts, lib/f2.ts, lib/f3.ts, lib/f4.ts and 3 more");
  });

  it('passes an empty change', () => {
    expect(checkGuards([], { files: ['src/**'], protect: ['**'], tests: ['**'] })).toEqual([]);
  });
});

describe('checkGuards: fewer test files', () => {
  const rules: GuardRules = { ...NONE, tests: ['test/**'] };
  it('fails a change that leaves fewer test files than before, also without a deletion in the list', () => {
    expect(checkGuards([mod('test/a.ts')], rules, { testFiles: { before: 3, after: 2 } })).toEqual([
      'tests: the change leaves 2 test files, 3 before',
    ]);
  });
  it('passes the same or more test files', () => {
    expect(checkGuards([add('test/b.ts')], rules, { testFiles: { before: 3, after: 4 } })).toEqual([]);
    expect(checkGuards([mod('test/a.ts')], rules, { testFiles: { before: 3, after: 3 } })).toEqual([]);
  });
  it('does not count without tests patterns', () => {
    expect(checkGuards([del('test/a.ts')], NONE, { testFiles: { before: 3, after: 2 } })).toEqual([]);
  });
});

describe('checkGuards: max_changed_lines', () => {
  it.each<[number | undefined, number, boolean]>([
    [undefined, 1_000_000, false],
    [100, 100, false],
    [100, 101, true],
    [1, 0, false],
  ])('limit %s, %s lines -> violation: %s', (limit, lines, fails) => {
    const v = checkGuards([mod('a.ts')], { ...NONE, maxChangedLines: limit }, { changedLines: lines });
    expect(v).toEqual(
      fails
        ? [`max_changed_lines: the change adds and removes ${lines} lines, more than ${limit}; split the task or make a smaller change`]
        : [],
    );
  });
});

describe('conflict markers', () => {
  it.each<[string[], boolean]>([
    [['<<<<<<< HEAD', 'a', '=======', 'b', '>>>>>>> theirs'], true],
    [['<<<<<<<'], true],
    [['>>>>>>> branch'], true],
    [['Title', '======='], false],
    [['<<<<<<<< eight'], false],
    [[' <<<<<<< indented'], false],
    [['a <<<<<<< b'], false],
    [[], false],
  ])('%j -> %s', (lines, expected) => {
    expect(hasConflictMarkers(lines)).toBe(expected);
  });
  it('names the files that add markers', () => {
    const v = checkGuards([mod('a.ts'), mod('b.md')], NONE, {
      addedLines: { 'a.ts': ['<<<<<<< HEAD', 'x', '=======', '>>>>>>> y'], 'b.md': ['Title', '======='] },
    });
    expect(v).toEqual(['conflict markers: unresolved <<<<<<< / >>>>>>> lines in a.ts']);
  });
});

describe('.git paths and gitlinks', () => {
  it.each<[string, boolean]>([
    ['.git/config', true],
    ['sub/.git/HEAD', true],
    ['sub/.GIT/HEAD', true],
    ['.github/workflows/ci.yml', false],
    ['.gitignore', false],
    ['a.git/x', false],
  ])('%s under .git: %s', (path, expected) => {
    expect(underDotGit(path)).toBe(expected);
  });
  it('fails a gitlink (an embedded repository added as mode 160000)', () => {
    expect(
      checkGuards(
        [
          { status: 'A', path: 'vendor/lib', mode: '160000' },
          { status: 'A', path: 'x.ts', mode: '100644' },
        ],
        NONE,
      ),
    ).toEqual(['.git: embedded repositories (gitlinks) added: vendor/lib']);
  });
});

describe('checkWorktree', () => {
  const MB = 1024 * 1024;
  const limits = { maxFileSize: 5 * MB };
  it('fails files over the size limit, with their sizes', () => {
    const entries: WorktreeEntry[] = [
      { path: 'big.bin', kind: 'file', size: 100 * MB },
      { path: 'edge.bin', kind: 'file', size: 5 * MB },
      { path: 'gone.txt', kind: 'missing' },
    ];
    expect(checkWorktree(entries, limits)).toEqual(['max_file_size: files over 5 MB: big.bin (100 MB)']);
  });
  it('fails embedded repositories and symlinks that leave the worktree, loop or lead into .git', () => {
    const entries: WorktreeEntry[] = [
      { path: 'sub', kind: 'repository' },
      { path: 'etc', kind: 'symlink', target: '/etc/passwd', resolved: { kind: 'outside' } },
      { path: 'a/up', kind: 'symlink', target: '../../outside', resolved: { kind: 'outside' } },
      { path: 'a/ok', kind: 'symlink', target: '../README.md', resolved: { kind: 'inside' } },
      { path: 'chain', kind: 'symlink', target: 'b', resolved: { kind: 'outside', through: { path: 'b', target: '/etc/passwd' } } },
      { path: 'l1', kind: 'symlink', target: 'l2', resolved: { kind: 'loop' } },
      { path: 'hooks', kind: 'symlink', target: '.git/hooks', resolved: { kind: 'git' } },
    ];
    expect(checkWorktree(entries, limits)).toEqual([
      '.git: embedded repositories (folders with their own .git): sub',
      'symlinks: pointing outside the worktree: etc -> /etc/passwd, a/up -> ../../outside, chain -> b (through b -> /etc/passwd)',
      'symlinks: in a loop: l1 -> l2',
      'symlinks: pointing into a .git folder: hooks -> .git/hooks',
    ]);
  });
  it('shows names that are not printable UTF-8 quoted, with their bytes escaped', () => {
    const entries: WorktreeEntry[] = [
      { path: 'big\udcfe.bin', kind: 'file', size: 6 * MB },
      { path: 'l\udcff', kind: 'symlink', target: '/x\udc80', resolved: { kind: 'outside' } },
      { path: 'caf\u00e9', kind: 'symlink', target: 'tab\there', resolved: { kind: 'loop' } },
    ];
    expect(checkWorktree(entries, limits)).toEqual([
      'max_file_size: files over 5 MB: "big\\xfe.bin" (6 MB)',
      'symlinks: pointing outside the worktree: "l\\xff" -> "/x\\x80"',
      'symlinks: in a loop: café -> "tab\\there"',
    ]);
    const odd = 'src/\udcff';
    const facts: ChangeFacts = {
      changes: [{ status: 'A', path: odd, mode: '100644' }],
      changedLines: 0,
      addedLines: { [odd]: ['<<<<<<< x'] },
      testFiles: { before: 0, after: 0 },
    };
    // Globs match the name's valid part: a protected folder stays protected whatever bytes follow.
    expect(checkFacts(facts, { files: ['docs/**'], protect: ['src/**'], tests: [] })).toEqual([
      'files: changed outside the task\'s scope (docs/**): "src/\\xff"',
      'protect: changed protected paths: "src/\\xff"',
      'conflict markers: unresolved <<<<<<< / >>>>>>> lines in "src/\\xff"',
    ]);
  });
  it('formats sizes', () => {
    expect([formatBytes(10), formatBytes(1536), formatBytes(5 * MB), formatBytes(1.25 * MB)]).toEqual([
      '10 bytes',
      '1.5 KB',
      '5 MB',
      '1.3 MB',
    ]);
  });
});

describe('resolveLink', () => {
  /** A worktree as a table: folders, and links (path -> target); anything else is a file or nothing. */
  const tree =
    (folders: string[], links: Record<string, string> = {}): Lookup =>
    (path): Promise<PathKind> => {
      const target = links[path];
      if (target !== undefined) return Promise.resolve({ kind: 'link', target });
      return Promise.resolve(folders.includes(path) ? { kind: 'folder' } : { kind: 'other' });
    };
  // Without other links on the way, a link leads where its text says (what the old lexical check computed).
  it.each<[string, string, string]>([
    ['link', 'README.md', 'inside'],
    ['link', './src/../README.md', 'inside'],
    ['a/b/link', '../../x', 'inside'],
    ['a/b/link', '../../../x', 'outside'],
    ['link', '..', 'outside'],
    ['link', '/abs', 'outside'],
    ['link', 'C:\\Windows', 'outside'],
    ['a/link', 'b/../../..', 'outside'],
    ['link', '.git/hooks', 'git'],
    ['a/link', '../.GIT/config', 'git'],
    ['link', '.github/workflows', 'inside'],
    // A backslash in the link's own name is no folder: it sits at the top, so this leaves.
    ['x\\y\\z', '../../etc', 'outside'],
  ])('symlink %s -> %s: %s', async (path, target, expected) => {
    expect((await resolveLink(path, target, tree(['a', 'a/b', 'src']))).kind).toBe(expected);
  });
  it('follows chains of links to where they end', async () => {
    const lookup = tree(['docs'], { b: '/etc/passwd', c: 'docs/../d', d: 'docs', up: '../..' });
    expect(await resolveLink('a', 'b', lookup)).toEqual({ kind: 'outside', through: { path: 'b', target: '/etc/passwd' } });
    expect(await resolveLink('a', 'c', lookup)).toEqual({ kind: 'inside' });
    expect(await resolveLink('a', 'c/x/../..', lookup)).toEqual({ kind: 'inside' });
    expect(await resolveLink('a', 'c/../..', lookup)).toEqual({ kind: 'outside', through: { path: 'd', target: 'docs' } });
    expect(await resolveLink('a', 'up', lookup)).toEqual({ kind: 'outside', through: { path: 'up', target: '../..' } });
  });
  it('goes up from where a folder link points, not from where it sits', async () => {
    // sub/deep/top -> ../.. is the worktree's root: one more ".." leaves it, though the text stays inside.
    const lookup = tree(['sub', 'sub/deep', 'sub/x'], { 'sub/deep/top': '../..', 'sub/in': 'deep' });
    expect(await resolveLink('pw', 'sub/deep/top/../etc/passwd', lookup)).toEqual({
      kind: 'outside',
      through: { path: 'sub/deep/top', target: '../..' },
    });
    expect(await resolveLink('ok', 'sub/deep/top/README.md', lookup)).toEqual({ kind: 'inside' });
    expect(await resolveLink('ok', 'sub/in/../x', lookup)).toEqual({ kind: 'inside' });
    // A link in a folder reached through a link resolves from that real folder.
    expect(await resolveLink('sub/in/l', '../../..', lookup)).toEqual({ kind: 'outside', through: { path: 'sub/in', target: 'deep' } });
  });
  it('refuses loops; a missing or non-folder component ends the look-ups, not the resolution', async () => {
    expect(await resolveLink('l1', 'l2', tree([], { l1: 'l2', l2: 'l1' }))).toEqual({ kind: 'loop' });
    expect(await resolveLink('self', 'self/x', tree([], { self: 'self/x' }))).toEqual({ kind: 'loop' });
    expect(await resolveLink('l', 'missing/../../x', tree([]))).toEqual({ kind: 'outside' });
    expect(await resolveLink('l', 'README.md/../x', tree([]))).toEqual({ kind: 'inside' });
  });
});

describe('checkRefs', () => {
  const A = 'a'.repeat(40);
  const B = 'b'.repeat(40);
  const move = (
    ref: string,
    before: string | undefined,
    after: string | undefined,
    fastForward = false,
    carriesExecutorWork = false,
  ): RefMove => ({
    ref,
    before,
    after,
    fastForward,
    carriesExecutorWork,
  });
  it('restores a rewound base and a deleted branch, leaves created refs and fast-forwards', () => {
    const findings = checkRefs(
      [
        move('refs/heads/main', A, B),
        move('refs/heads/feature', A, undefined),
        move('refs/tags/v1', undefined, A),
        move('refs/heads/other', A, B, true),
      ],
      'main',
    );
    expect(findings.map((f) => [f.message, f.restore])).toEqual([
      ['refs: the executor moved main from aaaaaaa to bbbbbbb', true],
      ['refs: the executor deleted feature', true],
      ['refs: the executor created tag v1', false],
      ['refs: the executor moved other from aaaaaaa to bbbbbbb', false],
    ]);
  });
  it("allows base to move forward with other work (a landing, the user), not with the executor's commits", () => {
    expect(checkRefs([move('refs/heads/main', A, B, true, false)], 'main')).toEqual([]);
    expect(checkRefs([move('refs/heads/main', A, B, true, true)], 'main').map((f) => f.message)).toEqual([
      'refs: the executor moved main from aaaaaaa to bbbbbbb',
    ]);
  });
});
