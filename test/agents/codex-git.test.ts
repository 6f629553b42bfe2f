import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, type TestContext } from 'vitest';
import { cleanUpAfterTest } from '../helpers/cleanup.js';
import { codexTestProviderArgs, pathWithAgents } from '../helpers/agentRun.js';
import { startModelServer } from '../helpers/modelServer.js';
import { progressEvents, taskText } from '../helpers/repo.js';
import { readTask } from '../helpers/task.js';

/**
 * What agents do all the time: the real Codex CLI (the pinned devDependency), driven by the scripted
 * model server, deletes a file with `git rm` and renames another with `git mv` through its own shell
 * tool. Both already sit in the worktree's index when nightshift stages the change; the task is done
 * with the deletion and the rename in its commit.
 */

const FILES = { 'notes/old.txt': 'no longer needed\n', 'src/from.txt': 'keep me, under a new name\n' };
// The project's own test: the old file is gone, the renamed one is there with its content.
const TEST = 'test ! -e notes/old.txt && test ! -e src/from.txt && grep -q "keep me" src/to.txt';

async function setup(t: TestContext) {
  const left = cleanUpAfterTest(t);
  const server = await startModelServer([
    { kind: 'shell', command: 'git rm -q notes/old.txt && git mv src/from.txt src/to.txt && git status --short' },
    { kind: 'final', text: 'Removed notes/old.txt and renamed src/from.txt to src/to.txt.' },
  ]);
  left.defer(() => server.close());
  const sb = await left.sandbox({ files: FILES });
  // Codex's own sandbox (workspace-write) leaves every folder but the worktree and /tmp read-only, and a
  // linked worktree keeps its index in the repository's .git/worktrees/<slot>/: in its sandbox `git rm`
  // fails ("Unable to create .../index.lock: Read-only file system") before nightshift sees anything.
  // So its own sandbox is off here, as users whose kernel refuses it run Codex; where bubblewrap works,
  // nightshift's sandbox (which binds that folder writable) is around it anyway.
  const args = [...codexTestProviderArgs(server.url), '--dangerously-bypass-approvals-and-sandbox'];
  await sb.write(
    'rules.md',
    `---\nexecutor: codex\ntest: '${TEST}'\nmax_attempts: 1\npush: branch\nexecutors:\n  codex:\n    args: ${JSON.stringify(args)}\n---\nBe brief.\n`,
  );
  await sb.git(['add', 'rules.md']);
  await sb.git(['commit', '-q', '-m', 'rules']);
  const codexHome = join(sb.dir, 'codex-home');
  await mkdir(codexHome);
  const env: NodeJS.ProcessEnv = { PATH: pathWithAgents(), CODEX_HOME: codexHome, NIGHTSHIFT_TEST_MODEL_KEY: 'sk-test-not-a-secret' };
  return { sb, server, env };
}

describe('executor: codex, the real CLI running git rm and git mv with its shell tool', () => {
  it('the task is done, with the deletion and the rename in its commit, and the checkout untouched', async (t) => {
    const { sb, server, env } = await setup(t);
    const head = await sb.git(['rev-parse', 'HEAD']);
    await sb.write(
      'tasks/001-tidy.md',
      taskText({ title: 'Tidy up' }, '# Goal\n\nDelete notes/old.txt with git rm; rename src/from.txt to src/to.txt with git mv.\n'),
    );

    const r = await sb.cli(['daemon', 'start', '--once'], { env });
    const { fm } = await readTask(sb, '001-tidy');
    expect({ code: r.code, stderr: r.stderr, status: fm.status, error: fm.error }).toEqual({
      code: 0,
      stderr: '',
      status: 'done',
      error: undefined,
    });
    expect(fm).toMatchObject({ attempts: 1, branch: 'nightshift/001-tidy' });

    // Codex really ran the command, and it succeeded: its result went back to the model with exit 0.
    const calls = server.modelRequests();
    expect(calls).toHaveLength(2);
    const toolResult = JSON.stringify(calls[1]?.body);
    expect(toolResult).toContain('"call_id":"call_0"');
    expect(toolResult).toMatch(/Process exited with code 0/);
    expect(toolResult).toContain('D  notes/old.txt');
    expect(toolResult).toContain('R  src/from.txt -> src/to.txt');

    // The commit: exactly the deletion and the rename, on the task's branch, from the base, pushed.
    const commit = String(fm.commit);
    expect(await sb.git(['show', '--format=', '--name-status', '-M', commit])).toBe('D\tnotes/old.txt\nR100\tsrc/from.txt\tsrc/to.txt\n');
    expect((await sb.git(['rev-parse', `${commit}^`])).trim()).toBe(head.trim());
    expect((await sb.git(['rev-parse', 'nightshift/001-tidy'])).trim()).toBe(commit);
    expect((await sb.git(['--git-dir', sb.remote, 'rev-parse', 'nightshift/001-tidy'])).trim()).toBe(commit);
    expect(await sb.git(['show', `${commit}:src/to.txt`])).toBe(FILES['src/from.txt']);
    const done = progressEvents(await sb.read('progress.txt')).filter((e) => e.event === 'done');
    expect(done.map((e) => e.id)).toEqual(['001-tidy']);

    // The user's checkout: still on main at its commit, both files where they were, nothing staged.
    expect((await sb.git(['rev-parse', 'HEAD'])).trim()).toBe(head.trim());
    expect(await sb.git(['status', '--porcelain', '--untracked-files=all'])).toBe('?? tasks/001-tidy.md\n');
    expect(await sb.read('notes/old.txt')).toBe(FILES['notes/old.txt']);
    expect(await sb.read('src/from.txt')).toBe(FILES['src/from.txt']);
  });
});
