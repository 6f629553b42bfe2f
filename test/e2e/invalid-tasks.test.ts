import { lstat, mkdir, readFile, readlink, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cleanUpAfterAll } from '../helpers/cleanup.js';
import { progressEvents, taskText, type CliResult, type Sandbox } from '../helpers/repo.js';

interface Listed {
  id: string;
  file: string;
  status: string;
  title: string | null;
  error: string | null;
}

/** A task that would leave a trace if it ever ran. */
const runnable = (name: string) => taskText({ title: `Should not run: ${name}`, run: `echo ran > ran-${name.replace(/\W/g, '_')}.txt` });

/** The classic billion-laughs document as flow lists: 9^9 "lol"s if expanded, under 1 KB as written. */
function aliasBomb(): string {
  const names = 'abcdefghi';
  const lines = ['title: boom', `a: &a [${Array(9).fill('"lol"').join(', ')}]`];
  for (let i = 1; i < names.length; i++)
    lines.push(
      `${names[i]}: &${names[i]} [${Array(9)
        .fill(`*${names[i - 1]}`)
        .join(', ')}]`,
    );
  return `---\n${lines.join('\n')}\n---\nbody\n`;
}

/** [file in tasks/, content, what the reason must say]. Symlink and folder cases are set up separately. */
const MALFORMED: Array<[string, string | Buffer, RegExp]> = [
  ['010-no-frontmatter.md', '# Just markdown\n\nNo frontmatter here.\n', /^no frontmatter: line 1 must be "---"/],
  ['011-unclosed.md', '---\ntitle: Unclosed\nrun: echo hi > unclosed.txt\n', /^unclosed frontmatter: .*add one/],
  ['012-bad-yaml.md', '---\ntitle: Bad YAML\nfoo: bar: baz\nrun: echo hi\n---\nbody\n', /^invalid YAML in frontmatter at line 3: /],
  ['013-list.md', '---\n- title\n- run\n---\nbody\n', /^the frontmatter is a list, not key: value lines/],
  ['014-no-title.md', '---\nrun: echo hi > no-title.txt\n---\nbody\n', /^missing title: add a line "title: /],
  ['015-empty-title.md', '---\ntitle: "  "\nrun: echo hi > empty-title.txt\n---\nbody\n', /^title is empty/],
  ['016-bad-status.md', '---\ntitle: Bad status\nstatus: finished\n---\nbody\n', /^unknown status "finished": use one of queued, /],
  [
    '017-deps-number.md',
    '---\ntitle: Number deps\ndepends_on: 5\n---\nbody\n',
    /^depends_on must be a list of text, like depends_on: \[001-setup-db\]; got number 5/,
  ],
  ['Bad Name.md', runnable('Bad Name'), /^bad file name: "Bad Name" is not a valid task id/],
  ['-rf.md', runnable('-rf'), /^bad file name: "-rf" is not a valid task id/],
  ['007-dup.md', runnable('007-dup.md'), /^duplicate id "007-dup": 007-dup\.markdown has the same id; rename one of them/],
  ['007-dup.markdown', runnable('007-dup.markdown'), /^duplicate id "007-dup": 007-dup\.md has the same id/],
  ['018-empty.md', '', /^the file is empty/],
  [
    '019-latin1.md',
    Buffer.concat([Buffer.from('---\ntitle: Caf'), Buffer.from([0xe9]), Buffer.from('\n---\nbody\n')]),
    /^the file is not UTF-8 text; save it as UTF-8/,
  ],
  ['020-nul.md', Buffer.from('---\ntitle: nul\n---\n\u0000\u0001binary\n'), /^the file contains NUL bytes/],
  [
    '021-huge.md',
    Buffer.concat([Buffer.from(taskText({ title: 'Huge', run: 'echo hi > huge.txt' })), Buffer.alloc(10 * 1024 * 1024, 'a')]),
    /^the file is 10\.0 MB; task files are limited to 1 MB/,
  ],
  ['022-alias-bomb.md', aliasBomb(), /alias bomb/],
];
const SYMLINK = '030-symlink.md';
const FOLDER = '031-folder.md';
const CRLF =
  '\uFEFF---\r\ntitle: CRLF and BOM\r\n# a comment the user wrote\r\nrun: echo crlf > crlf.txt\r\n---\r\n# Goal\r\n\r\nKeep my CRLF.\r\nNo final newline';

describe('e2e: malformed task files next to valid ones', () => {
  const left = cleanUpAfterAll();
  let sb: Sandbox;
  let before: Map<string, Buffer>;
  let listBefore: Listed[];
  let run: CliResult;

  beforeAll(async () => {
    sb = await left.sandbox();
    await sb.write('tasks/001-ok.md', taskText({ title: 'The valid one', run: 'echo ok > ok.txt' }));
    await sb.write('tasks/002-crlf.md', CRLF);
    for (const [name, content] of MALFORMED) await sb.write(`tasks/${name}`, content);
    await sb.write('outside-task.md', runnable('symlink target'));
    await symlink('../outside-task.md', join(sb.repo, 'tasks', SYMLINK));
    await mkdir(join(sb.repo, 'tasks', FOLDER));
    before = new Map();
    for (const [name] of MALFORMED) before.set(name, await readFile(join(sb.repo, 'tasks', name)));
    before.set('outside-task.md', await readFile(join(sb.repo, 'outside-task.md')));

    const list = await sb.cli(['list', '--json']);
    expect(list.stderr).toBe('');
    expect(list.code).toBe(0);
    listBefore = JSON.parse(list.stdout) as Listed[];
    run = await sb.cli(['daemon', 'start', '--once']);
  });

  const row = (rows: Listed[], name: string): Listed => {
    const found = rows.find((r) => r.file === `tasks/${name}`);
    if (!found) throw new Error(`tasks/${name} is not listed`);
    return found;
  };

  it('list --json shows every malformed file as invalid with a one-line reason saying what is wrong', () => {
    const cases: Array<[string, RegExp]> = [
      ...MALFORMED.map(([name, , reason]): [string, RegExp] => [name, reason]),
      [SYMLINK, /^the task file is a symlink; .*copy the file instead/],
      [FOLDER, /not a regular file/],
    ];
    for (const [name, reason] of cases) {
      const r = row(listBefore, name);
      expect({ name, status: r.status, title: r.title }).toEqual({ name, status: 'invalid', title: null });
      expect(r.error, name).toMatch(reason);
      expect(r.error, name).not.toMatch(/[\r\n]/);
    }
    expect(row(listBefore, 'Bad Name.md').id).toBe('Bad Name');
    expect(listBefore.filter((r) => r.status !== 'invalid').map((r) => `${r.id} ${r.status}`)).toEqual([
      '001-ok queued',
      '002-crlf queued',
    ]);
    expect(listBefore).toHaveLength(MALFORMED.length + 4);
  });

  it('daemon start --once runs the valid tasks and exits 0: invalid files are not failed tasks', async () => {
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('nightshift: 2 done, 0 failed, 0 blocked');
    expect(run.code).toBe(0);
    const after = JSON.parse((await sb.cli(['list', '--json'])).stdout) as Listed[];
    expect(after.filter((r) => r.status !== 'invalid').map((r) => `${r.id} ${r.status}`)).toEqual(['001-ok done', '002-crlf done']);
    expect(after.filter((r) => r.status === 'invalid')).toHaveLength(MALFORMED.length + 2);
    expect(await sb.git(['show', 'nightshift/001-ok:ok.txt'])).toBe('ok\n');
    // Nothing behind an invalid file ran: the only task branches are the two valid ones.
    const branches = (await sb.git(['branch', '--list', '--format=%(refname:short)', 'nightshift/*'])).split('\n').filter(Boolean);
    expect(branches.sort()).toEqual(['nightshift/001-ok', 'nightshift/002-crlf']);
  });

  it('writes one invalid progress line per malformed file, each parseable', async () => {
    const events = progressEvents(await sb.read('progress.txt'));
    const invalid = events.filter((e) => e.event === 'invalid');
    const files = invalid.map((e) => e.fields.file).sort();
    expect(files).toEqual([...MALFORMED.map(([name]) => `tasks/${name}`), `tasks/${SYMLINK}`, `tasks/${FOLDER}`].sort());
    for (const e of invalid) {
      expect(e.fields.reason, e.fields.file).toBeTruthy();
      // The id column is a task id or "-", never a file name with spaces split over two columns.
      expect(e.id).toMatch(/^(-|[a-z0-9][a-z0-9._-]*)$/);
    }
    const bad = invalid.find((e) => e.fields.file === 'tasks/Bad Name.md');
    expect(bad).toMatchObject({ id: '-', fields: { id: 'Bad Name' } });
    expect(
      events
        .filter((e) => e.event === 'done')
        .map((e) => e.id)
        .sort(),
    ).toEqual(['001-ok', '002-crlf']);
  });

  it('leaves every malformed file byte for byte unchanged', async () => {
    for (const [name, bytes] of before) {
      const path = name === 'outside-task.md' ? join(sb.repo, name) : join(sb.repo, 'tasks', name);
      const now = await readFile(path);
      expect(now.equals(bytes), `${name} changed`).toBe(true);
    }
  });

  it('does not follow the symlink: still a link to the same target, the target untouched', async () => {
    const link = join(sb.repo, 'tasks', SYMLINK);
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readlink(link)).toBe('../outside-task.md');
    expect(await sb.read('outside-task.md')).toBe(runnable('symlink target'));
    expect((await lstat(join(sb.repo, 'tasks', FOLDER))).isDirectory()).toBe(true);
  });

  it('keeps the BOM, CRLF endings, the comment and the body of a CRLF task it rewrote', async () => {
    const bytes = await readFile(join(sb.repo, 'tasks/002-crlf.md'));
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.toString('utf8');
    expect(text).toContain('status: done\r\n');
    expect(text).toContain('\r\n# a comment the user wrote\r\n');
    expect(text.replace(/\r\n/g, '')).not.toContain('\n');
    expect(text.endsWith('\r\n---\r\n# Goal\r\n\r\nKeep my CRLF.\r\nNo final newline')).toBe(true);
    expect(text.split('\r\n---\r\n')).toHaveLength(2);
    expect(await sb.git(['show', 'nightshift/002-crlf:crlf.txt'])).toBe('crlf\n');
  });
});
