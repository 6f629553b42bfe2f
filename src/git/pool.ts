import { existsSync } from 'node:fs';
import { readdir, readFile, realpath } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { killProcessesIn } from '../exec/orphans.js';
import { ATTEMPT_FILES_DIR } from '../run/attemptFiles.js';
import { claimTask, type Claim } from '../locks/claims.js';
import { openGit, type Git } from './git.js';
import { addWorktree, removeWorktree } from './worktrees.js';
import { gitCommonDir } from './repoLock.js';

/**
 * Slot folders are `_pool-<n>`: a task id never starts with `_`, so a slot is never mistaken for the
 * per-task worktree of an older nightshift, and `git worktree list` shows plainly what they are.
 */
const SLOT_PREFIX = '_pool-';
const SLOT_NAME = /^_pool-([1-9]\d*)$/;
/** Lease locks, one per slot, beside the slots: several daemons may share one pool. */
const LEASES = '_leases';
/** More slots than any sane number of daemons times their concurrency: a bug, not a busy night. */
export const MAX_SLOTS = 256;
/** Left in a worktree's git dir by an operation an executor started and never finished. */
const UNFINISHED = [
  'rebase-merge',
  'rebase-apply',
  'MERGE_HEAD',
  'CHERRY_PICK_HEAD',
  'REVERT_HEAD',
  'BISECT_LOG',
  'sequencer',
  'index.lock',
];

export interface PoolOptions {
  /** Where the slots live (Paths.worktrees). */
  root: string;
  /** rules.md keep_ignored: ignored files (node_modules) survive from one task to the next. */
  keepIgnored: boolean;
}

/** A slot leased to one task attempt, checked out on its branch at its start commit and clean. */
export interface PooledWorktree {
  readonly path: string;
  /** reused: re-pointed and cleaned; created: a new slot; replaced: the old one was unfit and was made anew. */
  readonly how: 'reused' | 'created' | 'replaced';
  /** Stops what the attempt left running there, detaches the branch, and gives the slot back. */
  release(): Promise<void>;
}

/**
 * Worktrees reused across tasks, so that isolating a task costs the files that differ between two
 * commits, not a checkout of the whole repository. A slot is held through a lease (a claim lock, see
 * locks/claims.ts): never two running tasks in one slot, in this process or any other, and a slot whose
 * holder died is taken over like a dead claim. The number of slots in use is at most the number of tasks
 * running at once. A slot is reset and cleaned when leased, then checked: only a slot found clean, on the
 * right commit, with no half-done git operation, is handed on; any other is removed and made anew. The
 * pool lives on disk, so the next daemon reuses it; `nightshift clean` removes it.
 */
export class WorktreePool {
  constructor(
    private readonly git: Git,
    private readonly opts: PoolOptions,
  ) {}

  private slotPath(n: number): string {
    return join(this.opts.root, `${SLOT_PREFIX}${n}`);
  }

  /** Leases the lowest free slot and makes it ready: on `branch` (created or moved) at `commit`, clean. */
  async checkout(branch: string, commit: string): Promise<PooledWorktree> {
    for (let n = 1; n <= MAX_SLOTS; n++) {
      const lease = await claimTask(join(this.opts.root, LEASES), `slot-${n}`);
      if (lease.kind === 'lost-race') continue;
      const path = this.slotPath(n);
      try {
        const how = await this.prepare(path, branch, commit, !!lease.tookOver);
        return { path, how, release: () => this.giveBack(path, lease.claim) };
      } catch (err) {
        await removeWorktree(this.git, path);
        await lease.claim.release();
        throw err;
      }
    }
    throw new Error(`every one of ${MAX_SLOTS} worktree slots under ${this.opts.root} is in use`);
  }

  /**
   * Looks after the slots no live process leases: stops anything still running in them (left by a holder
   * that died), and removes those numbered above `keep` (left by a run with a higher concurrency; with
   * `keep` 0, every free slot, for `nightshift clean`). A slot some live process leases is left alone.
   */
  async tidy(keep: number): Promise<{ removed: string[]; inUse: string[]; orphans: number }> {
    const removed: string[] = [];
    const inUse: string[] = [];
    let orphans = 0;
    for (const n of await this.slotNumbers()) {
      const path = this.slotPath(n);
      const lease = await claimTask(join(this.opts.root, LEASES), `slot-${n}`);
      if (lease.kind === 'lost-race') {
        inUse.push(path);
        continue;
      }
      try {
        orphans += await killProcessesIn(path);
        // A holder that died never detached it: its task's branch would stay checked out here (so it could
        // not be deleted or checked out elsewhere) until the slot's next use.
        if (n > keep || (existsSync(path) && !(await this.detach(path)))) {
          await removeWorktree(this.git, path);
          removed.push(path);
        }
      } finally {
        await lease.claim.release();
      }
    }
    return { removed, inUse, orphans };
  }

  /** Slot numbers that have a folder or a lease, ascending. */
  private async slotNumbers(): Promise<number[]> {
    const found = new Set<number>();
    for (const name of await readdir(this.opts.root).catch(() => [] as string[])) {
      const m = SLOT_NAME.exec(name);
      if (m) found.add(Number(m[1]));
    }
    for (const name of await readdir(join(this.opts.root, LEASES)).catch(() => [] as string[])) {
      const m = /^slot-([1-9]\d*)\.lock$/.exec(name);
      if (m) found.add(Number(m[1]));
    }
    return [...found].sort((a, b) => a - b);
  }

  private async prepare(path: string, branch: string, commit: string, tookOver: boolean): Promise<PooledWorktree['how']> {
    // A slot given back properly was cleared then (its processes stopped before the lease went); one taken
    // over from a holder that died may still have its processes running (one /proc scan only then).
    if (tookOver) await killProcessesIn(path);
    const existed = existsSync(path);
    if (existed && (await this.reset(path, branch, commit))) return 'reused';
    await removeWorktree(this.git, path);
    await addWorktree(this.git, path, branch, commit);
    return existed ? 'replaced' : 'created';
  }

  /**
   * Re-points a slot at `commit` on `branch` and removes every change and untracked file (ignored ones
   * too, unless keep_ignored). True only when the slot then provably is what a fresh worktree would be;
   * false (never a throw) when it is not, and the caller makes it anew. Three or four git processes in the
   * usual case: this runs once per attempt, and on a big repository each one walks the whole tree.
   */
  private async reset(path: string, branch: string, commit: string): Promise<boolean> {
    try {
      // Still a worktree of this repository? An executor may have replaced its .git, and git would follow
      // it anywhere: read before any git command runs there.
      const gitDir = await this.ownedGitDir(path);
      if (!gitDir || UNFINISHED.some((name) => existsSync(join(gitDir, name)))) return false;
      const wt = openGit(path);
      const checkout = ['checkout', '--quiet', '--force', '--ignore-other-worktrees', '--no-recurse-submodules', '-B', branch, commit];
      if ((await wt.status(checkout)).code !== 0) return false;
      const status = [
        'status',
        '--porcelain=v2',
        '-z',
        '--branch',
        '--untracked-files=all',
        ...(this.opts.keepIgnored ? [] : ['--ignored']),
      ];
      // Index entries flagged assume-unchanged or skip-worktree hide changes from status: such a slot is unfit.
      const [flags, first] = await Promise.all([wt.status(['ls-files', '-v', '-z']), wt.status(status)]);
      if (flags.code !== 0 || flags.stdout.split('\0').some((entry) => /^[a-zS]/.test(entry))) return false;
      let state = first;
      if (state.code === 0 && hasEntries(state.stdout)) {
        // Untracked files left by the last attempt (after a success there are none: everything was committed).
        if ((await wt.status(['clean', '--quiet', '-ff', '-d', ...(this.opts.keepIgnored ? [] : ['-x'])])).code !== 0) return false;
        state = await wt.status(status);
      }
      if (state.code !== 0 || hasEntries(state.stdout)) return false;
      return state.stdout.includes(`\0# branch.head ${branch}\0`) && state.stdout.startsWith(`# branch.oid ${commit}\0`);
    } catch {
      return false;
    }
  }

  /**
   * Detaches a slot's HEAD, so the task's branch is free again: it can be deleted, or checked out by the
   * user elsewhere. Only HEAD changes (no walk of the tree, which a checkout would do): the next lease
   * resets the rest. False when the slot is unfit (not ours any more, or git refused): the caller removes it.
   */
  private async detach(path: string): Promise<boolean> {
    if (!(await this.owns(path))) return false;
    const r = await openGit(path).status(['update-ref', '--no-deref', '-m', 'nightshift: worktree given back', 'HEAD', 'HEAD']);
    return r.code === 0;
  }

  /**
   * Whether the folder still is one of this repository's worktrees. Git follows a worktree's `.git` file
   * wherever it points: one an executor rewrote could aim nightshift's next git command (a commit, a
   * detach) at another checkout, the user's own included. Checked before any git command runs there.
   */
  async owns(path: string): Promise<boolean> {
    return (await this.ownedGitDir(path).catch(() => undefined)) !== undefined;
  }

  /** The slot's git dir when its .git file points into this repository's worktrees, else undefined. */
  private async ownedGitDir(path: string): Promise<string | undefined> {
    const pointer = /^gitdir: (.+)\n?$/.exec(await readFile(join(path, '.git'), 'utf8'))?.[1];
    if (!pointer) return undefined;
    const gitDir = await realpath(resolve(path, pointer));
    if (!gitDir.startsWith(`${await this.ownCommonDir()}/worktrees/`)) return undefined;
    // And the repository still knows it as this slot (not a neighbour's admin dir reused by hand).
    const back = (await readFile(join(gitDir, 'gitdir'), 'utf8')).trim();
    return (await realpath(dirname(back))) === (await realpath(path)) ? gitDir : undefined;
  }

  private async giveBack(path: string, lease: Claim): Promise<void> {
    try {
      // A background process the attempt started must not live on into the next task's worktree.
      await killProcessesIn(path);
      if (!(await this.detach(path))) await removeWorktree(this.git, path);
    } catch {
      await removeWorktree(this.git, path);
    } finally {
      await lease.release();
    }
  }

  /** The repository's git common dir, links resolved (git itself asked once per process, see repoLock). */
  private async ownCommonDir(): Promise<string> {
    return realpath(await gitCommonDir(this.git));
  }
}

/** Whether a folder under the worktree root is one of the pool's (a slot or its leases). */
export function isPoolEntry(name: string): boolean {
  return SLOT_NAME.test(name) || name === LEASES || name === ATTEMPT_FILES_DIR;
}

/** Whether `git status --porcelain=v2 -z --branch` output lists any path (header lines start with '#'). */
function hasEntries(out: string): boolean {
  return out.split('\0').some((entry) => entry !== '' && !entry.startsWith('# '));
}
