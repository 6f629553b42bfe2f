import { openGit } from './git.js';

/**
 * Scratch repositories for `nightshift demo`: a bare remote and a project pushed to it, with an identity
 * of their own so the demo never depends on (or writes) the user's git config.
 */

export async function initBareRepo(dir: string): Promise<void> {
  await openGit(dir).raw(['init', '--quiet', '--bare', '--initial-branch=main']);
}

/** A repository on main in `dir` (its files already written there): one commit of every file, pushed to `remote` as origin. */
export async function initProjectRepo(dir: string, opts: { name: string; email: string; message: string; remote: string }): Promise<void> {
  const git = openGit(dir);
  await git.raw(['init', '--quiet', '--initial-branch=main']);
  await git.raw(['config', 'user.name', opts.name]);
  await git.raw(['config', 'user.email', opts.email]);
  await git.raw(['add', '--all']);
  await git.raw(['commit', '--quiet', '-m', opts.message]);
  await git.raw(['remote', 'add', 'origin', opts.remote]);
  await git.raw(['push', '--quiet', 'origin', 'main']);
}

/** "<short sha> <branch>" per branch of a repository, one a line. */
export async function branchList(dir: string): Promise<string> {
  return openGit(dir).raw(['for-each-ref', '--format=%(objectname:short) %(refname:short)', 'refs/heads/']);
}
