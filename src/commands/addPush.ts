import { rm } from 'node:fs/promises';
import { UsageError, oneLine } from '../errors.js';
import { loadRules } from '../config/rules.js';
import { currentBranch, openGit, remoteExists } from '../git/git.js';
import { pushTaskFile } from '../fleet/pushTask.js';
import type { Paths } from '../paths.js';
import type { Output } from './output.js';

/** `add --push`: the task file just written goes to the remote's base as one commit of its own. */
export async function pushAdded(paths: Paths, id: string, file: string, io: Output): Promise<number> {
  const rules = await loadRules(paths.rules);
  const git = openGit(paths.root);
  const base = rules.base ?? (await currentBranch(git));
  if (!base) throw new UsageError('cannot tell which branch the queue is on: HEAD is detached', 'set base: <branch> in rules.md');
  if (!(await remoteExists(git, rules.remote))) {
    throw new UsageError(
      `--push: there is no remote named "${rules.remote}"`,
      `add it (git remote add ${rules.remote} <url>) or set remote: in rules.md`,
    );
  }
  const pushed = await pushTaskFile(paths, rules.remote, base, file);
  switch (pushed.kind) {
    case 'pushed':
      io.out(`pushed ${id} to ${rules.remote}/${base} (${pushed.commit.slice(0, 7)})\n`);
      return 0;
    case 'taken':
      // Ours is only local: removed, so the next add picks a number the remote does not have.
      await rm(file, { force: true });
      throw new UsageError(
        `${rules.remote}/${base} already has a task file named ${id}.md (another planner added it); nothing pushed`,
        'run nightshift sync to bring the queue here, then add the task again',
      );
    case 'failed':
      io.err(`the task file is written here, but pushing it failed: ${oneLine(pushed.message, 300)}\n`);
      return 1;
    default: {
      const never: never = pushed;
      throw new Error(`unexpected push result ${JSON.stringify(never)}`);
    }
  }
}
