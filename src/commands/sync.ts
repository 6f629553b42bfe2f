import { oneLine } from '../errors.js';
import { fetchFleet } from '../fleet/fetch.js';
import { syncTaskFiles } from '../fleet/sync.js';
import { openFleetRepo } from './fleetRepo.js';
import type { Output } from './output.js';

/** `sync`: fetch the remote queue and bring this checkout's task files up to the fleet's statuses. */
export async function syncQueue(opts: { cwd: string; json?: boolean }, io: Output): Promise<number> {
  const { paths, rules, git, base } = await openFleetRepo(opts.cwd, 'sync');
  const fetched = await fetchFleet(git, rules.remote, base, rules.queue.refPrefix);
  if (fetched.kind === 'failed') {
    io.err(`cannot fetch the queue from ${rules.remote}: ${oneLine(fetched.message, 300)}\n`);
    return 1;
  }
  const result = await syncTaskFiles({ git, root: paths.root, tasksDir: paths.tasks, locksDir: paths.locks }, fetched.view);
  if (opts.json) io.out(`${JSON.stringify(result)}\n`);
  else
    io.out(
      `synced from ${rules.remote}/${base}: ${result.added.length} new task file(s), ${result.updated.length} status(es) brought up to date\n`,
    );
  return 0;
}
