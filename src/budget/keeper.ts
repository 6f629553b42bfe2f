import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { loadRules } from '../config/rules.js';
import type { BudgetRules } from '../config/types.js';
import { toError } from '../errors.js';
import type { ProgressLog } from '../progress/log.js';
import type { DaemonEvents } from '../run/events.js';
import { ledgerFile, SpendLedger, type SpendEntry } from './ledger.js';
import { budgetReason, dayWindow, queueFigures, reachedBudget, taskAllowance, type BudgetFigure } from './spend.js';

export interface KeeperSetup {
  state: string;
  rulesFile: string;
  budget: BudgetRules | undefined;
  progress: ProgressLog;
  events: DaemonEvents;
  logger: Logger;
  startedAt?: Date;
}

/**
 * The daemon's budget: records what attempts spent in the ledger and says, before each claim and each
 * attempt, whether a day or run budget is reached. rules.md's `budget:` is read again whenever the file
 * changes, so raising a limit resumes the queue without a restart; a rules.md that does not parse keeps
 * the last good budget (and is logged).
 */
export class BudgetKeeper {
  readonly ledger: SpendLedger;
  private budget: BudgetRules | undefined;
  private rulesStamp: string | undefined;
  private readonly startedAt: Date;
  /** The reached budget last announced (a budget-reached line), so it is announced once per reaching. */
  private announced: string | undefined;
  /** Aborted when a budget is reached with `hard: true`: running attempts stop and go back to the queue. */
  private hardStop = new AbortController();

  constructor(private readonly setup: KeeperSetup) {
    this.ledger = new SpendLedger(ledgerFile(setup.state));
    this.budget = setup.budget;
    this.startedAt = setup.startedAt ?? new Date();
  }

  /** Records spend (the ledger drops a key it has already); a reached hard budget stops running attempts. */
  async record(entry: SpendEntry): Promise<void> {
    if ((entry.costUsd ?? 0) === 0 && (entry.tokens ?? 0) === 0) return;
    await this.ledger.record(entry);
    const hit = this.budget?.hard ? await this.reached() : undefined;
    if (hit) this.hardStop.abort(budgetReason(hit));
  }

  /** Why running attempts were stopped, while a hard budget is reached (else undefined). */
  async hardStopReason(): Promise<string | undefined> {
    if (!this.hardStop.signal.aborted) return undefined;
    const hit = await this.reached();
    return hit ? budgetReason(hit) : undefined;
  }

  /**
   * The day or run budget that stops claims now, if any; announced (progress line and event) the first
   * time it is seen reached.
   */
  async reached(now = new Date()): Promise<BudgetFigure | undefined> {
    const figures = await this.figures(now);
    const hit = reachedBudget(figures);
    if (!hit) {
      this.announced = undefined;
      if (this.hardStop.signal.aborted) this.hardStop = new AbortController();
      return undefined;
    }
    const key = `${hit.budget}:${hit.limit}:${dayWindow(now, this.budget?.dayStartsMinutes).start.getTime()}`;
    if (this.announced !== key) {
      this.announced = key;
      await this.setup.progress.append(undefined, 'budget-reached', {
        budget: hit.budget,
        spent: hit.spent,
        limit: hit.limit,
        unit: hit.unit,
      });
      this.setup.events.emit('budget:reached', { budget: hit.budget, spent: hit.spent, limit: hit.limit, unit: hit.unit });
    }
    return hit;
  }

  /** Spend against every day and run budget, with rules.md's budget as it is now. */
  async figures(now = new Date()): Promise<BudgetFigure[]> {
    await this.reloadBudget();
    return queueFigures(this.budget, await this.ledger.entries(), now, this.startedAt);
  }

  /** What a task may still spend and, when it spent all of it, why it fails. */
  async allowance(spent: { costUsd?: number; tokens?: number }): Promise<ReturnType<typeof taskAllowance>> {
    await this.reloadBudget();
    return taskAllowance(this.budget, spent);
  }

  /** The signal running attempts watch: aborted while a hard budget is reached. */
  get hardStopSignal(): AbortSignal {
    return this.hardStop.signal;
  }

  /** When the budget day ends: a reached day budget is looked at again then. */
  nextDayStart(now = new Date()): Date {
    return dayWindow(now, this.budget?.dayStartsMinutes).end;
  }

  private async reloadBudget(): Promise<void> {
    let stamp: string;
    try {
      const s = await stat(this.setup.rulesFile);
      stamp = `${s.size}:${s.mtimeMs}:${s.ctimeMs}:${s.ino}`;
    } catch {
      stamp = 'absent';
    }
    if (stamp === this.rulesStamp) return;
    const first = this.rulesStamp === undefined;
    this.rulesStamp = stamp;
    try {
      this.budget = (await loadRules(this.setup.rulesFile)).budget;
      if (!first) this.setup.logger.info({ budget: this.budget }, 'rules.md changed: budget read again');
    } catch (err) {
      this.setup.logger.warn({ err: toError(err) }, 'rules.md changed but does not parse: the budget stays as it was');
    }
  }
}
