import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { showStatus } from '../../src/commands/daemonStatus.js';
import { showStatusLine } from '../../src/commands/status.js';
import { startDaemon } from '../../src/daemon/start.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { taskText } from '../helpers/repo.js';
import { waitFor } from '../helpers/wait.js';

/** `status --line` and `daemon status` against a running daemon: task counts, spend against budgets, parked executors. */
const left = cleanUpAfterEach();

function captured() {
  let text = '';
  return { io: { out: (t: string) => void (text += t), err: (t: string) => void (text += t) }, text: () => text };
}

describe('nightshift status --line', () => {
  it('one line: counts, spend against the day budget, a parked executor and when it comes back', async () => {
    const sb = await left.sandbox();
    const bin = join(sb.dir, 'bin');
    await mkdir(bin);
    const reset = new Date(Date.now() + 3 * 3600_000);
    reset.setSeconds(0, 0);
    const scripts = {
      spend: 'echo "nightshift: usage cost_usd=0.25 tokens=1500"\necho hi > hi.txt',
      limited: `echo "nightshift: infra usage-limit reset=${reset.toISOString()} out of credits"\nexit 1`,
    };
    for (const [name, body] of Object.entries(scripts)) {
      await writeFile(join(bin, name), `#!/bin/sh\n${body}\n`);
      await chmod(join(bin, name), 0o755);
    }
    await sb.write(
      'rules.md',
      `---\nexecutor: spend\nbudget: { per_day_usd: 1, per_day_tokens: 100000, per_task_usd: 0.5 }\nexecutors:\n  spend: { command: ["${join(bin, 'spend')}"] }\n  limited: { command: ["${join(bin, 'limited')}"] }\n---\n`,
    );
    await sb.write('tasks/001-spend.md', taskText({ title: 'Spend', priority: 2 }));
    await sb.write('tasks/002-limited.md', taskText({ title: 'Limited', executor: 'limited', priority: 1 }));
    const daemon = left.daemon(await startDaemon({ cwd: sb.repo, worktreeRoot: join(sb.dir, 'wt'), concurrency: 1 }));
    let done = false;
    let parked = false;
    let requeued = false;
    daemon.events.on('task:done', () => (done = true));
    daemon.events.on('executor:parked', () => (parked = true));
    // The parked executor's task goes back to the queue just after the executor is parked.
    daemon.events.on('task:requeued', () => (requeued = true));
    await waitFor('a task done, an executor parked and its task requeued', () => done && parked && requeued, 60_000);
    // The status file is written a moment after the events.
    const hm = `${String(reset.getHours()).padStart(2, '0')}:${String(reset.getMinutes()).padStart(2, '0')}`;
    const when = reset.toDateString() === new Date().toDateString() ? hm : `${reset.getMonth() + 1}/${reset.getDate()} ${hm}`;
    const line = await waitFor('the parked executor in the status line', async () => {
      const out = captured();
      await showStatusLine({ cwd: sb.repo, line: true }, out.io);
      return out.text().includes('parked') && out.text();
    });
    expect(line).toBe(`ns: 0 running, 1 queued, 1 done | $0.25/$1.00 day, 2k/100k tok day | limited parked until ${when}\n`);

    const status = captured();
    await showStatus({ cwd: sb.repo }, status.io);
    expect(status.text()).toContain('spend today: $0.25, 1,500 tokens\n');
    expect(status.text()).toContain('  per_day_usd  $0.25 of $1.00  $0.75 left\n');
    expect(status.text()).toContain('  per_day_tokens  1,500 tokens of 100,000 tokens  98,500 tokens left\n');
    expect(status.text()).toContain('  per_task_usd  $0.50 per task\n');
    const json = captured();
    await showStatus({ cwd: sb.repo, json: true }, json.io);
    expect((JSON.parse(json.text()) as { budget: unknown }).budget).toMatchObject({
      today: { usd: 0.25, tokens: 1500 },
      figures: [
        { budget: 'per_day_usd', spent: 0.25, limit: 1, unit: 'usd' },
        { budget: 'per_day_tokens', spent: 1500, limit: 100000, unit: 'tokens' },
      ],
      perTask: { usd: 0.5 },
    });
  });
});
