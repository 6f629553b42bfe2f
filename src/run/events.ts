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
  progress: [string];
  idle: [];
}

export class DaemonEvents extends EventEmitter<DaemonEventMap> {}
