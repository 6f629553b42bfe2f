import { EventEmitter } from 'node:events';

/** Typed events of a running daemon; the CLI prints from them and tests wait on them. */
export interface DaemonEventMap {
  'task:claimed': [{ id: string; attempt: number }];
  'task:attempt-failed': [{ id: string; attempt: number; reason: string }];
  'task:done': [{ id: string; attempt: number; commit: string; branch: string }];
  'task:failed': [{ id: string; attempt: number; reason: string }];
  'task:blocked': [{ id: string; reason: string }];
  'task:cancelled': [{ id: string }];
  'task:requeued': [{ id: string; reason: string }];
  'task:invalid': [{ id: string; file: string; reason: string }];
  /** One per attempt that ran an executor: what `daemon status` sums per executor. */
  'attempt:finished': [AttemptFinished];
  /** An executor stopped getting tasks after an infrastructure failure; `until` absent = until a restart. */
  'executor:parked': [ParkedExecutor];
  'executor:resumed': [{ executor: string }];
  progress: [string];
  idle: [];
  /** A day or run budget was reached: nothing more is claimed until the day rolls over or it is raised. */
  'budget:reached': [{ budget: string; spent: number; limit: number; unit: 'usd' | 'tokens' }];
  /** The morning report was written (the queue emptied or the daemon is stopping). */
  'report:written': [{ file: string; markdown: string }];
}

export interface AttemptFinished {
  id: string;
  attempt: number;
  /** The executor that ran (after any fallback). */
  executor: string;
  result: 'success' | 'task-failure' | 'infra-failure' | 'interrupted';
  tokens?: number;
  costUsd?: number;
}

export interface ParkedExecutor {
  executor: string;
  cause: string;
  reason: string;
  /** ISO time it comes back by itself. */
  until?: string;
}

export class DaemonEvents extends EventEmitter<DaemonEventMap> {}
