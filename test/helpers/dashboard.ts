import { request } from 'node:http';
import { startDashboard, type DashboardHandle } from '../../src/dashboard/server.js';
import { pathsFor } from '../../src/paths.js';
import type { Leftovers } from './cleanup.js';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One plain HTTP request to 127.0.0.1 with exactly the headers given (fetch would not let a test set Host). */
export function http(
  port: number,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A dashboard on a free loopback port for the repo, closed after the test. */
export async function dashboardFor(left: Leftovers, repo: string, opts: { readOnly?: boolean } = {}): Promise<DashboardHandle> {
  const handle = await startDashboard({ paths: pathsFor(repo), host: '127.0.0.1', port: 0, readOnly: opts.readOnly });
  left.defer(() => handle.close());
  return handle;
}

/** The cookie a browser keeps after opening the printed address. */
export function cookieOf(handle: DashboardHandle): string {
  return `nightshift_dashboard=${handle.token}`;
}
