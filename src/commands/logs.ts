import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError, hasCode } from '../errors.js';
import { taskLogDir } from '../paths.js';
import { checkId } from './namedTask.js';
import type { Output } from './output.js';
import { openRepo } from './repo.js';
import { printFile } from './tail.js';

/** `logs`: prints one attempt's transcript (default: the latest). */
export async function showLogs(
  opts: { cwd: string; id: string; attempt?: number; follow?: boolean; signal?: AbortSignal },
  io: Output,
): Promise<number> {
  const paths = await openRepo(opts.cwd);
  const dir = taskLogDir(paths, checkId(opts.id));
  let attempts: number[] = [];
  try {
    attempts = (await readdir(dir)).flatMap((n) => (/^\d+\.log$/.test(n) ? [Number.parseInt(n, 10)] : [])).sort((a, b) => a - b);
  } catch (err) {
    if (!hasCode(err, 'ENOENT')) throw err;
  }
  if (attempts.length === 0)
    throw new UsageError(`no logs for task ${opts.id} yet`, 'logs appear once the daemon has started an attempt of the task');
  // The newest attempt unless one is asked for.
  const attempt = opts.attempt ?? Math.max(...attempts);
  if (!attempts.includes(attempt))
    throw new UsageError(`task ${opts.id} has no attempt ${attempt}`, `attempts with logs: ${attempts.join(', ')}`);
  return printFile(join(dir, `${attempt}.log`), Number.POSITIVE_INFINITY, opts.follow ?? false, io, opts.signal, () => undefined);
}
