import { relative } from 'node:path';
import { listed } from './list.js';
import { findEntry } from './namedTask.js';
import type { Output } from './output.js';
import { openRepo } from './repo.js';
import { fleetOverlay } from './fleetView.js';

/** `show`: one task in full, its frontmatter and body; `--json` adds every frontmatter key to list's shape. */
export async function showTask(opts: { cwd: string; id: string; json?: boolean }, io: Output): Promise<number> {
  const paths = await openRepo(opts.cwd);
  const entry = await findEntry(paths, opts.id);
  const fleet = await fleetOverlay(paths);
  if (opts.json) {
    const base = fleet ? fleet(listed(paths, entry)) : listed(paths, entry);
    const all = entry.kind === 'task' ? { ...entry.task.frontmatter, ...base, status: fleet ? base.status : entry.task.status } : base;
    io.out(`${JSON.stringify(all, null, 2)}\n`);
    return 0;
  }
  if (entry.kind === 'invalid') {
    io.out(`${entry.invalid.id}  invalid\nfile: ${relative(paths.root, entry.invalid.file)}\nreason: ${entry.invalid.reason}\n`);
    return 0;
  }
  const t = entry.task;
  const lines = [`${t.id}  ${t.status}  ${t.title}`, `file: ${relative(paths.root, t.file)}`];
  const seen = fleet?.(listed(paths, entry));
  if (seen && seen.status !== t.status) lines.push(`fleet: ${seen.status}${seen.holder ? ` (${seen.holder})` : ''}`);
  for (const [key, value] of Object.entries(t.frontmatter)) {
    if (key === 'title' || key === 'status') continue;
    lines.push(`${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  io.out(`${lines.join('\n')}\n\n${t.body.trim()}\n`);
  return 0;
}
