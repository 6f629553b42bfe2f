import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { fetchBase, openGit, type Git } from '../git/git.js';
import { readIdentity } from '../git/identity.js';
import { pushWithLease } from '../git/publish.js';
import type { Paths } from '../paths.js';

/** Pushes that lost to another planner's push before this one gives up. */
const ROUNDS = 5;

export type PushTaskResult = { kind: 'pushed'; commit: string } | { kind: 'taken' } | { kind: 'failed'; message: string };

/**
 * `add --push`: commits one new task file on top of the remote's base and pushes it with a lease, without
 * touching the user's branch, index or other files (a temporary index holds the commit's tree). `taken`:
 * the remote already has a task file of that name (another planner numbered theirs the same).
 */
export async function pushTaskFile(paths: Paths, remote: string, base: string, file: string): Promise<PushTaskResult> {
  const repo = openGit(paths.root);
  const identity = await readIdentity(repo);
  const index = join(paths.state, `add-index-${process.pid}-${randomBytes(4).toString('hex')}`);
  const git: Git = openGit(paths.root, { identity, env: { GIT_INDEX_FILE: index } });
  const path = relative(paths.root, file).split('\\').join('/');
  await mkdir(paths.state, { recursive: true });
  try {
    const blob = (await git.raw(['hash-object', '-w', '--', file])).trim();
    let message = '';
    for (let round = 0; round < ROUNDS; round++) {
      const fetched = await fetchBase(git, remote, base);
      if (fetched.kind === 'failed') return { kind: 'failed', message: fetched.message };
      if (fetched.kind === 'missing') return { kind: 'failed', message: `${remote} has no branch ${base}` };
      const onto = fetched.commit;
      if ((await git.status(['cat-file', '-e', `${onto}:${path}`])).code === 0) return { kind: 'taken' };
      await git.raw(['read-tree', onto]);
      await git.raw(['update-index', '--add', '--cacheinfo', `100644,${blob},${path}`]);
      const tree = (await git.raw(['write-tree'])).trim();
      const commit = (await git.raw(['commit-tree', tree, '-p', onto, '-m', `nightshift: add task ${basename(path, '.md')}`])).trim();
      const pushed = await pushWithLease(git, remote, base, commit, onto);
      if (pushed.kind === 'pushed') return { kind: 'pushed', commit };
      if (pushed.kind === 'failed') return { kind: 'failed', message: pushed.message };
      message = `${remote}/${base} kept moving`;
    }
    return { kind: 'failed', message };
  } finally {
    await rm(index, { force: true });
  }
}
