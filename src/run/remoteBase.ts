import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isAncestor, type Git } from '../git/git.js';
import { remoteTip } from '../git/refs.js';
import type { RunContext } from './context.js';

/** A slow or unreachable remote must not hold the attempt: the check is skipped after this long. */
const LS_REMOTE_TIMEOUT_MS = 20_000;

export interface RemoteBaseWatch {
  /** A guard line when the remote's base moved since the last look, else undefined. Never throws. */
  check(who: string): Promise<string | undefined>;
}

/**
 * Watches the remote's `base` across the executor and the steps after it: an executor that ran `git push
 * origin HEAD:main` published unverified work. It cannot be undone safely (nightshift never force-pushes
 * the user's remote), so the attempt fails and the line says it was left in place. One `git ls-remote`
 * per look; only when nightshift talks to the remote anyway (push: branch or land). With push: land other
 * tasks and clones move base all the time: there only a tip that holds a commit of this attempt's worktree
 * (its HEAD, or any commit its HEAD reflog recorded during the step) counts.
 */
export async function watchRemoteBase(ctx: RunContext, input: { worktree: string; wt: Git; baseCommit: string }): Promise<RemoteBaseWatch> {
  if (ctx.rules.push === 'none') return { check: () => Promise.resolve(undefined) };
  const { remote } = ctx.rules;
  const where = `${remote}/${ctx.base}`;
  const reflog = ctx.rules.push === 'land' ? await headReflog(input.worktree) : undefined;
  const reflogFrom = reflog ? (await readFile(reflog).catch(() => Buffer.alloc(0))).length : 0;
  let last = await remoteTip(ctx.git, remote, ctx.base, LS_REMOTE_TIMEOUT_MS);
  return {
    async check(who) {
      try {
        const now = await remoteTip(ctx.git, remote, ctx.base, LS_REMOTE_TIMEOUT_MS);
        const before = last;
        last = now;
        if (before.kind !== 'ok' || now.kind !== 'ok' || before.commit === now.commit) return undefined;
        // A deleted base is never a landing.
        if (reflog && now.commit && !(await holdsOwnWork(input, reflog, reflogFrom, now.commit))) return undefined;
        const from = before.commit ? before.commit.slice(0, 7) : 'nothing';
        const to = now.commit ? now.commit.slice(0, 7) : 'nothing (deleted)';
        return `remote: ${who} moved ${where} from ${from} to ${to} (left in place: nightshift never force-pushes your remote; undo it yourself if it was not wanted)`;
      } catch (err) {
        ctx.logger.warn({ err, remote }, 'could not compare the remote base');
        return undefined;
      }
    },
  };
}

/** The worktree's own HEAD reflog, found through its .git file (read before the executor ran). */
async function headReflog(worktree: string): Promise<string | undefined> {
  const pointer = /^gitdir: (.+)\n?$/.exec(await readFile(join(worktree, '.git'), 'utf8').catch(() => ''))?.[1];
  return pointer ? join(resolve(worktree, pointer), 'logs', 'HEAD') : undefined;
}

/** Whether `tip` is, or descends from, a commit this attempt's worktree made during the watch. */
async function holdsOwnWork(input: { wt: Git; baseCommit: string }, reflog: string, from: number, tip: string): Promise<boolean> {
  const added = (await readFile(reflog).catch(() => Buffer.alloc(0))).subarray(from).toString('utf8');
  const own = new Set(
    added
      .split('\n')
      .map((l) => l.split(' ')[1])
      .filter((c): c is string => !!c && /^[0-9a-f]{40,64}$/.test(c)),
  );
  own.delete(input.baseCommit);
  for (const commit of [...own].slice(-20)) if (await isAncestor(input.wt, commit, tip)) return true;
  return false;
}
