import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { chmod, mkdir, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { openGit } from '../../src/git/git.js';
import { stageAll } from '../../src/git/stage.js';
import { decodePath } from '../../src/util/bytePaths.js';
import { changeFacts, parseRawAndNumstat, refMoves, restoreRef, readWorktree, snapshotRefs } from '../../src/git/inspect.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import type { Sandbox } from '../helpers/repo.js';

const execFileP = promisify(execFile);

/** The git/fs layer under the guards, against real repositories. */
const left = cleanUpAfterEach();

async function repo(files: Record<string, string>): Promise<{ sb: Sandbox; base: string }> {
  const sb = await left.sandbox({ files });
  return { sb, base: (await sb.git(['rev-parse', 'HEAD'])).trim() };
}

describe('changeFacts', () => {
  it('reads renames, modes, line counts, added conflict markers and test file counts from the index', async () => {
    const { sb, base } = await repo({
      'test/a.test.ts': 'one\ntwo\nthree\n',
      'test/b.test.ts': 'b\n',
      'docs/merge.md': 'how a conflict looks:\n<<<<<<< HEAD\n',
      'src/x.ts': 'x\n',
    });
    await sb.git(['mv', 'test/a.test.ts', 'test/renamed.test.ts']);
    await sb.git(['rm', '-q', 'test/b.test.ts']);
    await sb.write('docs/merge.md', 'how a conflict looks:\n<<<<<<< HEAD\nmore text\n');
    await sb.write('src/x.ts', 'x\n<<<<<<< ours\ny\n=======\nz\n>>>>>>> theirs\n');
    await sb.write('bin.dat', Buffer.from([0, 1, 2, 3, 0, 255]));
    // Too big to read here: git searches it. A symlink is never followed, whatever it points at.
    await sb.write('big.txt', `${'filler line\n'.repeat(100_000)}>>>>>>> theirs\n`);
    await symlink(join(sb.repo, 'src/x.ts'), join(sb.repo, 'link'));
    // A path that reads as a glob only ever means itself.
    await sb.write('docs/*.md', 'no markers here\n');
    await sb.git(['add', '--all']);
    const facts = await changeFacts(openGit(sb.repo), base, ['test/**']);
    expect(facts.changes).toEqual(
      expect.arrayContaining([
        { status: 'R', from: 'test/a.test.ts', path: 'test/renamed.test.ts', mode: '100644' },
        { status: 'D', path: 'test/b.test.ts', mode: undefined },
        { status: 'A', path: 'bin.dat', mode: '100644' },
      ]),
    );
    // src/x.ts +5, docs/merge.md +1, test/b.test.ts -1, big.txt +100001, docs/*.md +1, the link +1; the
    // binary file does not count.
    expect(facts.changedLines).toBe(100_010);
    // The marker already in docs/merge.md is not this change's: only what the change adds is read.
    expect(Object.keys(facts.addedLines).sort()).toEqual(['big.txt', 'docs/merge.md', 'src/x.ts']);
    expect(facts.addedLines['docs/merge.md']).toEqual(['more text']);
    expect(facts.addedLines['big.txt']).toHaveLength(100_001);
    expect(facts.addedLines['src/x.ts']).toEqual(['<<<<<<< ours', 'y', '=======', 'z', '>>>>>>> theirs']);
    expect(facts.testFiles).toEqual({ before: 2, after: 1 });
  });
});

describe('parseRawAndNumstat', () => {
  it('splits the raw records from the numstat ones, renames and odd names included', () => {
    const z = (...fields: string[]) => `${fields.join('\0')}\0`;
    const out = z(
      ':100644 100644 aaa bbb R085',
      'a.txt',
      ':odd.txt',
      ':000000 100644 000 ccc A',
      'bin.dat',
      ':100644 100644 ddd eee M',
      '9\tnine.txt',
      '1\t0\t',
      'a.txt',
      ':odd.txt',
      '-\t-\tbin.dat',
      '2\t3\t9\tnine.txt',
    );
    expect(parseRawAndNumstat(out)).toEqual({
      changes: [
        { status: 'R', from: 'a.txt', path: ':odd.txt', mode: '100644' },
        { status: 'A', path: 'bin.dat', mode: '100644' },
        { status: 'M', path: '9\tnine.txt', mode: '100644' },
      ],
      changedLines: 6,
      blobs: new Map([
        [':odd.txt', { before: 'aaa', after: 'bbb' }],
        ['bin.dat', { before: '000', after: 'ccc' }],
        ['9\tnine.txt', { before: 'ddd', after: 'eee' }],
      ]),
    });
    expect(parseRawAndNumstat('')).toEqual({ changes: [], changedLines: 0, blobs: new Map() });
  });
});

describe('readWorktree', () => {
  it('lists what differs from base without staging it: sizes, symlinks, nested repositories, deletions', async () => {
    const { sb } = await repo({ 'gone.txt': 'g\n', 'kept.txt': 'k\n' });
    await rm(join(sb.repo, 'gone.txt'));
    await writeFile(join(sb.repo, 'big.bin'), '');
    await truncate(join(sb.repo, 'big.bin'), 6 * 1024 * 1024);
    await symlink('/etc/hostname', join(sb.repo, 'link'));
    await mkdir(join(sb.repo, 'nested'));
    await sb.git(['init', '-q'], join(sb.repo, 'nested'));
    await writeFile(join(sb.repo, 'nested', 'f'), 'x\n');
    // A tracked file turned into a repository of its own.
    await rm(join(sb.repo, 'kept.txt'));
    await sb.git(['init', '-q', 'kept.txt']);
    await writeFile(join(sb.repo, 'kept.txt', 'f'), 'x\n');
    const { entries } = await readWorktree(openGit(sb.repo));
    expect(entries.sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { path: 'big.bin', kind: 'file', size: 6 * 1024 * 1024 },
      { path: 'gone.txt', kind: 'missing' },
      { path: 'kept.txt', kind: 'repository' },
      { path: 'link', kind: 'symlink', target: '/etc/hostname', resolved: { kind: 'outside' } },
      { path: 'nested', kind: 'repository' },
    ]);
    // Nothing was hashed into the object store.
    expect(
      (await sb.git(['status', '--porcelain']))
        .split('\n')
        .filter(Boolean)
        .every((l) => l.startsWith(' D') || l.startsWith('??')),
    ).toBe(true);
  });
});

/** A name with bytes that are not UTF-8, as bytes (for the file system) and as nightshift holds it. */
const ODD = Buffer.from([0x6f, 0x64, 0x64, 0xff, 0x2e, 0x74, 0x78, 0x74]); // "odd\xff.txt"
const odd = decodePath(ODD);

/** `git diff --cached --name-status -z` against base, names kept byte for byte (as decodePath strings). */
async function staged(sb: Sandbox, base: string): Promise<string[]> {
  const { stdout } = await execFileP('git', ['diff', '--cached', '--name-status', '--no-renames', '-z', base], {
    cwd: sb.repo,
    encoding: 'buffer',
  });
  const fields = decodePath(stdout).split('\0').filter(Boolean);
  const lines: string[] = [];
  for (let i = 0; i < fields.length; i += 2) lines.push(`${fields[i]} ${fields[i + 1]}`);
  return lines.sort();
}

describe('readWorktree and stageAll', () => {
  it('stage every kind of change: git rm, git mv, deletions, modes, type swaps, odd names', async () => {
    const { sb, base } = await repo({
      'rm.txt': 'r\n',
      'old.txt': 'o\n',
      'del.txt': 'd\n',
      'tool.sh': 'echo\n',
      swap: 's\n',
      'dir/f': 'f\n',
      'kept.txt': 'k\n',
    });
    await sb.git(['rm', '-q', 'rm.txt']);
    await sb.git(['mv', 'old.txt', 'new.txt']);
    await rm(join(sb.repo, 'del.txt'));
    await chmod(join(sb.repo, 'tool.sh'), 0o755);
    await rm(join(sb.repo, 'swap'));
    await symlink('kept.txt', join(sb.repo, 'swap'));
    await rm(join(sb.repo, 'dir'), { recursive: true });
    await writeFile(join(sb.repo, 'dir'), 'a file now\n');
    await writeFile(Buffer.concat([Buffer.from(`${sb.repo}/`), ODD]), 'odd\n');
    const git = openGit(sb.repo);
    const { entries, staging } = await readWorktree(git);
    // The staged deletions (rm.txt, old.txt) are not listed: git add would refuse a path that is nowhere.
    expect(entries.sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { path: 'del.txt', kind: 'missing' },
      { path: 'dir', kind: 'file', size: 11 },
      { path: 'dir/f', kind: 'missing' },
      { path: 'new.txt', kind: 'file', size: 2 },
      { path: odd, kind: 'file', size: 4 },
      { path: 'swap', kind: 'symlink', target: 'kept.txt', resolved: { kind: 'inside' } },
      { path: 'tool.sh', kind: 'file', size: 5 },
    ]);
    // new.txt was staged by git mv: its entry is the executor's, so it goes before the file is added anew.
    expect({ update: staging.update.sort(), remove: staging.remove.sort() }).toEqual({
      update: ['dir', 'new.txt', odd, 'swap', 'tool.sh'].sort(),
      remove: ['del.txt', 'dir/f', 'new.txt'],
    });
    await stageAll(git, staging);
    expect(await staged(sb, base)).toEqual([
      'A dir',
      'A new.txt',
      `A ${odd}`,
      'D del.txt',
      'D dir/f',
      'D old.txt',
      'D rm.txt',
      'M tool.sh',
      'T swap',
    ]);
    expect((await sb.git(['ls-files', '-s', 'tool.sh'])).split(' ')[0]).toBe('100755');
  });

  it('stages a committed deletion folded back onto base, and a folder where a file was', async () => {
    const { sb, base } = await repo({ 'gone.txt': 'g\n', 'was-file': 'w\n' });
    await sb.git(['rm', '-q', 'gone.txt']);
    await sb.git(['commit', '-qm', 'agent: delete']);
    await sb.git(['reset', '-q', '--soft', base]);
    await rm(join(sb.repo, 'was-file'));
    await mkdir(join(sb.repo, 'was-file'));
    await writeFile(join(sb.repo, 'was-file', 'inner'), 'i\n');
    const git = openGit(sb.repo);
    const { entries, staging } = await readWorktree(git);
    expect(entries.sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { path: 'was-file', kind: 'missing' },
      { path: 'was-file/inner', kind: 'file', size: 2 },
    ]);
    await stageAll(git, staging);
    expect(await staged(sb, base)).toEqual(['A was-file/inner', 'D gone.txt', 'D was-file']);
  });

  it('stages more paths than a command line holds in one call, with nothing left out and nothing else added', async () => {
    const { sb, base } = await repo({ 'a.txt': 'a\n' });
    // Above 1000 paths an earlier version fell back to `git add --all`, after lstat had missed these names.
    for (let i = 0; i < 1100; i++) writeFileSync(Buffer.concat([Buffer.from(`${sb.repo}/`), ODD, Buffer.from(String(i))]), `${i}\n`);
    const git = openGit(sb.repo);
    const { entries, staging } = await readWorktree(git);
    expect(entries).toHaveLength(1100);
    expect(entries.every((e) => e.kind === 'file' && e.path.startsWith(odd))).toBe(true);
    // A file written after the status walk is not among the checked paths, so it is not staged.
    await writeFile(join(sb.repo, 'late.txt'), 'late\n');
    await stageAll(git, staging);
    const lines = await staged(sb, base);
    expect(lines).toHaveLength(1100);
    expect(lines).not.toContain('A late.txt');
  });

  it('resolves symlinks through chains and folder links, by their bytes', async () => {
    const { sb } = await repo({ 'sub/deep/x': 'x\n' });
    await symlink('/etc/passwd', join(sb.repo, 'b'));
    await symlink('b', join(sb.repo, 'a'));
    await symlink('../..', join(sb.repo, 'sub/deep/top'));
    await symlink('sub/deep/top/../etc/passwd', join(sb.repo, 'pw'));
    await symlink(Buffer.concat([Buffer.from('sub/deep/'), ODD]), Buffer.concat([Buffer.from(`${sb.repo}/`), ODD]));
    await symlink('sub/deep/top/sub/deep/x', join(sb.repo, 'fine'));
    const { entries } = await readWorktree(openGit(sb.repo));
    const byPath = Object.fromEntries(entries.map((e) => [e.path, e.kind === 'symlink' ? [e.target, e.resolved] : e.kind]));
    expect(byPath).toEqual({
      a: ['b', { kind: 'outside', through: { path: 'b', target: '/etc/passwd' } }],
      b: ['/etc/passwd', { kind: 'outside' }],
      pw: ['sub/deep/top/../etc/passwd', { kind: 'outside', through: { path: 'sub/deep/top', target: '../..' } }],
      'sub/deep/top': ['../..', { kind: 'inside' }],
      [odd]: [`sub/deep/${odd}`, { kind: 'inside' }],
      fine: ['sub/deep/top/sub/deep/x', { kind: 'inside' }],
    });
  });
});

describe('changeFacts on names that are not UTF-8', () => {
  it('reads their markers, lines and test files like any other', async () => {
    const { sb, base } = await repo({ 'test/a.test.ts': 'a\n' });
    await writeFile(Buffer.concat([Buffer.from(`${sb.repo}/`), ODD]), '<<<<<<< HEAD\nmine\n>>>>>>> theirs\n');
    await writeFile(Buffer.concat([Buffer.from(`${sb.repo}/test/`), ODD]), 'one\ntwo\n');
    await sb.git(['add', '--all']);
    const facts = await changeFacts(openGit(sb.repo), base, ['test/**']);
    expect(facts.changes.sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { status: 'A', path: odd, mode: '100644' },
      { status: 'A', path: `test/${odd}`, mode: '100644' },
    ]);
    expect(facts.changedLines).toBe(5);
    expect(facts.addedLines).toEqual({ [odd]: ['<<<<<<< HEAD', 'mine', '>>>>>>> theirs'] });
    expect(facts.testFiles).toEqual({ before: 1, after: 2 });
  });
});

describe('refMoves and restoreRef', () => {
  it("tells fast-forwards from rewinds, spots the executor's commits in a moved ref, and restores only what is unchanged since", async () => {
    const { sb, base } = await repo({ 'a.txt': 'a\n' });
    const git = openGit(sb.repo);
    await sb.git(['branch', 'feature']);
    await sb.git(['tag', 'v1']);
    const before = await snapshotRefs(git);
    // The "executor" commits on a task branch and pushes that onto main; feature is rewound, v1 deleted.
    await sb.git(['checkout', '-q', '-b', 'nightshift/001-x']);
    await sb.write('b.txt', 'b\n');
    await sb.git(['add', 'b.txt']);
    await sb.git(['commit', '-qm', 'executor work']);
    const executorHead = (await sb.git(['rev-parse', 'HEAD'])).trim();
    await sb.git(['update-ref', 'refs/heads/main', executorHead]);
    await sb.git(['update-ref', 'refs/heads/feature', executorHead]);
    await sb.git(['tag', '-d', 'v1']);
    const after = await snapshotRefs(git);
    expect(after.has('refs/heads/nightshift/001-x')).toBe(false);
    const moves = await refMoves(git, before, after, base, executorHead);
    expect(moves.sort((a, b) => a.ref.localeCompare(b.ref))).toEqual([
      { ref: 'refs/heads/feature', before: base, after: executorHead, fastForward: true, carriesExecutorWork: true },
      { ref: 'refs/heads/main', before: base, after: executorHead, fastForward: true, carriesExecutorWork: true },
      { ref: 'refs/tags/v1', before: base, after: undefined, fastForward: false, carriesExecutorWork: false },
    ]);
    const tag = moves.find((m) => m.ref === 'refs/tags/v1');
    const feature = moves.find((m) => m.ref === 'refs/heads/feature');
    expect(await restoreRef(git, tag!)).toBe(true);
    expect((await sb.git(['rev-parse', 'v1'])).trim()).toBe(base);
    // Someone moves feature again before the restore: compare-and-swap refuses to clobber it.
    await sb.git(['update-ref', 'refs/heads/feature', base]);
    expect(await restoreRef(git, feature!)).toBe(false);
    expect((await sb.git(['rev-parse', 'feature'])).trim()).toBe(base);
  });
});
