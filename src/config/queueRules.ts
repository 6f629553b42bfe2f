import type { FrontmatterFields } from './fields.js';
import type { QueueRules, Rules } from './types.js';

/** The fallback prefix for forges that refuse pushes outside refs/heads/ and refs/tags/. */
export const BRANCH_NAMESPACE_PREFIX = 'refs/heads/nightshift-fleet/';

/** A ref prefix nightshift may push under: refs/..., ending in /, plain path characters only. */
const PREFIX = /^refs\/(?:[A-Za-z0-9_][A-Za-z0-9._-]*\/)+$/;

/** The shortest lease that renewals (every quarter of it) and a slow remote can still keep alive. */
const MIN_LEASE_MS = 1000;

/**
 * rules.md's remote-queue keys: `queue: local | remote`, `lease_ttl`, `queue_poll` (how often a daemon
 * fetches the queue when idle) and `fleet_refs` (where claims and statuses live on the remote: a ref prefix,
 * or `branches` for the branch-namespace fallback). Problems are added to the shared list.
 */
export function readQueue(fields: FrontmatterFields, rules: Rules): void {
  const { fm, problems } = fields;
  const queue: QueueRules = { ...rules.queue };
  if (fields.has('queue')) {
    if (fm.queue === 'local' || fm.queue === 'remote') queue.mode = fm.queue;
    else problems.push(`queue must be local or remote, got ${JSON.stringify(fm.queue)}`);
  }
  const ttl = fields.duration('lease_ttl');
  if (ttl !== undefined) {
    if (ttl >= MIN_LEASE_MS) queue.leaseTtlMs = ttl;
    else problems.push(`lease_ttl: ${JSON.stringify(fm.lease_ttl)} is too short; use 1s or more (2m suits most remotes)`);
  }
  queue.pollMs = fields.duration('queue_poll') ?? queue.pollMs;
  const refs = fields.text('fleet_refs');
  if (refs !== undefined) {
    if (refs === 'branches') queue.refPrefix = BRANCH_NAMESPACE_PREFIX;
    else if (PREFIX.test(refs) && !refs.includes('..')) queue.refPrefix = refs;
    else problems.push(`fleet_refs: "${refs}" is not a ref prefix; write it like refs/nightshift/ (ending in /), or branches`);
  }
  rules.queue = queue;
}
