import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { waitFor } from './wait.js';

const execFileP = promisify(execFile);

/**
 * A real git server on 127.0.0.1: `git daemon --enable=receive-pack` serving every bare repository under
 * `baseDir` (git://127.0.0.1:<port>/<name>). stop() and start() again on the same port stand in for a
 * network partition. Register stop() with the test's cleanup (defer).
 */
export interface GitServer {
  port: number;
  url(name: string): string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startGitDaemon(baseDir: string, probeRepo: string): Promise<GitServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const server: GitServer = {
    port,
    url: (name) => `git://127.0.0.1:${port}/${name}`,
    async start() {
      const started = spawn(
        'git',
        [
          'daemon',
          '--reuseaddr',
          '--export-all',
          '--enable=receive-pack',
          `--base-path=${baseDir}`,
          '--listen=127.0.0.1',
          `--port=${port}`,
          baseDir,
        ],
        // Its own process group: stop() ends the daemon and the child it forks for each connection.
        { stdio: 'ignore', detached: true },
      );
      child = started;
      // Answers only once it listens: ls-remote fails until then.
      await waitFor(
        `git daemon on 127.0.0.1:${port}`,
        async () => {
          if (started.exitCode !== null) throw new Error(`git daemon exited ${started.exitCode}`);
          return execFileP('git', ['ls-remote', server.url(probeRepo)], { timeout: 5000 }).then(
            () => true,
            () => false,
          );
        },
        30_000,
      );
    },
    async stop() {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null || running.pid === undefined) return;
      const exited = new Promise((r) => running.once('exit', r));
      try {
        process.kill(-running.pid, 'SIGKILL');
      } catch {
        return; // already gone
      }
      await exited;
    },
  };
  await server.start();
  return server;
}

/** A port nothing listens on right now (the kernel's pick). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * A TCP relay on 127.0.0.1 in front of the git server, for one machine: cut() closes its connections and
 * refuses new ones (a network partition that git config cannot undo), heal() serves again on the same port.
 */
export interface Link {
  url(name: string): string;
  cut(): Promise<void>;
  heal(): Promise<void>;
}

export async function startLink(target: GitServer): Promise<Link> {
  const { createConnection } = await import('node:net');
  const port = await freePort();
  const sockets = new Set<import('node:net').Socket>();
  let server: import('node:net').Server | undefined;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = createConnection({ host: '127.0.0.1', port: target.port });
        for (const sock of [client, upstream]) {
          sockets.add(sock);
          sock.on('close', () => sockets.delete(sock));
          sock.on('error', () => undefined);
        }
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
      server = s;
    });
  await listen();
  return {
    url: (name) => `git://127.0.0.1:${port}/${name}`,
    async cut() {
      const s = server;
      server = undefined;
      for (const sock of sockets) sock.destroy();
      if (s) await new Promise((r) => s.close(r));
    },
    heal: () => (server ? Promise.resolve() : listen()),
  };
}
