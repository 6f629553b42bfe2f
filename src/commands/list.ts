import { relative } from 'node:path';
import { UsageError } from '../errors.js';
import { STATUSES, type TaskEntry } from '../task/task.js';
import type { Paths } from '../paths.js';
import { loadTasks } from '../task/store.js';
import type { Output } from './output.js';
import { openRepo } from './repo.js';
import { readBudgetView, runStart } from '../budget/view.js';
import { readDaemonStatuses } from '../daemon/statusFile.js';
import { fleetOverlay } from './fleetView.js';

export interface ListedTask {
  id: string;
  file: string;
  status: string;
  title: string | null;
  attempts: number;
  branch: string | null;
  commit: string | null;
  error: string | null;
  depends_on: string[];
}

/** The `list --json` shape of one task file (contract). */
export function listed(paths: Paths, entry: TaskEntry): ListedTask {
  if (entry.kind === 'invalid') {
    const { id, file, reason } = entry.invalid;
    return {
      id,
      file: relative(paths.root, file),
      status: 'invalid',
      title: null,
      attempts: 0,
      branch: null,
      commit: null,
      error: reason,
      depends_on: [],
    };
  }
  const t = entry.task;
  return {
    id: t.id,
    file: relative(paths.root, t.file),
    status: t.status,
    title: t.title,
    attempts: t.attempts,
    branch: t.branch ?? null,
    commit: t.commit ?? null,
    error: t.error ?? null,
    depends_on: t.dependsOn,
  };
}

/** `list`: every task file, invalid ones too, as a table or (`--json`) the contract's array. */
export async function listTasks(opts: { cwd: string; status?: string; json?: boolean }, io: Output): Promise<number> {
  const paths = await openRepo(opts.cwd);
  if (opts.status !== undefined && opts.status !== 'invalid' && !(STATUSES as readonly string[]).includes(opts.status)) {
    throw new UsageError(`unknown status "${opts.status}"`, `use one of ${[...STATUSES, 'invalid'].join(', ')}`);
  }
  // queue: remote: the fleet's statuses and claims laid over this checkout's files (commands/fleetView.ts).
  const fleet = await fleetOverlay(paths);
  const rows = (await loadTasks(paths.tasks))
    .map((e) => (fleet ? fleet(listed(paths, e)) : listed(paths, e)))
    .filter((r) => opts.status === undefined || r.status === opts.status);
  if (opts.json) {
    io.out(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  // A reached day or run budget holds every queued task: say so on each (src/budget/).
  const held = rows.some((r) => r.status === 'queued')
    ? (await readBudgetView(paths, new Date(), runStart(await readDaemonStatuses(paths)))).reached
    : undefined;
  if (rows.length === 0) {
    io.out(opts.status ? `no ${opts.status} tasks\n` : 'no tasks in tasks/ (add one with: nightshift add "<title>")\n');
    return 0;
  }
  io.out(
    table(
      ['ID', 'STATUS', 'TRIES', 'BRANCH', 'TITLE / ERROR'],
      rows.map((r) => [
        r.id,
        r.status,
        String(r.attempts),
        r.branch ?? '-',
        r.status === 'invalid' || r.status === 'failed' || r.status === 'blocked'
          ? `${r.title ? `${r.title}: ` : ''}${r.error ?? ''}`
          : r.status === 'queued' && held
            ? `${r.title ?? ''}: waiting, ${held}`
            : (r.title ?? ''),
      ]),
    ),
  );
  return 0;
}

/** Left-aligned columns; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return `${[fmt(header), ...rows.map(fmt)].join('\n')}\n`;
}
