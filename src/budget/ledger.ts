import { mkdir, open, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { hasCode } from '../errors.js';

/** Who spent: a task's executor, its reviewer, a planner (or anything else that reports usage). */
export type SpendSource = 'executor' | 'reviewer' | 'planner';

/**
 * One line of the spend ledger. `key` is unique per thing that spent (an attempt, a plan): recording the
 * same key twice (the live run and, after a crash, recovery) counts once.
 */
export interface SpendEntry {
  key: string;
  /** ISO time the spend is counted at (the day window it falls in). */
  at: string;
  source: SpendSource;
  task?: string;
  attempt?: number;
  /** The executor, or `a+b` when a fallback ran in the same attempt. */
  executor?: string;
  costUsd?: number;
  tokens?: number;
}

/** `.nightshift/budget/ledger.jsonl`: every daemon and tool of this checkout appends to the same one. */
export function ledgerFile(state: string): string {
  return join(state, 'budget', 'ledger.jsonl');
}

/**
 * The append-only spend ledger. Each entry is one JSON line written with one write() on an O_APPEND
 * descriptor and fsynced before record() returns, so a crash leaves whole lines (and at worst a torn last
 * one, which is skipped). Reading is incremental: only bytes appended since the last read are parsed, so
 * checking the budget before every claim stays cheap, and entries other processes append are seen.
 */
export class SpendLedger {
  private readonly byKey = new Map<string, SpendEntry>();
  private readOffset = 0;
  /** Bytes of a last line with no newline yet: completed by a later read, or torn by a crash. */
  private pending = '';

  constructor(readonly file: string) {}

  /** Appends the entry unless its key is already in the ledger; true when it was appended. */
  async record(entry: SpendEntry): Promise<boolean> {
    await this.refresh();
    if (this.byKey.has(entry.key)) return false;
    await mkdir(dirname(this.file), { recursive: true });
    const handle = await open(this.file, 'a');
    try {
      // A crash mid-write may have left a line without its newline: never glue this entry onto it.
      const size = (await handle.stat()).size;
      const lead = size > 0 && (await lastByte(this.file, size)) !== '\n' ? '\n' : '';
      await handle.write(`${lead}${JSON.stringify(entry)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await this.refresh();
    return true;
  }

  /** Every entry, each key once (the first recorded wins), in the order they were appended. */
  async entries(): Promise<SpendEntry[]> {
    await this.refresh();
    return [...this.byKey.values()];
  }

  private async refresh(): Promise<void> {
    let size: number;
    try {
      size = (await stat(this.file)).size;
    } catch (err) {
      if (hasCode(err, 'ENOENT')) return;
      throw err;
    }
    if (size < this.readOffset) {
      // Replaced by a shorter file (the user reset it): read it again from the start.
      this.byKey.clear();
      this.readOffset = 0;
      this.pending = '';
    }
    if (size === this.readOffset) return;
    const handle = await open(this.file, 'r');
    let text: string;
    try {
      const buffer = Buffer.alloc(size - this.readOffset);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.readOffset);
      this.readOffset += bytesRead;
      text = this.pending + buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
    const lines = text.split('\n');
    this.pending = lines.pop() ?? '';
    for (const line of lines) {
      const entry = parseEntry(line);
      if (entry && !this.byKey.has(entry.key)) this.byKey.set(entry.key, entry);
    }
  }
}

async function lastByte(file: string, size: number): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(1);
    await handle.read(buffer, 0, 1, size - 1);
    return buffer.toString('latin1');
  } finally {
    await handle.close();
  }
}

/** A ledger line, or undefined for a torn or foreign one (skipped: the ledger is never rewritten). */
export function parseEntry(line: string): SpendEntry | undefined {
  if (line.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const e = value as Record<string, unknown>;
  if (typeof e.key !== 'string' || typeof e.at !== 'string' || Number.isNaN(Date.parse(e.at))) return undefined;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
  const source = e.source === 'reviewer' || e.source === 'planner' ? e.source : 'executor';
  return {
    key: e.key,
    at: e.at,
    source,
    task: typeof e.task === 'string' ? e.task : undefined,
    attempt: num(e.attempt),
    executor: typeof e.executor === 'string' ? e.executor : undefined,
    costUsd: num(e.costUsd),
    tokens: num(e.tokens),
  };
}
