import { execFile } from 'node:child_process';
import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { cleanUpAfterAll } from '../helpers/cleanup.js';
import { progressEvents, taskText, type Sandbox } from '../helpers/repo.js';
import { readTask, taskBranches } from '../helpers/task.js';

const execFileP = promisify(execFile);

/**
 * Executors that change files the way agents do (git rm, git mv, their own commits, mode and type
 * changes) and ones that hide what they add behind odd names and symlinks, all in one --once run. The
 * good ones must be done with exactly their change in one commit on the remote; the bad ones must fail
 * with the guard that caught them, naming the paths (non-UTF-8 bytes shown escaped).
 */
const RULES = `---
push: branch
max_attempts: 1
concurrency: 2
test: "true"
---
`;

/** Shell that makes $B hold one byte that is not UTF-8 (0xff), and $E another (0xfe). */
const BYTES = "B=$(printf '\\377'); E=$(printf '\\376');";
/** Shell that makes `n` changed files with non-UTF-8 names. */
const many = (n: number) => `i=0; while [ $i -lt ${n} ]; do echo $i > "f$B$i"; i=$((i+1)); done;`;

const TASKS: Record<string, Record<string, unknown>> = {
  '001-rm-mv': { title: 'Removes one file and renames another with git', run: 'git rm -q gone.txt && git mv old.txt new.txt' },
  '002-committed-delete': { title: 'Commits a deletion itself', run: 'git rm -q gone.txt && git commit -qm "agent: delete gone.txt"' },
  '003-kinds': {
    title: 'Changes modes and types',
    run: 'chmod +x tool.sh && rm link && echo now-a-file > link && rm plain && ln -s README.md plain && rm swap && mkdir swap && echo x > swap/f',
  },
  '004-chain': { title: 'Links through a chain to /etc/passwd', run: 'ln -s /etc/passwd b && ln -s b a' },
  '005-dir-link': {
    title: 'Links through a directory link out of the tree',
    run: 'mkdir -p sub/deep && ln -s ../.. sub/deep/top && ln -s sub/deep/top/../etc/passwd pw && echo x >> README.md',
  },
  '006-many-odd-names': {
    title: 'Hides a link and a big file among 1100 non-UTF-8 names',
    run: `${BYTES} ${many(1100)} ln -s ../../../../../../../../etc/passwd "l$B" && truncate -s 6M "big$E.bin"`,
  },
  '007-few-odd-names': {
    title: 'Hides a link and a big file among 10 non-UTF-8 names',
    run: `${BYTES} ${many(10)} ln -s /etc/passwd "l$B" && truncate -s 6M "big$E.bin"`,
  },
  '008-odd-markers': {
    title: 'Conflict markers in a non-UTF-8 name',
    run: `${BYTES} printf '<<<<<<< HEAD\\nmine\\n>>>>>>> theirs\\n' > "m$B.txt"`,
  },
  '009-odd-lines': { title: 'Too many lines in a non-UTF-8 name', max_changed_lines: 5, run: `${BYTES} seq 1 20 > "n$B.txt"` },
  '010-odd-good': { title: 'Adds a file whose name is Latin-1', run: `caf=$(printf 'caf\\351'); echo bonjour > "$caf.txt"` },
  '011-hidden-blob': {
    title: 'Stages a 7 MB blob under a small file and hides it from git add',
    run: 'truncate -s 7M huge && b=$(git hash-object -w huge) && rm huge && echo small > x.txt && git update-index --add --cacheinfo "100644,$b,x.txt" && git update-index --assume-unchanged x.txt',
  },
};

const EXPECTED_ERRORS: Record<string, string> = {
  '004-chain': 'guard failed: symlinks: pointing outside the worktree: a -> b (through b -> /etc/passwd), b -> /etc/passwd',
  '005-dir-link': 'guard failed: symlinks: pointing outside the worktree: pw -> sub/deep/top/../etc/passwd (through sub/deep/top -> ../..)',
  '006-many-odd-names':
    'guard failed: max_file_size: files over 5 MB: "big\\xfe.bin" (6 MB); symlinks: pointing outside the worktree: "l\\xff" -> ../../../../../../../../etc/passwd',
  '007-few-odd-names':
    'guard failed: max_file_size: files over 5 MB: "big\\xfe.bin" (6 MB); symlinks: pointing outside the worktree: "l\\xff" -> /etc/passwd',
  '008-odd-markers': 'guard failed: conflict markers: unresolved <<<<<<< / >>>>>>> lines in "m\\xff.txt"',
  '009-odd-lines':
    'guard failed: max_changed_lines: the change adds and removes 20 lines, more than 5; split the task or make a smaller change',
};

/** `git show --name-status` of a commit as "STATUS path" lines, names as git prints them with -z. */
async function nameStatus(sb: Sandbox, commit: string, cwd = sb.remote): Promise<string[]> {
  const fields = (await sb.git(['show', '-z', '--format=', '--name-status', '--no-renames', commit], cwd)).split('\0').filter(Boolean);
  const lines: string[] = [];
  for (let i = 0; i < fields.length; i += 2) lines.push(`${fields[i]} ${fields[i + 1]}`);
  return lines.sort();
}

describe('agents changing files the usual ways, and hiding things behind odd names and links', () => {
  const left = cleanUpAfterAll();
  let sb: Sandbox;
  let run: { code: number; stdout: string; stderr: string };
  let mainBefore: string;

  beforeAll(async () => {
    sb = await left.sandbox({
      rules: RULES,
      files: { 'gone.txt': 'g\n', 'old.txt': 'o\n', 'tool.sh': 'echo tool\n', plain: 'plain\n', swap: 'a file for now\n' },
    });
    // A committed symlink, for the task that turns it into a file.
    await symlink('README.md', join(sb.repo, 'link'));
    await sb.git(['add', 'link']);
    await sb.git(['commit', '-qm', 'a link']);
    await sb.git(['push', '-q', 'origin', 'main']);
    mainBefore = (await sb.git(['rev-parse', 'main'])).trim();
    for (const [id, fields] of Object.entries(TASKS)) await sb.write(`tasks/${id}.md`, taskText(fields));
    run = await sb.cli(['daemon', 'start', '--once'], { timeoutMs: 120_000 });
  }, 150_000);

  it('does the good tasks and fails the others, each with the guard that caught it', async () => {
    const outcome: Record<string, unknown> = {};
    for (const id of Object.keys(TASKS)) {
      const { fm } = await readTask(sb, id);
      outcome[id] = fm.status === 'done' ? 'done' : fm.error;
    }
    expect(outcome).toEqual({
      '001-rm-mv': 'done',
      '002-committed-delete': 'done',
      '003-kinds': 'done',
      ...EXPECTED_ERRORS,
      '010-odd-good': 'done',
      '011-hidden-blob': 'done',
    });
    expect(run.stdout).toContain(`nightshift: 5 done, ${Object.keys(EXPECTED_ERRORS).length} failed, 0 blocked`);
    expect(run.code).toBe(1);
  });

  it("pushes git rm and git mv in the task's one commit", async () => {
    const { fm } = await readTask(sb, '001-rm-mv');
    const remote = await taskBranches(sb, '001-rm-mv');
    expect(remote.remote).toBe(fm.commit);
    expect(await nameStatus(sb, String(fm.commit))).toEqual(['A new.txt', 'D gone.txt', 'D old.txt']);
    expect((await sb.git(['log', '--format=%s', `main..${String(fm.commit)}`], sb.remote)).trim()).toBe(
      'Removes one file and renames another with git',
    );
  });

  it("folds a committed deletion into nightshift's commit", async () => {
    const { fm } = await readTask(sb, '002-committed-delete');
    expect((await taskBranches(sb, '002-committed-delete')).remote).toBe(fm.commit);
    expect(await nameStatus(sb, String(fm.commit))).toEqual(['D gone.txt']);
    // One commit, nightshift's: the executor's own was folded into it.
    expect((await sb.git(['log', '--format=%s', `main..${String(fm.commit)}`], sb.remote)).trim()).toBe('Commits a deletion itself');
  });

  it('stages mode changes and file, symlink and folder swaps', async () => {
    const { fm } = await readTask(sb, '003-kinds');
    const tree = await sb.git(['ls-tree', '-r', String(fm.commit)], sb.remote);
    const modes: Record<string, string | undefined> = Object.fromEntries(
      tree
        .trim()
        .split('\n')
        .map((l): [string, string | undefined] => {
          const [meta = '', path = ''] = l.split('\t');
          return [path, meta.split(' ')[0]];
        }),
    );
    expect(modes).toMatchObject({ 'tool.sh': '100755', link: '100644', plain: '120000', 'swap/f': '100644' });
    expect(modes.swap).toBeUndefined();
  });

  it('commits a non-UTF-8 name byte for byte', async () => {
    const { fm } = await readTask(sb, '010-odd-good');
    const { stdout } = await execFileP('git', ['show', '-z', '--format=', '--name-status', String(fm.commit)], {
      cwd: sb.remote,
      encoding: 'buffer',
    });
    expect(stdout.toString('latin1')).toBe('A\0caf\xe9.txt\0');
  });

  it('commits what is in the worktree, not a blob the executor put in the index and hid', async () => {
    const { fm } = await readTask(sb, '011-hidden-blob');
    expect(await sb.git(['show', `${String(fm.commit)}:x.txt`], sb.remote)).toBe('small\n');
    expect(await nameStatus(sb, String(fm.commit))).toEqual(['A x.txt']);
  });

  it('lets nothing of the failed tasks reach the remote, and logs one run each', async () => {
    for (const id of Object.keys(EXPECTED_ERRORS)) expect(await taskBranches(sb, id)).toEqual({ local: undefined, remote: undefined });
    const events = progressEvents(await sb.read('progress.txt'));
    const started = events
      .filter((e) => e.event === 'attempt-started')
      .map((e) => e.id)
      .sort();
    expect(started).toEqual(Object.keys(TASKS).sort());
    // The 6 MB files were refused before staging: never hashed into the object store.
    const sixMb = join(sb.dir, 'six-mb');
    await execFileP('truncate', ['-s', '6M', sixMb]);
    const blob = (await sb.git(['hash-object', '--', sixMb])).trim();
    await expect(sb.git(['cat-file', '-e', blob])).rejects.toThrow();
  });

  it("leaves the user's checkout and base alone", async () => {
    expect((await sb.git(['rev-parse', 'main'])).trim()).toBe(mainBefore);
    expect((await sb.git(['rev-parse', 'main'], sb.remote)).trim()).toBe(mainBefore);
    expect(await sb.git(['status', '--porcelain', '--untracked-files=normal'])).toBe('?? tasks/\n');
  });
});
