import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasCode, UsageError } from '../errors.js';
import type { Paths } from '../paths.js';
import { DEFAULT_PORT, isLoopback, startDashboard, type DashboardHandle } from '../dashboard/server.js';
import type { Output } from './output.js';
import { openRepo } from './repo.js';

export interface DashboardCommandOptions {
  cwd: string;
  port?: number;
  host?: string;
  token?: string;
  readOnly?: boolean;
  open?: boolean;
  /** Stops the server (tests); the CLI stops on SIGINT/SIGTERM. */
  signal?: AbortSignal;
}

/** Where a fixed token may be kept for a dashboard reachable beyond this machine. */
export function tokenFile(paths: Paths): string {
  return join(paths.state, 'dashboard-token');
}

/** `dashboard`: serves the page until stopped. Binds 127.0.0.1 unless told otherwise, with a fresh token. */
export async function runDashboard(opts: DashboardCommandOptions, io: Output): Promise<number> {
  const paths = await openRepo(opts.cwd);
  const handle = await openDashboard(paths, opts, io);
  if (opts.open) openBrowser(handle.url, io);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    opts.signal?.addEventListener('abort', stop, { once: true });
  });
  await handle.close();
  return 0;
}

/** Checks the options, starts the server and prints its address: shared by `dashboard` and `daemon start --dashboard`. */
export async function openDashboard(
  paths: Paths,
  opts: Pick<DashboardCommandOptions, 'port' | 'host' | 'token' | 'readOnly'>,
  io: Output,
): Promise<DashboardHandle> {
  const host = opts.host ?? '127.0.0.1';
  let token = opts.token;
  if (token === undefined && !isLoopback(host)) token = await readTokenFile(paths);
  if (token !== undefined && !/^[A-Za-z0-9._~-]{16,}$/.test(token)) {
    throw new UsageError(
      'the dashboard token must be at least 16 characters of A-Z a-z 0-9 . _ ~ -',
      'for example: --token "$(openssl rand -hex 24)"',
    );
  }
  if (!isLoopback(host)) {
    if (token === undefined) {
      throw new UsageError(
        `--host ${host} makes the dashboard reachable from other machines; it then needs a fixed token`,
        `give --token <secret> or write one to ${tokenFile(paths)}; or keep 127.0.0.1 and use an SSH tunnel (docs/dashboard.md)`,
      );
    }
    io.err(
      `nightshift: warning: the dashboard listens on ${host}: anyone who can reach this port and has the token can drive the queue; traffic is not encrypted\n`,
    );
  }
  let handle: DashboardHandle;
  try {
    handle = await startDashboard({
      paths,
      host,
      port: opts.port ?? DEFAULT_PORT,
      token,
      readOnly: opts.readOnly,
      onError: (err) => io.err(`nightshift: dashboard: ${err.message}\n`),
    });
  } catch (err) {
    if (hasCode(err, 'EADDRINUSE'))
      throw new UsageError(`port ${opts.port ?? DEFAULT_PORT} is in use`, 'pick another with --port <n> (0 picks a free one)', {
        cause: err,
      });
    if (hasCode(err, 'EADDRNOTAVAIL') || hasCode(err, 'ENOTFOUND'))
      throw new UsageError(`cannot listen on ${host}`, 'give an address of this machine, or leave --host out (127.0.0.1)', { cause: err });
    throw err;
  }
  io.out(`nightshift: dashboard on ${handle.url}${opts.readOnly ? ' (read-only)' : ''}\n`);
  io.out('  the token in this address is shown once; the page keeps it in a cookie\n');
  return handle;
}

async function readTokenFile(paths: Paths): Promise<string | undefined> {
  try {
    return (await readFile(tokenFile(paths), 'utf8')).trim() || undefined;
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return undefined;
    throw err;
  }
}

/** The desktop's opener; a machine without one (a server over SSH) just has the printed address. */
function openBrowser(url: string, io: Output): void {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => io.err(`nightshift: could not start ${opener}; open the address above yourself\n`));
  child.unref();
}
