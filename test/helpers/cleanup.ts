import { afterEach } from 'vitest';
import { makeSandbox, type Sandbox } from './repo.js';
import { killMatching } from './wait.js';

export interface Leftovers {
  /** A sandbox with this rules.md, removed after the test. */
  sandbox(rules: string): Promise<Sandbox>;
  /** Sleep markers whose processes are killed after the test (see sleepMarker). */
  markers: string[];
  /** Process ids SIGKILLed after the test (detached daemons a failing test would leave running). */
  pids: number[];
}

/** Registers an afterEach that kills what a test started and removes its sandboxes, even when it failed. */
export function cleanUpAfterEach(): Leftovers {
  const sandboxes: Sandbox[] = [];
  const left: Leftovers = {
    markers: [],
    pids: [],
    async sandbox(rules) {
      const sb = await makeSandbox({ rules });
      sandboxes.push(sb);
      return sb;
    },
  };
  afterEach(async () => {
    for (const pid of left.pids.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const m of left.markers.splice(0)) await killMatching(m);
    await Promise.all(sandboxes.splice(0).map((sb) => sb.cleanup()));
  });
  return left;
}
