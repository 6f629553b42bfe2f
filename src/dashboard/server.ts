import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import type { Paths } from '../paths.js';
import { dashboardApp } from './app.js';
import { newToken } from './auth.js';
import { Hub } from './hub.js';
import { Snapshot } from './snapshot.js';

export const DEFAULT_PORT = 7433;

export interface DashboardOptions {
  paths: Paths;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Generated per start when not given. */
  token?: string;
  readOnly?: boolean;
  onError?: (err: Error) => void;
}

export interface DashboardHandle {
  /** The address with the token, to print once. */
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

/** A bind only this machine can reach: the Host header must then name loopback too. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Starts the dashboard: the watcher hub, then the HTTP server. close() ends the event streams, the
 * watchers and the server, in that order.
 */
export async function startDashboard(opts: DashboardOptions): Promise<DashboardHandle> {
  const token = opts.token ?? newToken();
  const snapshot = new Snapshot(opts.paths);
  const hub = new Hub(snapshot, opts.onError ?? (() => undefined));
  await hub.start();
  const app = dashboardApp({ snapshot, hub, token, readOnly: opts.readOnly ?? false, loopbackOnly: isLoopback(opts.host) });
  let server: Server;
  const port = await new Promise<number>((resolve, reject) => {
    server = serve({ fetch: app.fetch, hostname: opts.host, port: opts.port }, (info: AddressInfo) => resolve(info.port)) as Server;
    server.once('error', reject);
  }).catch((err: unknown) => {
    hub.close();
    throw err;
  });
  const shown = opts.host.includes(':') ? `[${opts.host}]` : opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shown}:${port}/?token=${token}`,
    port,
    token,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        hub.close();
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
