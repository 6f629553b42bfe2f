import { rmSync } from 'node:fs';

/**
 * Everything the bench starts or creates is registered here and released in reverse order: daemons
 * first (they hold worktrees and write into the sandboxes), then temp folders. Runs on normal exit,
 * on an error and on Ctrl-C/SIGTERM, so a bench never leaves a daemon or a scratch repo behind.
 */
const stack = [];
let released = false;

/** Registers a release function; returns an unregister function (for a resource released early). */
export function onCleanup(fn) {
  const entry = { fn };
  stack.push(entry);
  return () => {
    const i = stack.indexOf(entry);
    if (i >= 0) stack.splice(i, 1);
  };
}

/** Synchronous on purpose: it also runs from a signal handler and from process 'exit'. */
export function releaseAll() {
  if (released) return;
  released = true;
  while (stack.length > 0) {
    const { fn } = stack.pop();
    try {
      fn();
    } catch (err) {
      process.stderr.write(`bench: cleanup step failed: ${err?.message ?? err}\n`);
    }
  }
}

/** BENCH_KEEP=1 keeps the scratch repos (progress.txt, .nightshift/daemon.log) for a look afterwards. */
export const KEEP = process.env.BENCH_KEEP === '1';

export function removeDirLater(dir) {
  if (KEEP) return onCleanup(() => process.stderr.write(`bench: kept ${dir}\n`));
  return onCleanup(() => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
}

export function installSignalHandlers() {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}: stopping daemons and removing scratch repos\n`);
      releaseAll();
      process.exit(130);
    });
  }
  process.on('exit', releaseAll);
}
