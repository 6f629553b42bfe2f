import { loadRules } from '../config/rules.js';
import { openGit, currentBranch } from '../git/git.js';
import { readMirror } from '../fleet/fetch.js';
import type { Paths } from '../paths.js';
/** What the overlay reads and sets of a listed task (list.ts's ListedTask; not imported: list.ts imports this). */
interface Row {
  id: string;
  status: string;
  attempts: number;
  branch: string | null;
  commit: string | null;
  error: string | null;
}

/** A listed task as the fleet sees it: `holder` names the machine that holds or settled it. */
export type FleetListed<T extends Row> = T & { holder?: string };

/**
 * With queue: remote, `list` and `show` show the fleet's view as the last fetch (the daemon's poll, `sync`,
 * `fleet status`) left it, without the network: a status ref decides a task this checkout still has
 * queued, and a claim ref shows it running elsewhere. The task files are not changed (that is `sync`).
 * Undefined with the local queue.
 */
export async function fleetOverlay(paths: Paths): Promise<(<T extends Row>(row: T) => FleetListed<T>) | undefined> {
  const rules = await loadRules(paths.rules).catch(() => undefined);
  if (rules?.queue.mode !== 'remote') return undefined;
  const git = openGit(paths.root);
  const base = rules.base ?? (await currentBranch(git)) ?? 'main';
  const view = await readMirror(git, `refs/remotes/${rules.remote}/${base}`);
  return <T extends Row>(row: T): FleetListed<T> => {
    if (row.status !== 'queued') return row;
    const s = view.statuses.get(row.id);
    if (s) {
      return {
        ...row,
        status: s.status,
        attempts: s.attempts,
        branch: s.branch ?? null,
        commit: s.commit ?? null,
        error: s.error ?? null,
        holder: s.holder,
      };
    }
    const claim = view.claims.get(row.id);
    return claim ? { ...row, status: 'running', holder: `claim ${claim.slice(0, 7)}` } : row;
  };
}
