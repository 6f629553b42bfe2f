import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, type TestContext } from 'vitest';
import { makeSandbox, type Sandbox } from './repo.js';
import { killMatching } from './wait.js';

/** What makeSandbox takes; a bare string is the rules.md text. */
export type SandboxOptions = NonNullable<Parameters<typeof makeSandbox>[0]>;

/** A daemon handle (startDaemon's), typed by the one member teardown needs so this file does not track src/. */
export interface Stoppable {
  stop(opts?: { force?: boolean }): Promise<unknown>;
}

/**
 * Everything a test started that must go when it ends, passed or failed.
 * Members are function-typed properties, not methods, so tests may destructure them (`const { sandbox } = ...`).
 */
export interface Leftovers {
  /** A sandbox (repository, remote, cache) removed after the test. */
  sandbox: (opts?: string | SandboxOptions) => Promise<Sandbox>;
  /** A fresh temp folder removed after the test. */
  tempDir: (prefix?: string) => Promise<string>;
  /** A started daemon, stopped after the test (at once with force) before its sandbox goes. */
  daemon: <T extends Stoppable>(handle: T, opts?: { force?: boolean }) => T;
  /** Any other release (a model server's close, a folder a helper made); runs in reverse order of calls. */
  defer: (release: () => unknown) => void;
  /** Sleep markers whose processes are killed after the test (see sleepMarker). */
  markers: string[];
  /** Process ids SIGKILLed after the test (detached daemons a failing test would leave running). */
  pids: number[];
}

/**
 * Registers an afterEach that kills what each test started and removes its sandboxes, even when it failed.
 * Not for concurrent tests: one test's afterEach would release what another still uses (see cleanUpAfterTest).
 */
export function cleanUpAfterEach(): Leftovers {
  return leftoversReleasedBy(afterEach);
}

/** The same for resources a beforeAll shares across a describe's tests: released once, after the last. */
export function cleanUpAfterAll(): Leftovers {
  return leftoversReleasedBy(afterAll);
}

/** Released when this one test ends: what a concurrent test (describe.concurrent) must use. */
export function cleanUpAfterTest(t: TestContext): Leftovers {
  return leftoversReleasedBy((release) => t.onTestFinished(release));
}

function leftoversReleasedBy(hook: (fn: () => Promise<void>) => void): Leftovers {
  // A release stack: later resources may depend on earlier ones (a daemon on its sandbox), so they go first.
  const releases: Array<() => unknown> = [];
  const left: Leftovers = {
    markers: [],
    pids: [],
    defer: (release) => {
      releases.push(release);
    },
    sandbox: async (opts) => {
      const sb = await makeSandbox(typeof opts === 'string' ? { rules: opts } : opts);
      releases.push(() => sb.cleanup());
      return sb;
    },
    tempDir: async (prefix = 'nightshift-test-') => {
      const dir = await mkdtemp(join(tmpdir(), prefix));
      releases.push(() => rm(dir, { recursive: true, force: true }));
      return dir;
    },
    daemon: (handle, opts) => {
      releases.push(() => handle.stop(opts));
      return handle;
    },
  };
  hook(async () => {
    // Processes first: a stuck executor or detached daemon would otherwise hold files the rest removes.
    for (const pid of left.pids.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const m of left.markers.splice(0)) await killMatching(m);
    // Every release runs even when one throws; the first error still fails the test.
    const errors: unknown[] = [];
    for (const release of releases.splice(0).reverse()) {
      try {
        await release();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw errors[0];
  });
  return left;
}
