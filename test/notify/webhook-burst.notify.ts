import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startDaemon } from '../../src/daemon/start.js';
import type { Sandbox } from '../helpers/repo.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { notifiedLines, shellQueue as queue, webhookFor, type Sent } from '../helpers/notify.js';

const left = cleanUpAfterEach();

const start = (sb: Sandbox, once = true) =>
  startDaemon({ cwd: sb.repo, once, concurrency: 4, worktreeRoot: join(sb.dir, 'wt') }).then((h) => left.daemon(h));

// `npm run test:notify` (vitest.notify.config.ts): whole queues behind webhooks, too long for `npm test`.
describe('webhook sinks under a burst and a hung receiver', () => {
  it('receive the JSON of every done and failed event, and one digest for a burst of 20 tasks', async () => {
    const server = await webhookFor(left);
    const sb = await left.sandbox(
      [
        '---',
        'max_attempts: 1',
        'notify:',
        `  - { on: [done, failed], webhook: "${server.url('/each')}" }`,
        `  - { on: [done, failed], webhook: "${server.url('/digest')}", digest: 10m }`,
        '---',
        '',
      ].join('\n'),
    );
    const failing = [4, 11, 17];
    const ids = await queue(sb, 20, failing);
    const summary = await (await start(sb)).done;
    expect(summary).toMatchObject({ done: 17, failed: 3 });

    const each = server.received.filter((r) => r.path === '/each').map((r) => r.body as Sent);
    expect(each).toHaveLength(20);
    const byTask = new Map(each.map((e) => [e.task, e]));
    expect([...byTask.keys()].sort()).toEqual(ids);
    for (const [i, id] of ids.entries()) {
      const e = byTask.get(id) as Sent;
      if (failing.includes(i + 1)) {
        expect(e).toMatchObject({ event: 'failed', task: id, attempt: 1 });
        expect(e.reason).toMatch(/exit|3/);
      } else {
        expect(e).toMatchObject({ event: 'done', task: id, attempt: 1, branch: `nightshift/${id}` });
        expect(e.commit).toMatch(/^[0-9a-f]{40}$/);
        expect((await sb.git(['rev-parse', `nightshift/${id}`])).trim()).toBe(e.commit);
      }
    }

    // The digest window (10 minutes) was still open when the queue drained: the stop sent it, once.
    const digests = server.received.filter((r) => r.path === '/digest');
    expect(digests).toHaveLength(1);
    const digest = digests[0]?.body as Sent;
    expect(digest).toMatchObject({ event: 'digest', count: 20 });
    expect(digest.events?.map((e) => `${e.event} ${e.task}`).sort()).toEqual(each.map((e) => `${e.event} ${e.task}`).sort());
    expect(await notifiedLines(sb)).toEqual([]);
  });

  it('a webhook that hangs does not hold up the queue: every task ends while its first request is unanswered', async () => {
    const server = await webhookFor(left);
    server.script('/hook', ['hang']);
    const sb = await left.sandbox(
      [
        '---',
        'max_attempts: 1',
        'notify:',
        `  - { on: [done, failed], webhook: "${server.url('/hook')}", timeout: 300ms, retries: 0 }`,
        '---',
        '',
      ].join('\n'),
    );
    const ids = await queue(sb, 4, [3]);
    const handle = await start(sb);
    const ended: string[] = [];
    const answeredWhenEnded: number[] = [];
    const onEnd = ({ id }: { id: string }) => {
      ended.push(id);
      answeredWhenEnded.push(server.received.filter((r) => r.answer !== 'hung').length);
    };
    handle.events.on('task:done', onEnd);
    handle.events.on('task:failed', onEnd);
    const summary = await handle.done;
    expect(summary).toMatchObject({ done: 3, failed: 1 });
    expect(ended.sort()).toEqual(ids);
    // Not one request was ever answered, yet every task ended: deliveries are never awaited by a task.
    expect(server.received.length).toBeGreaterThan(0);
    expect(server.received.every((r) => r.answer === 'hung')).toBe(true);
    expect(answeredWhenEnded.every((n) => n === 0)).toBe(true);
    // The task lines carry their usual fields; the trouble is one line for the sink, plus what it lost.
    const lines = await notifiedLines(sb);
    const label = `notify[0] webhook ${new URL(server.url('/')).origin}`;
    expect(lines.filter((l) => l.fields.result === 'failing')).toEqual([
      expect.objectContaining({ fields: expect.objectContaining({ sink: label, reason: 'no answer within 300 ms' }) as unknown }),
    ]);
    const lost = lines.filter((l) => l.fields.result === 'lost');
    expect(lost).toHaveLength(1);
    expect(Number(lost[0]?.fields.events)).toBeGreaterThan(0);
  });
});
