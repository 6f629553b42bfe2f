import { hostname } from 'node:os';
import { buildReport, type StatusReport } from '../commands/daemonStatus.js';
import { liveDaemonPid } from '../daemon/pidFile.js';
import { readDaemonStatuses } from '../daemon/statusFile.js';
import { loadRules, type Rules } from '../config/rules.js';
import { defaultRules } from '../config/types.js';
import type { Paths } from '../paths.js';
import { TaskCache } from '../task/cache.js';
import type { TaskEntry } from '../task/task.js';
import { buildBoard, type Board, type BoardFilter } from './board.js';

/**
 * What the dashboard reads from disk, and only from disk: task files (through one long-lived cache, so a
 * refresh of a 10,000-task board re-reads only the files that changed), the daemons' status files and
 * rules.md. Works the same with no daemon, one, or several sharing the queue.
 */
export class Snapshot {
  private readonly cache: TaskCache;

  constructor(readonly paths: Paths) {
    this.cache = new TaskCache(paths.tasks);
  }

  entries(): Promise<TaskEntry[]> {
    return this.cache.scan();
  }

  /** `daemon status --json`'s report for the current files. */
  async status(entries?: TaskEntry[]): Promise<StatusReport> {
    const statuses = await readDaemonStatuses(this.paths);
    const pids = new Set(statuses.filter((s) => s.host === hostname()).map((s) => s.pid));
    const primary = await liveDaemonPid(this.paths);
    if (primary !== undefined) pids.add(primary);
    return buildReport(statuses, [...pids], entries ?? (await this.entries()));
  }

  async board(filter: BoardFilter = {}): Promise<Board> {
    const entries = await this.entries();
    const [status, rules] = await Promise.all([this.status(entries), this.rules()]);
    return buildBoard({ paths: this.paths, entries, rules, status }, filter);
  }

  /** rules.md as the daemon would read it; a broken one shows the defaults (the daemon reports the problem). */
  async rules(): Promise<Rules> {
    return loadRules(this.paths.rules).catch(() => defaultRules(''));
  }
}
