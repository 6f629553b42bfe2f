import { readFile, writeFile } from 'node:fs/promises';
import type { Git } from './git.js';

/**
 * nightshift's commit, made with plumbing: no hook runs (not even one the executor installed), the parent
 * is exactly the attempt's base_commit whatever HEAD says, and the branch moves only if it still is
 * base_commit. The identity comes from the Git handle (fixed at daemon start), never from the config.
 */

/** The index as a tree: taken right after the guards passed, so the commit is what they checked. */
export async function writeTree(wt: Git): Promise<string> {
  return (await wt.raw(['write-tree'])).trim();
}

export type CommitResult = { kind: 'committed'; commit: string } | { kind: 'moved'; reason: string };

export async function commitOnBranch(
  wt: Git,
  input: { tree: string; parent: string; branch: string; messageFile: string },
): Promise<CommitResult> {
  // What `git commit --cleanup=whitespace` did: commit-tree takes the message as it is.
  await writeFile(input.messageFile, cleanMessage(await readFile(input.messageFile, 'utf8')));
  const commit = (await wt.raw(['commit-tree', input.tree, '-p', input.parent, '-F', input.messageFile])).trim();
  // Compare-and-swap: a branch someone moved since the guards ran is never overwritten.
  const ref = `refs/heads/${input.branch}`;
  const moved = await wt.status(['update-ref', '-m', 'nightshift: commit', ref, commit, input.parent]);
  if (moved.code === 0) return { kind: 'committed', commit };
  const reason = `${input.branch} no longer is base_commit ${input.parent.slice(0, 7)}: something moved it after the guards ran; nothing committed`;
  return { kind: 'moved', reason };
}

/** Trailing whitespace and surrounding blank lines removed, runs of blank lines made one, ends in a newline. */
export function cleanMessage(text: string): string {
  const lines = text.split('\n').map((l) => l.replace(/\s+$/, ''));
  const out: string[] = [];
  for (const line of lines) if (line !== '' || (out.length > 0 && out.at(-1) !== '')) out.push(line);
  while (out.at(-1) === '') out.pop();
  return `${out.join('\n')}\n`;
}
