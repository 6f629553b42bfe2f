import { describe, expect, it } from 'vitest';
import { parseRules } from '../../src/config/rules.js';
import { UsageError } from '../../src/errors.js';

const rules = (yaml: string) => parseRules(`---\n${yaml}\n---\n`);

function problems(yaml: string): string {
  try {
    rules(yaml);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).hint).toMatch(/fix rules\.md/);
    return (err as UsageError).message;
  }
  throw new Error('expected rules.md to be refused');
}

describe('rules.md notify:', () => {
  it('reads command and webhook sinks, with defaults filled in', () => {
    const r = rules(
      [
        'notify:',
        '  - { on: [done, failed, blocked, parked, resumed, budget-reached, queue-empty, daemon-stopped, report], webhook: "https://hooks.slack.com/services/T1/B2/sekrit", format: slack, digest: 10m }',
        '  - { on: failed, command: ["notify-send", "nightshift", "{text}"], timeout: 5s, retries: 0, backoff: 2s }',
      ].join('\n'),
    );
    expect(r.notify).toEqual([
      {
        // The label never shows the path: a Slack webhook's path is its secret.
        label: 'notify[0] webhook https://hooks.slack.com',
        on: ['done', 'failed', 'blocked', 'parked', 'resumed', 'budget-reached', 'queue-empty', 'daemon-stopped', 'report'],
        target: { kind: 'webhook', url: 'https://hooks.slack.com/services/T1/B2/sekrit', format: 'slack' },
        digestMs: 600_000,
        timeoutMs: 10_000,
        retries: 5,
        backoffMs: 1000,
      },
      {
        label: 'notify[1] command notify-send',
        on: ['failed'],
        target: { kind: 'command', argv: ['notify-send', 'nightshift', '{text}'] },
        digestMs: undefined,
        timeoutMs: 5000,
        retries: 0,
        backoffMs: 2000,
      },
    ]);
    expect(rules('concurrency: 1').notify).toEqual([]);
  });

  it.each<[string, string, RegExp]>([
    ['not a list', 'notify: { on: [done] }', /notify must be a list of sinks/],
    ['no target', 'notify: [ { on: [done] } ]', /notify\[0\] needs exactly one of command: .* or webhook: <url>/],
    ['both targets', 'notify: [ { on: [done], command: [x], webhook: "https://a.b" } ]', /needs exactly one of/],
    [
      'an unknown event',
      'notify: [ { on: [done, finished], command: [x] } ]',
      /notify\[0\]\.on: unknown event "finished" \(known: done, failed/,
    ],
    ['no events', 'notify: [ { command: [x] } ]', /notify\[0\]\.on must list the events/],
    ['a shell line', 'notify: [ { on: [done], command: "notify-send hi" } ]', /command must be a list: the program, then its arguments/],
    ['an option first', 'notify: [ { on: [done], command: ["--help"] } ]', /must start with the program to run/],
    ['a file URL', 'notify: [ { on: [done], webhook: "file:///etc/passwd" } ]', /webhook must be an http:\/\/ or https:\/\/ URL/],
    ['a bad format', 'notify: [ { on: [done], webhook: "https://a.b", format: xml } ]', /format must be json or slack/],
    ['a format on a command', 'notify: [ { on: [done], command: [x], format: json } ]', /format is for webhooks/],
    ['a bad digest', 'notify: [ { on: [done], command: [x], digest: soon } ]', /notify\[0\]\.digest: "soon" is not a duration/],
    ['bad retries', 'notify: [ { on: [done], command: [x], retries: -1 } ]', /retries must be a whole number from 0 to 100/],
    ['an unknown key', 'notify: [ { on: [done], command: [x], when: always } ]', /notify\[0\]: unknown key "when"/],
  ])('refuses %s with one clear problem', (_name, yaml, message) => {
    expect(problems(yaml)).toMatch(message);
  });

  it('lists the problems of every sink at once', () => {
    const message = problems('notify: [ { on: [nope], command: [x] }, { on: [done], webhook: "ftp://x" } ]');
    expect(message).toMatch(/notify\[0\]\.on: unknown event/);
    expect(message).toMatch(/notify\[1\]\.webhook must be/);
  });
});
