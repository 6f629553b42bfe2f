import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startDaemon, type DaemonHandle } from '../src/daemon/start.js';
import { makeSandbox, taskText, type Sandbox } from './helpers/repo.js';

let sb: Sandbox | undefined;
let daemon: DaemonHandle | undefined;
afterEach(async () => {
  await daemon?.stop();
  await sb?.cleanup();
  daemon = undefined;
  sb = undefined;
});

/** Resolves with the next event of that name whose payload passes `match`. */
function next<T>(handle: DaemonHandle, event: 'task:invalid' | 'task:done', match: (p: T) => boolean): Promise<T> {
  return new Promise((resolve) => {
    const on = (payload: T) => {
      if (!match(payload)) return;
      handle.events.off(event, on as never);
      resolve(payload);
    };
    handle.events.on(event, on as never);
  });
}

describe('daemon in watch mode', () => {
  it('reports a file that breaks, is fixed and runs, then breaks again the same way, both times', async () => {
    sb = await makeSandbox({ rules: '---\n---\n' });
    const file = join(sb.repo, 'tasks', '001-flaky.md');
    daemon = await startDaemon({ cwd: sb.repo, worktreeRoot: join(sb.dir, 'wt'), rescanMs: 200 });
    const handle = daemon;
    const broken = '---\ntitle: [unclosed\n---\n';

    let invalid = next<{ id: string; reason: string }>(handle, 'task:invalid', (p) => p.id === '001-flaky');
    await writeFile(file, broken);
    const first = await invalid;

    const done = next<{ id: string }>(handle, 'task:done', (p) => p.id === '001-flaky');
    await writeFile(file, taskText({ title: 'Flaky', run: 'echo x > x.txt' }));
    await done;

    invalid = next(handle, 'task:invalid', (p) => p.id === '001-flaky');
    await writeFile(file, broken);
    expect((await invalid).reason).toBe(first.reason);
  });
});
