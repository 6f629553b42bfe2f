import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startDaemon } from '../../src/daemon/start.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { notifiedLines, shellQueue as queue, webhookFor, type Sent } from '../helpers/notify.js';
import { waitFor } from '../helpers/wait.js';

const left = cleanUpAfterEach();

describe('webhook sinks', () => {
  it('a webhook that answers 500 for a while loses nothing: every event arrives once it recovers, in order', async () => {
    const server = await webhookFor(left);
    server.script('/hook', [500, 500, 500, 500, 500, 200]);
    const sb = await left.sandbox(
      [
        '---',
        'max_attempts: 1',
        'concurrency: 1',
        'notify:',
        `  - { on: [done, failed, daemon-stopped], webhook: "${server.url('/hook')}", retries: 10, backoff: 20ms }`,
        '---',
        '',
      ].join('\n'),
    );
    const ids = await queue(sb, 3, [2]);
    const handle = await startDaemon({ cwd: sb.repo, once: true, concurrency: 1, worktreeRoot: join(sb.dir, 'wt') });
    left.daemon(handle);
    const summary = await handle.done;
    expect(summary).toMatchObject({ done: 2, failed: 1 });
    const delivered = server.received.filter((r) => r.answer === 200).map((r) => r.body as Sent);
    expect(delivered.map((e) => `${e.event} ${e.task ?? ''}`)).toEqual([
      ...ids.map((id, i) => `${i === 1 ? 'failed' : 'done'} ${id}`),
      'daemon-stopped ',
    ]);
    expect(server.received.filter((r) => r.answer === 500)).toHaveLength(5);
    const lines = await notifiedLines(sb);
    expect(lines.map((l) => [l.fields.result, l.fields.reason])).toEqual([['failing', 'HTTP 500']]);
  });

  it('watch mode: queue-empty once per stretch of work, daemon-stopped on stop', async () => {
    const server = await webhookFor(left);
    const sb = await left.sandbox(
      ['---', 'notify:', `  - { on: [queue-empty, daemon-stopped], webhook: "${server.url('/q')}" }`, '---', ''].join('\n'),
    );
    await queue(sb, 2);
    const handle = await startDaemon({ cwd: sb.repo, concurrency: 2, worktreeRoot: join(sb.dir, 'wt'), rescanMs: 100 });
    left.daemon(handle);
    await waitFor('queue-empty', () => server.received.some((r) => (r.body as Sent).event === 'queue-empty'), 30_000);
    // Rescans every 100 ms go idle again and again; no new work means no new message.
    let idles = 0;
    handle.events.on('idle', () => idles++);
    await waitFor('a few idle rescans', () => idles >= 3, 15_000);
    await handle.stop();
    expect(server.received.map((r) => (r.body as Sent).event)).toEqual(['queue-empty', 'daemon-stopped']);
  });
});

describe('nightshift notify test', () => {
  it('sends a sample to every sink and says which worked; without sinks, says how to add one', async () => {
    const server = await webhookFor(left);
    const sb = await left.sandbox('---\n---\n');
    const none = await sb.cli(['notify', 'test']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no notify: sinks to test\n {2}hint: add one/);
    await sb.write(
      'rules.md',
      [
        '---',
        'notify:',
        `  - { on: [failed], webhook: "${server.url('/ok')}", format: slack }`,
        `  - { on: [done], command: ["${process.execPath}", "-e", "process.exit(7)"] }`,
        '---',
        '',
      ].join('\n'),
    );
    const r = await sb.cli(['notify', 'test']);
    expect(r.stdout).toContain(`ok      notify[0] webhook ${new URL(server.url('/')).origin} (`);
    expect(r.stdout).toContain(`FAILED  notify[1] command ${process.execPath}: ${process.execPath} exited 7`);
    expect(r.stdout).toContain('nightshift: 1 of 2 sinks work');
    expect(r.code).toBe(1);
    expect(server.received).toEqual([
      {
        path: '/ok',
        answer: 200,
        body: { text: expect.stringMatching(/^nightshift: nightshift notify test: this sink works \(repo\)$/) as unknown },
      },
    ]);
  });
});
