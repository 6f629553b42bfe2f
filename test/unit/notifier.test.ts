import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { NotifySink } from '../../src/config/notifyRules.js';
import { Notifier } from '../../src/notify/notifier.js';
import { ProgressLog } from '../../src/progress/log.js';
import { DaemonEvents } from '../../src/run/events.js';
import { secretMasker } from '../../src/util/secrets.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { progressEvents } from '../helpers/repo.js';
import { waitFor } from '../helpers/wait.js';
import { webhookFor } from '../helpers/notify.js';

const left = cleanUpAfterEach();
const { tempDir } = left;

const SECRET = 'sekrit-value-12345';

/** What the recorder command saw: its arguments, stdin and NIGHTSHIFT_* environment. */
interface Seen {
  argv: string[];
  stdin: { event: string; task?: string; reason?: string; [k: string]: unknown };
  env: Record<string, string>;
}

/** A real command sink: a node script that appends what it was given to a file, one JSON line per run. */
async function recorder(dir: string): Promise<{ argv: [string, ...string[]]; seen: () => Promise<Seen[]> }> {
  const script = join(dir, 'record.mjs');
  const out = join(dir, 'seen.jsonl');
  await writeFile(
    script,
    `import { appendFileSync, readFileSync } from 'node:fs';
const stdin = JSON.parse(readFileSync(0, 'utf8'));
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('NIGHTSHIFT_')));
appendFileSync(${JSON.stringify(out)}, JSON.stringify({ argv: process.argv.slice(2), stdin, env }) + '\\n');
`,
  );
  return {
    argv: [process.execPath, script, '{event}', '{task}', '{text}'],
    seen: async () =>
      (await readFile(out, 'utf8').catch(() => ''))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Seen),
  };
}

function sink(over: Partial<NotifySink> & Pick<NotifySink, 'on' | 'target'>): NotifySink {
  return { label: `command ${over.target.kind}`, timeoutMs: 10_000, retries: 0, backoffMs: 10, ...over };
}

function setup(sinks: NotifySink[], dir: string, once = false) {
  const events = new DaemonEvents();
  const progress = new ProgressLog(join(dir, 'progress.txt'));
  const notifier = new Notifier(sinks, {
    root: dir,
    progress,
    logger: pino({ level: 'silent' }),
    once,
    mask: secretMasker({ API_TOKEN: SECRET }),
  }).attach(events);
  const lines = async () => progressEvents(await readFile(progress.file, 'utf8').catch(() => ''));
  return { events, notifier, lines };
}

describe('command sinks', () => {
  it('get the event as JSON on stdin, in NIGHTSHIFT_EVENT_* variables and {placeholders}, never through a shell, secrets masked', async () => {
    const dir = await tempDir();
    const rec = await recorder(dir);
    const { events, notifier } = setup(
      [sink({ on: ['failed', 'budget-reached', 'report'], target: { kind: 'command', argv: rec.argv } })],
      dir,
    );
    const reason = `tests failed; touch PWNED; $(touch PWNED2) \`touch PWNED3\` token=${SECRET}`;
    events.emit('task:failed', { id: '007-login', attempt: 2, reason });
    events.emit('task:done', { id: '008-other', attempt: 1, commit: 'a'.repeat(40), branch: 'nightshift/008-other' });
    // The budget engineer's events, emitted here as the daemon will.
    events.emit('budget:reached', { budget: 'per_day_usd', spent: 20.4, limit: 20, unit: 'usd' });
    events.emit('report:written', { file: '.nightshift/reports/2026-12-01.md', markdown: '# Night of 2026-12-01\n\n3 done\n' });
    await notifier.stopped({ done: 0, failed: 1, blocked: 0, cancelled: 0, waiting: 0 });

    const seen = await rec.seen();
    // done and daemon-stopped were not asked for; the rest came in the order they happened.
    expect(seen.map((s) => s.stdin.event)).toEqual(['failed', 'budget-reached', 'report']);
    const [failed, budget, report] = seen as [Seen, Seen, Seen];
    const masked = reason.replace(SECRET, '***');
    expect(failed.stdin).toMatchObject({ event: 'failed', task: '007-login', attempt: 2, reason: masked, repo: dir });
    expect(failed.env).toMatchObject({
      NIGHTSHIFT_EVENT: 'failed',
      NIGHTSHIFT_EVENT_TASK: '007-login',
      NIGHTSHIFT_EVENT_ATTEMPT: '2',
      NIGHTSHIFT_EVENT_REASON: masked,
    });
    expect(failed.argv.slice(0, 2)).toEqual(['failed', '007-login']);
    expect(failed.argv[2]).toContain(masked);
    expect(JSON.stringify(seen)).not.toContain(SECRET);
    // The reason's shell syntax stayed text.
    for (const f of ['PWNED', 'PWNED2', 'PWNED3']) expect(existsSync(join(dir, f))).toBe(false);

    expect(budget.stdin).toMatchObject({ event: 'budget-reached', budget: { name: 'per_day_usd', spent: 20.4, limit: 20, unit: 'usd' } });
    expect(budget.env.NIGHTSHIFT_EVENT_TEXT).toMatch(/budget per_day_usd reached: 20.4 of 20 usd/);
    expect(report.stdin).toMatchObject({
      event: 'report',
      file: '.nightshift/reports/2026-12-01.md',
      markdown: '# Night of 2026-12-01\n\n3 done\n',
    });
  });

  it('a digest sends what its window gathered as one message', async () => {
    const dir = await tempDir();
    const rec = await recorder(dir);
    const { events } = setup([sink({ on: ['done', 'parked'], digestMs: 300, target: { kind: 'command', argv: rec.argv } })], dir);
    for (const id of ['001-a', '002-b', '003-c'])
      events.emit('task:done', { id, attempt: 1, commit: 'c'.repeat(40), branch: `nightshift/${id}` });
    events.emit('executor:parked', { executor: 'claude', cause: 'usage-limit', reason: 'usage limit', until: '2026-12-01T09:00:00Z' });
    const [digest] = await waitFor('the digest', async () => {
      const s = await rec.seen();
      return s.length > 0 && s;
    });
    expect(digest?.stdin).toMatchObject({ event: 'digest', count: 4, text: expect.stringMatching(/3 done, 1 parked/) as unknown });
    expect((digest?.stdin.events as Array<{ task?: string }>).map((e) => e.task)).toEqual(['001-a', '002-b', '003-c', undefined]);
    expect(digest?.env).toMatchObject({ NIGHTSHIFT_EVENT: 'digest', NIGHTSHIFT_EVENT_COUNT: '4' });
    expect(digest?.argv[0]).toBe('digest');
  });

  it('a failing or hanging command is retried, then given up: one progress line per sink, and what it lost', async () => {
    const dir = await tempDir();
    const failing = sink({
      label: 'command failing',
      on: ['done'],
      retries: 1,
      target: { kind: 'command', argv: [process.execPath, '-e', 'console.error("no display"); process.exit(4)'] },
    });
    const hanging = sink({
      label: 'command hanging',
      on: ['done'],
      timeoutMs: 200,
      target: { kind: 'command', argv: [process.execPath, '-e', 'setTimeout(() => {}, 60000)'] },
    });
    const missing = sink({ label: 'command missing', on: ['done'], target: { kind: 'command', argv: ['nightshift-no-such-program'] } });
    const { events, notifier, lines } = setup([failing, hanging, missing], dir);
    for (const id of ['001-a', '002-b']) events.emit('task:done', { id, attempt: 1, commit: 'c'.repeat(40), branch: `nightshift/${id}` });
    await notifier.stopped({ done: 2, failed: 0, blocked: 0, cancelled: 0, waiting: 0 });
    const notified = (await lines()).filter((l) => l.event === 'notified').map((l) => l.fields);
    expect(notified.filter((f) => f.result === 'failing')).toEqual(
      expect.arrayContaining([
        { sink: 'command failing', result: 'failing', reason: `${process.execPath} exited 4: no display` },
        { sink: 'command hanging', result: 'failing', reason: `${process.execPath}: no exit within 200 ms` },
        { sink: 'command missing', result: 'failing', reason: 'nightshift-no-such-program: command not found' },
      ]),
    );
    expect(notified.filter((f) => f.result === 'failing')).toHaveLength(3);
    expect(notified.filter((f) => f.result === 'lost')).toEqual(
      expect.arrayContaining(
        ['command failing', 'command hanging', 'command missing'].map((s) => ({ sink: s, result: 'lost', events: '2' })),
      ),
    );
  });

  it('--once: queue-empty and daemon-stopped when the daemon stops after work', async () => {
    const dir = await tempDir();
    const rec = await recorder(dir);
    const { events, notifier } = setup(
      [sink({ on: ['queue-empty', 'daemon-stopped'], target: { kind: 'command', argv: rec.argv } })],
      dir,
      true,
    );
    events.emit('task:blocked', { id: '001-a', reason: 'depends on 000-x, which failed' });
    await notifier.stopped({ done: 0, failed: 0, blocked: 1, cancelled: 0, waiting: 0 });
    const seen = await rec.seen();
    expect(seen.map((s) => s.stdin.event)).toEqual(['queue-empty', 'daemon-stopped']);
    expect(seen[1]?.stdin.summary).toEqual({ done: 0, failed: 0, blocked: 1, cancelled: 0, waiting: 0 });
  });
});

describe('webhook sinks', () => {
  it('format: slack posts one text, secrets masked; user:password@ in the URL becomes basic authentication', async () => {
    const dir = await tempDir();
    const server = await webhookFor(left);
    const url = server.url('/slack').replace('http://', 'http://ada:p%40ss@');
    const { events, notifier } = setup([sink({ on: ['failed'], target: { kind: 'webhook', url, format: 'slack' } })], dir);
    events.emit('task:failed', { id: '007-login', attempt: 3, reason: `tests failed, token ${SECRET}` });
    await notifier.stopped({ done: 0, failed: 1, blocked: 0, cancelled: 0, waiting: 0 });
    expect(server.received).toEqual([
      {
        path: '/slack',
        authorization: `Basic ${Buffer.from('ada:p@ss').toString('base64')}`,
        answer: 200,
        body: { text: `nightshift: 007-login failed: tests failed, token *** (${basename(dir)})` },
      },
    ]);
  });
});
