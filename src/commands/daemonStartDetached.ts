import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open } from 'node:fs/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import type { DetachMessage } from './daemonStart.js';
import type { Output } from './output.js';
import { openRepo } from './repo.js';

const BIN = fileURLToPath(new URL('../../bin/nightshift.js', import.meta.url));

/**
 * `daemon start --detach`: starts the same daemon as a background process in its own session (no
 * terminal, so no SIGHUP when the shell closes), waits until it holds the pid file and runs, prints its
 * pid and returns. Its stderr (a crash's stack) goes to .nightshift/daemon.log with the JSON log; progress
 * lines are in progress.txt as always.
 */
export async function startDetached(
  opts: { cwd: string; once?: boolean; concurrency?: number; allowMultiple?: boolean; dashboard?: boolean | number },
  io: Output,
): Promise<number> {
  const paths = await openRepo(opts.cwd);
  await mkdir(paths.state, { recursive: true });
  const args = [BIN, 'daemon', 'start', '--detached-child'];
  if (opts.once) args.push('--once');
  if (opts.concurrency !== undefined) args.push('--concurrency', String(opts.concurrency));
  if (opts.allowMultiple) args.push('--allow-multiple');
  if (opts.dashboard === true) args.push('--dashboard');
  else if (typeof opts.dashboard === 'number') args.push('--dashboard', String(opts.dashboard));
  const log = await open(paths.daemonLog, 'a');
  let message: DetachMessage | undefined;
  let code: number | null;
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, args, {
      cwd: paths.root,
      detached: true,
      stdio: ['ignore', 'ignore', log.fd, 'ipc'],
      env: process.env,
    });
    code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.on('message', (m: DetachMessage) => {
        message = m;
        if (m.kind === 'ready') resolve(null);
      });
      child.once('exit', (c: number | null, signal: NodeJS.Signals | null) => resolve(c ?? (signal ? 128 : 1)));
    });
  } finally {
    await log.close();
  }
  if (code === null && message?.kind === 'ready') {
    child.unref();
    child.disconnect?.();
    const at = (p: string) => relative(opts.cwd, p) || p;
    io.out(`nightshift: daemon started in the background (pid ${message.pid})\n`);
    if (message.dashboard) io.out(`nightshift: dashboard on ${message.dashboard}\n`);
    io.out(`  progress: nightshift tail -f   log: ${at(paths.daemonLog)}   stop: nightshift daemon stop\n`);
    return 0;
  }
  if (message?.kind === 'error') {
    if (message.usage) throw new UsageError(message.message, message.hint);
    io.err(`nightshift: the daemon did not start: ${message.message}\n  hint: see ${paths.daemonLog}\n`);
    return 1;
  }
  io.err(`nightshift: the daemon exited (code ${code ?? 'unknown'}) before it started\n  hint: see ${paths.daemonLog}\n`);
  return code && code !== 0 ? code : 1;
}
