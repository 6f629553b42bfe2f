import { collectReport, reportWindow } from '../report/collect.js';
import { reportMarkdown } from '../report/markdown.js';
import { maskSecrets } from '../util/secrets.js';
import type { Output } from './output.js';
import { openRepo } from './repo.js';

/** `report [--since 12h | --run last] [--json]`: the morning report, as markdown or one JSON object. */
export async function showReport(
  opts: { cwd: string; since?: string; run?: string; json?: boolean; now?: Date },
  io: Output,
): Promise<number> {
  const window = reportWindow(opts);
  const paths = await openRepo(opts.cwd);
  const report = await collectReport(paths, window, opts.now);
  io.out(maskSecrets(opts.json ? `${JSON.stringify(report, null, 2)}\n` : reportMarkdown(report)));
  return 0;
}
