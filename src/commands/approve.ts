import { UsageError } from '../errors.js';
import { approveTasks } from '../plan/approve.js';
import { ProgressLog } from '../progress/log.js';
import { checkId } from './namedTask.js';
import type { Output } from './output.js';
import { openRepo } from './repo.js';

/**
 * `nightshift approve <ids...> | --plan <id> [--force]`: drafts into the queue. Exit 1 when any named task
 * was refused or is missing (the others are queued all the same).
 */
export async function approve(opts: { cwd: string; ids: string[]; plan?: string; force?: boolean }, io: Output): Promise<number> {
  const paths = await openRepo(opts.cwd);
  if (opts.plan !== undefined && opts.ids.length > 0) throw new UsageError('give task ids or --plan, not both');
  if (opts.plan === undefined && opts.ids.length === 0)
    throw new UsageError('which tasks?', 'nightshift approve <id...> or nightshift approve --plan <plan id>');
  const ids = opts.plan === undefined ? opts.ids.map(checkId) : undefined;
  const results = await approveTasks({ paths, progress: new ProgressLog(paths.progress), ids, plan: opts.plan, force: opts.force });
  if (opts.plan !== undefined && results.length === 0) io.out(`no drafts of plan ${opts.plan}\n`);
  let refused = false;
  for (const r of results) {
    switch (r.kind) {
      case 'queued':
        io.out(`${r.id}: draft -> queued${r.forced ? ` (forced: ${r.forced})` : ''}\n`);
        break;
      case 'refused':
        refused = true;
        io.err(`warning: ${r.id} stays a draft: ${r.reason}; approve it with --force to queue it anyway\n`);
        break;
      case 'not-draft':
        io.out(`${r.id} is ${r.status}, not a draft; left as it is\n`);
        break;
      case 'missing':
        refused = true;
        io.err(`no task "${r.id}" in tasks/\n`);
        break;
      default: {
        const never: never = r;
        throw new Error(`unknown approval ${JSON.stringify(never)}`);
      }
    }
  }
  return refused ? 1 : 0;
}
