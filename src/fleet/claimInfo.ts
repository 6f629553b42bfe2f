import { readFile } from 'node:fs/promises';
import type { Git } from '../git/git.js';
import { pidAlive } from '../locks/pids.js';
import { MIRROR } from './fetch.js';
import type { ObservedClaims } from './queuePoll.js';
import { commitDetails } from './refs.js';

/** One claim as `fleet status` shows it. */
export interface ClaimInfo {
  task: string;
  machine: string;
  pid: number;
  /** The last renewal's commit time, by the holder's clock (shown, never used to judge expiry). */
  renewedAt: string;
  /** How long this checkout's daemon has seen it unchanged, on its own clock (no daemon: undefined). */
  unchangedMs?: number;
  expired?: boolean;
}

/** The claims in this clone's mirror, with who holds them and, when a daemon runs here, its judgement. */
export async function claimInfo(git: Git, viewFile: string): Promise<ClaimInfo[]> {
  const details = await commitDetails(git, `${MIRROR}claims/`);
  const observed = await readObserved(viewFile);
  const byId = new Map(observed?.claims.map((c) => [c.id, c]));
  const out: ClaimInfo[] = [];
  for (const [ref, { message, time }] of details) {
    const task = ref.slice(`${MIRROR}claims/`.length);
    const field = (key: string) => new RegExp(`^${key}: (.*)$`, 'm').exec(message)?.[1]?.trim() ?? '?';
    const seen = byId.get(task);
    out.push({
      task,
      machine: field('machine'),
      pid: Number(field('pid')) || 0,
      renewedAt: new Date(time * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      unchangedMs: seen?.unchangedMs,
      expired: seen?.expired,
    });
  }
  return out.sort((a, b) => a.machine.localeCompare(b.machine) || a.task.localeCompare(b.task));
}

/** The running daemon's view, if a live daemon wrote it. */
async function readObserved(file: string): Promise<ObservedClaims | undefined> {
  try {
    const view = JSON.parse(await readFile(file, 'utf8')) as ObservedClaims;
    return pidAlive(view.pid) ? view : undefined;
  } catch {
    return undefined;
  }
}
