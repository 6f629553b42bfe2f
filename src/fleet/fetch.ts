import type { Git } from '../git/git.js';
import { withRepoLock } from '../git/repoLock.js';
import { commitDetails, localRefs, REMOTE_TIMEOUT_MS } from './refs.js';
import { parseStatusMessage, type FleetStatus } from './status.js';

/** Where this clone keeps its copy of the remote's fleet refs (claims/, status/), refreshed by each fetch. */
export const MIRROR = 'refs/nightshift-fleet/';

/** The fleet as one fetch saw it: the queue's commit, every claim and every status. */
export interface FleetView {
  /** The remote base's commit (its tasks/ is the queue); undefined when the remote has no such branch. */
  base: string | undefined;
  claims: Map<string, string>;
  statuses: Map<string, FleetStatus>;
  /** Equal for two looks that saw the same refs: an idle poll backs off while it does not change. */
  fingerprint: string;
}

export type FetchFleetResult = { kind: 'ok'; view: FleetView } | { kind: 'failed'; message: string };

/**
 * One `git fetch` brings the queue (the remote's base branch) and the fleet's refs: one round trip when
 * nothing changed (the ref advertisement, filtered by prefix with protocol v2). --prune drops the mirror
 * of claims released and statuses compacted on the remote.
 */
export async function fetchFleet(git: Git, remote: string, base: string, prefix: string): Promise<FetchFleetResult> {
  const tracking = `refs/remotes/${remote}/${base}`;
  const specs = [`+refs/heads/${base}:${tracking}`, `+${prefix}*:${MIRROR}*`];
  const r = await withRepoLock(git, () =>
    git.status(['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--prune', remote, ...specs], REMOTE_TIMEOUT_MS),
  );
  if (r.code !== 0 && !/couldn't find remote ref/.test(r.stderr)) {
    return { kind: 'failed', message: r.stderr.trim() || `git fetch exited ${r.code}` };
  }
  return { kind: 'ok', view: await readMirror(git, tracking) };
}

/** The fleet as the last fetch left it, without the network (`list`, `show`, `fleet status`). */
export async function readMirror(git: Git, tracking: string): Promise<FleetView> {
  const [baseRefs, claimRefs, messages] = await Promise.all([
    localRefs(git, tracking),
    localRefs(git, `${MIRROR}claims/`),
    commitDetails(git, `${MIRROR}status/`),
  ]);
  const claims = new Map<string, string>();
  for (const [ref, value] of claimRefs) claims.set(ref.slice(`${MIRROR}claims/`.length), value);
  const statuses = new Map<string, FleetStatus>();
  for (const [ref, { message }] of messages) {
    const s = parseStatusMessage(message);
    const id = ref.slice(`${MIRROR}status/`.length);
    if (s && s.id === id) statuses.set(id, s);
  }
  const base = baseRefs.get(tracking);
  const fingerprint = [base ?? '', ...[...claimRefs].map(([r, v]) => `${r}=${v}`), ...[...messages.keys()]].join('\n');
  return { base, claims, statuses, fingerprint };
}
