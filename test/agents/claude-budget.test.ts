import { describe, it, type TestContext } from 'vitest';
import { cleanUpAfterTest } from '../helpers/cleanup.js';
import { pathWithAgents } from '../helpers/agentRun.js';
import { startModelServer, type Turn } from '../helpers/modelServer.js';
import { progressEvents, taskText } from '../helpers/repo.js';
import { readTask } from '../helpers/task.js';

/**
 * budget.per_task_usd reaches the real Claude Code (the pinned devDependency) as `--max-budget-usd` with
 * what the task may still spend, and Claude Code enforces it itself; driven offline by the scripted model
 * server on 127.0.0.1.
 */

const WRITE_HELLO: Turn[] = [
  { kind: 'write-file', path: 'hello.txt', content: 'hello from the agent\n' },
  { kind: 'final', text: 'I wrote hello.txt.' },
];

async function run(t: TestContext, budget: string, spentBefore: number) {
  const left = cleanUpAfterTest(t);
  const server = await startModelServer(WRITE_HELLO);
  left.defer(() => server.close());
  const rules = `---\nexecutor: claude\ntest: grep -q hello hello.txt\nmax_attempts: 2\nbudget: ${budget}\n---\nBe brief.\n`;
  const sb = await left.sandbox({ rules });
  await sb.write(
    'tasks/001-hello.md',
    taskText({ title: 'Say hello', cost_usd: spentBefore }, '# Goal\n\nWrite hello.txt saying hello.\n'),
  );
  const env: NodeJS.ProcessEnv = {
    PATH: pathWithAgents(),
    ANTHROPIC_BASE_URL: server.url,
    ANTHROPIC_API_KEY: 'sk-test-not-a-secret',
    CLAUDE_CODE_MAX_RETRIES: '0',
  };
  const r = await sb.cli(['daemon', 'start', '--once'], { env });
  const { fm } = await readTask(sb, '001-hello');
  return {
    r,
    fm,
    sb,
    server,
    log: await sb.read('.nightshift/logs/001-hello/1.log'),
    events: progressEvents(await sb.read('progress.txt')),
  };
}

describe('claude: --max-budget-usd from budget.per_task_usd', () => {
  it('a task with almost nothing left: Claude Code is given what is left and stops itself once it is spent', async (t) => {
    const { expect } = t;
    const a = await run(t, '{ per_task_usd: 1 }', 0.99999);
    expect(a.r.code).toBe(1);
    // $1 - $0.99999: Claude Code names the very allowance it was given, and stops after one model turn.
    expect(a.log).toContain('Reached maximum budget ($0.00001)');
    expect(a.log).toContain('executor claude failed: claude: error_max_budget_usd');
    expect(a.server.modelRequests()).toHaveLength(1);
    // What it spent is recorded; the task is over its own budget, so no second attempt runs.
    expect(Number(a.fm.cost_usd)).toBeGreaterThan(1);
    expect(a.fm).toMatchObject({ status: 'failed', attempts: 1 });
    expect(String(a.fm.error)).toMatch(/^budget: per_task_usd reached \(\$1\.00 of \$1\.00\)$/);
    const failed = a.events.find((e) => e.event === 'failed');
    expect(failed?.fields).toMatchObject({ attempts: '1', reason: a.fm.error });
    expect(a.events.filter((e) => e.event === 'attempt-started')).toHaveLength(1);
  });
});
