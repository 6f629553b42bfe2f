import { hostname } from 'node:os';
import { buildReport, type StatusReport } from '../commands/daemonStatus.js';
import { liveDaemonPid } from '../daemon/pidFile.js';
import { readDaemonStatuses } from '../daemon/statusFile.js';
import { loadRules, type Rules } from '../config/rules.js';
import { defaultRules } from '../config/types.js';
import type { Paths } from '../paths.js';
import { TaskCache } from '../task/cache.js';
import { assessQueue, type Readiness } from '../task/readiness.js';
import type { TaskEntry } from '../task/task.js';
import { buildBoard, type Board, type BoardFilter } from './board.js';

/**
 * What the dashboard reads from disk, and only from disk: task files (through one long-lived cache, so a
 * refresh of a 10,000-task board re-reads only the files that changed), the daemons' status files and
 * rules.md. Works the same with no daemon, one, or several sharing the queue.
 */
export class Snapshot {
  private readonly cache: TaskCache;
  /** The last scan, kept until tasks/ changes: the hub says which file, or runs the full rescan. */
  private scanned: Promise<TaskEntry[]> | undefined;
  /** Files the watcher named since the last scan: only they are looked at again. */
  private changed = new Set<string>();
  private lastBoard: { key: string; entries: TaskEntry[]; board: Board } | undefined;
  /** Readiness of the last scan's queued tasks: the same files, the same answer (assessQueue is pure). */
  private readiness = new WeakMap<TaskEntry[], Map<string, Readiness>>();

  constructor(readonly paths: Paths) {
    this.cache = new TaskCache(paths.tasks);
  }

  /**
   * Every task file. A scan lstats each file (10,000 of them take a few hundred ms on a loaded machine),
   * so it is reused until the watcher reports a change; the periodic rescan covers a missed event.
   */
  entries(): Promise<TaskEntry[]> {
    if (!this.scanned) {
      this.changed.clear();
      this.scanned = this.cache.scan();
    } else if (this.changed.size > 0) {
      const names = [...this.changed];
      this.changed.clear();
      this.scanned = this.scanned.then(() => this.cache.refresh(names));
    }
    const scanned = this.scanned;
    scanned.catch(() => {
      if (this.scanned === scanned) this.scanned = undefined;
    });
    return scanned;
  }

  /** A file in tasks/ changed (its name), or something did (undefined: the next read scans them all). */
  invalidate(name?: string): void {
    if (name === undefined) this.scanned = undefined;
    else this.changed.add(name);
  }

  /**
   * The full scan, run by the hub now and then: a watcher event may be missed (a full inotify queue, a
   * network file system). Says whether anything had changed unseen.
   */
  async rescan(): Promise<boolean> {
    const before = await this.entries();
    this.invalidate();
    return (await this.entries()) !== before;
  }

  /** `daemon status --json`'s report for the current files. */
  async status(entries?: TaskEntry[]): Promise<StatusReport> {
    const statuses = await readDaemonStatuses(this.paths);
    const pids = new Set(statuses.filter((s) => s.host === hostname()).map((s) => s.pid));
    const primary = await liveDaemonPid(this.paths);
    if (primary !== undefined) pids.add(primary);
    return buildReport(statuses, [...pids], entries ?? (await this.entries()));
  }

  /** The board; the last one again while the files, the daemons, rules.md and the filter are the same. */
  async board(filter: BoardFilter = {}): Promise<Board> {
    const entries = await this.entries();
    const [status, rules] = await Promise.all([this.status(entries), this.rules()]);
    const { daemons, parked, runningTasks } = status;
    const key = JSON.stringify([
      daemons,
      parked,
      runningTasks.map((r) => [r.id, r.attempt, r.claimedAt]),
      rules.routes,
      rules.executor,
      rules.timeoutMs,
      filter,
    ]);
    if (this.lastBoard?.entries === entries && this.lastBoard.key === key) return this.lastBoard.board;
    let readiness = this.readiness.get(entries);
    if (!readiness) this.readiness.set(entries, (readiness = assessQueue(queueAndDependencies(entries))));
    const board = buildBoard({ paths: this.paths, entries, rules, status, readiness }, filter);
    this.lastBoard = { key, entries, board };
    return board;
  }

  /** rules.md as the daemon would read it; a broken one shows the defaults (the daemon reports the problem). */
  async rules(): Promise<Rules> {
    return loadRules(this.paths.rules).catch(() => defaultRules(''));
  }
}

/**
 * What the readiness of queued tasks depends on: the queued tasks, every task they depend on through any
 * number of levels (cycles included), and the invalid files. On a night's queue of 10,000 mostly finished
 * tasks that is a few hundred entries, and assessQueue gives the same answers for them.
 */
export function queueAndDependencies(entries: TaskEntry[]): TaskEntry[] {
  const byId = new Map<string, TaskEntry>();
  for (const e of entries) if (e.kind === 'task') byId.set(e.task.id, e);
  const kept = new Set<TaskEntry>();
  const stack = entries.filter((e) => e.kind === 'invalid' || e.task.status === 'queued');
  while (stack.length > 0) {
    const e = stack.pop() as TaskEntry;
    if (kept.has(e)) continue;
    kept.add(e);
    if (e.kind === 'task') for (const dep of e.task.dependsOn) if (byId.has(dep)) stack.push(byId.get(dep) as TaskEntry);
  }
  return entries.filter((e) => kept.has(e));
}
