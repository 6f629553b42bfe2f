import type { Git } from '../git/git.js';

/**
 * The git plumbing of the remote queue: every git spawn of src/fleet goes through src/git/git.ts's runner
 * (a Git handle), with arguments as arrays. Ref names here are built from validated task ids and the
 * checked ref prefix (config/queueRules.ts), never from a task file's text.
 */

/** One ref of an atomic push. `expect`: the lease (null: the ref must be absent; undefined: forced). */
export interface RefUpdate {
  ref: string;
  /** The commit to set, or null to delete the ref. */
  to: string | null;
  expect?: string | null;
}

/**
 * `rejected`: the remote is reachable and refused (a lease did not hold, or the server's compare-and-swap
 * under its ref lock lost); `refs` names the refs whose own lease failed. `failed`: no answer (unreachable,
 * timed out), so nothing is known about the refs.
 */
export type PushOutcome = { kind: 'pushed' } | { kind: 'rejected'; refs: string[]; message: string } | { kind: 'failed'; message: string };

/** A push that hangs (a black-holed remote) must not hold a claim's renewal for ever. */
export const REMOTE_TIMEOUT_MS = 60_000;

/**
 * Pushes every update in one `git push --atomic`: the server applies all of them or none, each checked
 * against its expected old value under the server's ref lock. That is the compare-and-swap every claim,
 * renewal, takeover and fenced publish is built on.
 */
export async function pushAtomic(git: Git, remote: string, updates: RefUpdate[], timeoutMs = REMOTE_TIMEOUT_MS): Promise<PushOutcome> {
  const leases = updates.filter((u) => u.expect !== undefined).map((u) => `--force-with-lease=${u.ref}:${u.expect ?? ''}`);
  const specs = updates.map((u) => (u.to === null ? `:${u.ref}` : `${u.expect === undefined ? '+' : ''}${u.to}:${u.ref}`));
  const atomic = updates.length > 1 ? ['--atomic'] : [];
  const r = await git.status(['push', '--porcelain', '--no-verify', ...atomic, ...leases, remote, ...specs], timeoutMs);
  if (r.code === 0) return { kind: 'pushed' };
  const refused = r.stdout.split('\n').filter((l) => l.startsWith('!'));
  if (refused.length === 0) return { kind: 'failed', message: r.stderr.trim() || `git push exited ${r.code}` };
  // "! <src>:<dst> [rejected] (stale info)": that ref's own lease; the others say "atomic push failed".
  const refs = refused
    .filter((l) => !/atomic push failed|atomic transaction failed/.test(l))
    .map((l) => l.split('\t')[1]?.split(':')[1] ?? '');
  return { kind: 'rejected', refs, message: refused.join('; ') };
}

export type LsRemoteResult = { kind: 'ok'; refs: Map<string, string> } | { kind: 'failed'; message: string };

/** The remote's current value of each named ref (absent ones are missing from the map): one round trip. */
export async function lsRemote(git: Git, remote: string, refs: string[], timeoutMs = REMOTE_TIMEOUT_MS): Promise<LsRemoteResult> {
  const r = await git.status(['ls-remote', '--refs', remote, ...refs], timeoutMs);
  if (r.code !== 0) return { kind: 'failed', message: r.stderr.trim() || `git ls-remote exited ${r.code}` };
  return { kind: 'ok', refs: parseRefLines(r.stdout) };
}

/** `<sha><space or tab><ref>` lines (ls-remote, for-each-ref) as a map. */
export function parseRefLines(text: string): Map<string, string> {
  const refs = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{40,64})\s+(\S+)$/.exec(line.trim());
    if (m) refs.set(m[2] as string, m[1] as string);
  }
  return refs;
}

/** Local refs under a prefix with their commits (one process, no network). */
export async function localRefs(git: Git, prefix: string): Promise<Map<string, string>> {
  return parseRefLines(await git.raw(['for-each-ref', '--format=%(objectname) %(refname)', prefix]));
}

const emptyTrees = new Map<string, Promise<string>>();

/** The empty tree, written into the object store once per repository (claim and status commits hold no files). */
function emptyTree(git: Git): Promise<string> {
  let tree = emptyTrees.get(git.dir);
  if (!tree) {
    // stdin is closed: hash-object reads nothing and writes the empty tree.
    tree = git.raw(['hash-object', '-t', 'tree', '-w', '--stdin']).then((out) => out.trim());
    tree.catch(() => emptyTrees.delete(git.dir));
    emptyTrees.set(git.dir, tree);
  }
  return tree;
}

/** A parentless commit of the empty tree with `message`: what claim and status refs point at. */
export async function messageCommit(git: Git, message: string): Promise<string> {
  return (await git.raw(['commit-tree', await emptyTree(git), '-m', message])).trim();
}

/** Each local ref's commit message and committer time (unix seconds, the committer's own clock). */
export async function commitDetails(git: Git, prefix: string): Promise<Map<string, { message: string; time: number }>> {
  const out = await git.raw(['for-each-ref', '--format=%(refname)%00%(committerdate:unix)%00%(contents)%00%00', prefix]);
  const details = new Map<string, { message: string; time: number }>();
  for (const record of out.split('\0\0')) {
    const [ref, time, message] = record.replace(/^\n/, '').split('\0');
    if (ref && message !== undefined) details.set(ref, { message, time: Number(time) });
  }
  return details;
}
