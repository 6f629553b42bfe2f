import type { Leftovers } from './cleanup.js';
import { progressEvents, taskText, type Sandbox } from './repo.js';
import { startWebhookServer, type WebhookServer } from './webhookServer.js';

/** A notification as a webhook or command received it (the fields the tests look at). */
export interface Sent {
  event: string;
  task?: string;
  attempt?: number;
  commit?: string;
  branch?: string;
  reason?: string;
  count?: number;
  events?: Sent[];
}

/** A webhook receiver on 127.0.0.1, closed when the test's leftovers are released. */
export async function webhookFor(left: Leftovers): Promise<WebhookServer> {
  const server = await startWebhookServer();
  left.defer(() => server.close());
  return server;
}

/** `n` shell tasks 001-task...; those in `failing` exit 3 (give the rules max_attempts: 1 for one try each). */
export async function shellQueue(sb: Sandbox, n: number, failing: number[] = []): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 1; i <= n; i++) {
    const id = `${String(i).padStart(3, '0')}-task`;
    ids.push(id);
    const run = failing.includes(i) ? `echo "broke on purpose ${i}" >&2; exit 3` : `echo ${i} > f${i}.txt`;
    await sb.write(`tasks/${id}.md`, taskText({ title: `Task ${i}`, run }));
  }
  return ids;
}

/** progress.txt's `notified` lines. */
export async function notifiedLines(sb: Sandbox): Promise<ReturnType<typeof progressEvents>> {
  return progressEvents(await sb.read('progress.txt')).filter((e) => e.event === 'notified');
}
