import { hostname } from 'node:os';
import { loadRules } from '../config/rules.js';
import { UsageError } from '../errors.js';
import { deliver } from '../notify/deliver.js';
import type { NotifyEvent } from '../notify/event.js';
import { secretMasker } from '../util/secrets.js';
import type { Output } from './output.js';
import { openRepo } from './repo.js';

/**
 * `notify test`: sends one sample event to every sink in rules.md, whatever its `on:` says, once each (no
 * retries: the answer is about the sink as it is now), at the same time, and prints which worked. Exit 1
 * when any did not.
 */
export async function testNotify(opts: { cwd: string }, io: Output): Promise<number> {
  const paths = await openRepo(opts.cwd);
  const rules = await loadRules(paths.rules);
  if (rules.notify.length === 0) {
    throw new UsageError(
      'rules.md has no notify: sinks to test',
      'add one, like notify: [ { on: [failed], webhook: "https://..." } ]; see docs/notifications.md',
    );
  }
  const sample: NotifyEvent = {
    event: 'test',
    time: new Date().toISOString(),
    repo: paths.root,
    host: hostname(),
    reason: 'a sample sent by nightshift notify test',
  };
  const mask = secretMasker();
  const results = await Promise.all(
    rules.notify.map((sink) => deliver(sink.target, { kind: 'event', event: sample }, { timeoutMs: sink.timeoutMs, cwd: paths.root })),
  );
  let failed = 0;
  for (const [i, sink] of rules.notify.entries()) {
    const r = results[i];
    if (!r) continue;
    if (r.ok) io.out(`ok      ${sink.label} (${r.ms} ms)\n`);
    else {
      failed++;
      io.out(`FAILED  ${sink.label}: ${mask(r.reason)}\n`);
    }
  }
  io.out(`nightshift: ${rules.notify.length - failed} of ${rules.notify.length} sinks work\n`);
  return failed > 0 ? 1 : 0;
}
