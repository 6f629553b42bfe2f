import { headCommit, type Git } from './git.js';

/**
 * Diffs nightshift reads whole. No external diff driver and no textconv, whatever the config or
 * .gitattributes say: the executor can write both, and a diff shown to a reviewer must be the bytes
 * that are committed, not what a command of the executor's choice makes of them.
 */

/** The staged change against `base` as a patch (what a reviewer reads). */
export async function stagedPatch(wt: Git, base: string): Promise<string> {
  return wt.raw(['diff', '--cached', '--no-color', '--no-ext-diff', '--no-textconv', base, '--']);
}

/** Paths that differ between two commits (renames as a deletion and an addition), NUL-split. */
export async function pathsChangedBetween(git: Git, from: string, to: string): Promise<string[]> {
  const out = await git.raw(['diff', '--name-only', '--no-renames', '-z', from, to, '--']);
  return out.split('\0').filter(Boolean);
}

/**
 * The index as a tree and HEAD, as one string: a step that edits the index or commits changes it.
 * write-tree stores the tree object, which a commit of that index would store anyway.
 */
export async function indexAndHead(wt: Git): Promise<string> {
  return `${(await wt.raw(['write-tree'])).trim()} ${await headCommit(wt)}`;
}

/** The staged change's `--raw -z` records alone (blob ids and paths: no content is read, no driver runs). */
export async function stagedRawRecords(wt: Git, base: string): Promise<string> {
  return wt.raw(['diff', '--cached', '--raw', '-z', '-M', '--no-abbrev', '--no-ext-diff', '--no-textconv', base, '--']);
}

/**
 * What a task's branch changed: `base` to `tip` as a patch, for people to read (the dashboard). Both are
 * full commit ids the caller checked; no driver or textconv runs, as above.
 */
export async function commitRangePatch(git: Git, base: string, tip: string): Promise<string> {
  return git.raw(['diff', '--no-color', '--no-ext-diff', '--no-textconv', '--end-of-options', base, tip, '--']);
}
