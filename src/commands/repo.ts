import { UsageError } from '../errors.js';
import { repoRoot } from '../git/git.js';
import { pathsFor, type Paths } from '../paths.js';

/** The repository a command runs in, found from its working directory: where every command starts. */
export async function openRepo(cwd: string): Promise<Paths> {
  const root = await repoRoot(cwd);
  if (!root) throw new UsageError(`${cwd} is not inside a git repository`, 'cd into your project, or run git init first');
  return pathsFor(root);
}
