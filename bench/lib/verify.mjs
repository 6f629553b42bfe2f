import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BenchError } from './proc.mjs';

/**
 * A figure only counts if nightshift really did the work: every task `done` in its file, and (when pushed)
 * its branch on the remote. A fast wrong result must fail the bench, never become a number.
 */
export async function verifyDone(sb, taskIds, { pushed, phase }) {
  const notDone = [];
  for (const id of taskIds) {
    const text = readFileSync(join(sb.repo, 'tasks', `${id}.md`), 'utf8');
    if (!/^status: done$/m.test(text)) notDone.push(`${id} (${/^status: (.*)$/m.exec(text)?.[1] ?? 'no status'}${errorOf(text)})`);
  }
  if (notDone.length > 0) {
    throw new BenchError(
      `${phase}: ${notDone.length} of ${taskIds.length} tasks are not done: ${notDone.slice(0, 5).join(', ')}${notDone.length > 5 ? ', ...' : ''}`,
    );
  }
  if (pushed) await verifyBranches(sb, taskIds, { prefix: 'nightshift', phase });
}

/** Every `<prefix>/<id>` branch exists on the remote with a commit on top of main. */
export async function verifyBranches(sb, taskIds, { prefix, phase }) {
  const refs = await sb.git(['for-each-ref', '--format=%(refname)', `refs/heads/${prefix}/`], sb.remote);
  const have = new Set(refs.split('\n').filter(Boolean));
  const missing = taskIds.filter((id) => !have.has(`refs/heads/${prefix}/${id}`));
  if (missing.length > 0) throw new BenchError(`${phase}: ${missing.length} branches missing on the remote, e.g. ${prefix}/${missing[0]}`);
}

/** Done tasks are moved away between runs, as a user would, so each run scans the same queue. */
export function removeTaskFiles(sb, taskIds) {
  for (const id of taskIds) rmSync(join(sb.repo, 'tasks', `${id}.md`), { force: true });
}

function errorOf(text) {
  const m = /^error: (.*)$/m.exec(text);
  return m ? `: ${m[1]}` : '';
}
