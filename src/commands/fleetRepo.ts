import { UsageError } from '../errors.js';
import { loadRules, type Rules } from '../config/rules.js';
import { currentBranch, openGit, remoteExists, type Git } from '../git/git.js';
import type { Paths } from '../paths.js';
import { openRepo } from './repo.js';

export interface FleetRepo {
  paths: Paths;
  rules: Rules;
  git: Git;
  base: string;
}

/** The checkout a fleet command (`sync`, `fleet status`) runs in: rules.md must say queue: remote. */
export async function openFleetRepo(cwd: string, verb: string): Promise<FleetRepo> {
  const paths = await openRepo(cwd);
  const rules = await loadRules(paths.rules);
  if (rules.queue.mode !== 'remote') {
    throw new UsageError(
      `${verb} works with the remote queue, and rules.md says queue: local`,
      'set queue: remote in rules.md (see docs/fleet.md)',
    );
  }
  const git = openGit(paths.root);
  const base = rules.base ?? (await currentBranch(git));
  if (!base) throw new UsageError('cannot tell which branch the queue is on: HEAD is detached', 'set base: <branch> in rules.md');
  if (!(await remoteExists(git, rules.remote))) {
    throw new UsageError(
      `rules.md says queue: remote, but there is no remote named "${rules.remote}"`,
      `add it (git remote add ${rules.remote} <url>) or set remote: in rules.md`,
    );
  }
  return { paths, rules, git, base };
}
