import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { toError } from '../errors.js';
import type { RunContext } from '../run/context.js';
import { writeFileAtomic } from '../util/atomic.js';
import { maskSecrets } from '../util/secrets.js';
import { collectReport } from './collect.js';
import { reportMarkdown } from './markdown.js';

/** `.nightshift/reports/2026-11-21.md`: named after the local date the night ended on. */
export function reportFile(state: string, until: Date): string {
  const day = `${until.getFullYear()}-${String(until.getMonth() + 1).padStart(2, '0')}-${String(until.getDate()).padStart(2, '0')}`;
  return join(state, 'reports', `${day}.md`);
}

/**
 * Writes the report of this daemon's run (since it started) when the queue empties or the daemon stops:
 * atomically, secrets masked, then `report:written`. A failure is logged; it never stops the daemon.
 */
export async function writeRunReport(ctx: RunContext, startedAt: Date): Promise<string | undefined> {
  try {
    const now = new Date();
    const report = await collectReport(ctx.paths, { kind: 'from', since: startedAt }, now);
    const markdown = maskSecrets(reportMarkdown(report));
    const file = reportFile(ctx.paths.state, now);
    await mkdir(join(ctx.paths.state, 'reports'), { recursive: true });
    await writeFileAtomic(file, markdown);
    ctx.events.emit('report:written', { file, markdown });
    return file;
  } catch (err) {
    ctx.logger.warn({ err: toError(err) }, 'could not write the morning report');
    return undefined;
  }
}
