import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the server received, its body parsed as JSON. */
export interface Received {
  path: string;
  /** The authorization header, if any. */
  authorization?: string;
  body: unknown;
  /** How the server answered: an HTTP status, or `hung` for a request it never answered. */
  answer: number | 'hung';
}

/** What the server does with the next request to a path: answer with a status, or hold it unanswered. */
export type Behaviour = number | 'hang';

export interface WebhookServer {
  url(path: string): string;
  received: Received[];
  /** The answers to give to a path, in order; the last one repeats. Default: 200. */
  script(path: string, answers: Behaviour[]): void;
  close(): Promise<void>;
}

/** A webhook receiver on 127.0.0.1 (never another interface) that records every request. */
export async function startWebhookServer(): Promise<WebhookServer> {
  const scripts = new Map<string, Behaviour[]>();
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const answers = scripts.get(path) ?? [200];
      const next = (answers.length > 1 ? answers.shift() : answers[0]) ?? 200;
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // kept as text: the test says what it expected
      }
      const authorization = req.headers.authorization;
      received.push({ path, ...(authorization ? { authorization } : {}), body, answer: next === 'hang' ? 'hung' : next });
      if (next === 'hang') return;
      res.writeHead(next, { 'content-type': 'text/plain' }).end(next < 300 ? 'ok' : 'nope');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    received,
    script: (path, answers) => void scripts.set(path, [...answers]),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
