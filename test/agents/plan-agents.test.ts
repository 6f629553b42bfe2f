import { join } from 'node:path';
import { describe, it, type TestContext } from 'vitest';
import { agentTestEnv, codexTestProviderArgs } from '../helpers/agentRun.js';
import { cleanUpAfterTest } from '../helpers/cleanup.js';
import { startModelServer, USAGE, type ModelServer, type Turn } from '../helpers/modelServer.js';
import { REVIEWS, THREE } from '../helpers/plan.js';
import { listFiles, progressEvents, type Sandbox } from '../helpers/repo.js';
import { readTask } from '../helpers/task.js';

/**
 * `nightshift plan` with the real Claude Code as planner and the real Codex as reviewer, offline: each
 * talks only to its scripted model server on 127.0.0.1. Claude answers through its StructuredOutput tool
 * (--json-schema), Codex through its final message (--output-schema).
 */

interface Setup {
  sb: Sandbox;
  claude: ModelServer;
  codex: ModelServer;
  env: NodeJS.ProcessEnv;
}

async function setup(t: TestContext, planner: Turn[], reviews: Turn[]): Promise<Setup> {
  const left = cleanUpAfterTest(t);
  const claude = await startModelServer(planner);
  left.defer(() => claude.close());
  const codex = await startModelServer(reviews);
  left.defer(() => codex.close());
  const rules = `---
executor: worker
plan: { planner: claude, reviewer: codex }
executors:
  codex:
    args: ${JSON.stringify(codexTestProviderArgs(codex.url))}
  worker: { command: ["sh", "-c", "echo built > out-$NIGHTSHIFT_TASK_ID.txt"] }
---
Be brief.
`;
  const sb = await left.sandbox({ rules });
  const env = await agentTestEnv(claude.url, sb.dir);
  return { sb, claude, codex, env };
}

const PLAN: Turn[] = [{ kind: 'tool', name: 'StructuredOutput', input: THREE }];
const REVIEW_TURNS: Turn[] = ['010-a', '011-b', '012-c'].map((id) => ({ kind: 'final', text: JSON.stringify(REVIEWS[id]) }));

describe.concurrent('plan: Claude Code plans, Codex reviews, the daemon runs what is ready', () => {
  it('a goal becomes three task files with a dependency: two ready and queued, one a draft with the gaps; the daemon runs the two', async (t) => {
    const { expect } = t;
    const a = await setup(t, PLAN, REVIEW_TURNS);
    const r = await a.sb.cli(['plan', 'Write three files', '--queue'], { env: a.env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);

    // Read-only and structured: Claude got only reading tools and the schema; Codex the schema as the text format.
    const planCall = a.claude.modelRequests()[0]?.body as { tools?: Array<{ name: string }> };
    expect(planCall.tools?.map((x) => x.name)).toEqual(expect.arrayContaining(['Read', 'Glob', 'Grep', 'StructuredOutput']));
    expect(planCall.tools?.map((x) => x.name)).not.toContain('Write');
    expect(JSON.stringify(planCall)).toContain('# Goal\\n\\nWrite three files');
    const reviewCalls = a.codex.modelRequests();
    expect(reviewCalls).toHaveLength(3);
    expect((reviewCalls[0]?.body as { text?: { format?: { type?: string } } }).text?.format?.type).toBe('json_schema');
    // Blind to the planner: the reviewer never sees its confidence.
    expect(JSON.stringify(reviewCalls[2]?.body)).not.toContain('0.85');

    expect((await readTask(a.sb, '010-a')).fm).toMatchObject({ status: 'queued', readiness: { ready: true } });
    expect((await readTask(a.sb, '011-b')).fm).toMatchObject({ status: 'queued', depends_on: ['010-a'] });
    const draft = await readTask(a.sb, '012-c');
    expect(draft.fm).toMatchObject({
      status: 'draft',
      readiness: { ready: false, reviewer_confidence: 0.4, gaps: REVIEWS['012-c']?.gaps },
    });

    const shown = JSON.parse((await a.sb.cli(['plan', 'show', '--json'])).stdout) as { usage: { tokens: number; cost_usd: number } };
    // Claude's one turn and Codex's three, each as its CLI adds them up (see the adapters).
    const claudeTokens = USAGE.input + USAGE.output + USAGE.cacheRead + USAGE.cacheWrite;
    expect(shown.usage.tokens).toBe(claudeTokens + 3 * (USAGE.input + USAGE.output));
    expect(shown.usage.cost_usd).toBeGreaterThan(0);
    // The same spend is in the ledger the budgets read, once per planner and reviewer run.
    const ledger = (await a.sb.read('.nightshift/budget/ledger.jsonl'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { source: string; tokens: number });
    expect(ledger.map((e) => e.source)).toEqual(['planner', 'planner', 'planner', 'planner']);
    expect(ledger.reduce((sum, e) => sum + e.tokens, 0)).toBe(shown.usage.tokens);

    const run = await a.sb.cli(['daemon', 'start', '--once'], { env: a.env });
    expect(run.code, run.stderr).toBe(0);
    expect((await readTask(a.sb, '010-a')).fm.status).toBe('done');
    expect((await readTask(a.sb, '011-b')).fm.status).toBe('done');
    expect((await readTask(a.sb, '012-c')).text).toBe(draft.text);
    const events = progressEvents(await a.sb.read('progress.txt'));
    expect(events.filter((e) => e.event === 'claimed').map((e) => e.id)).toEqual(['010-a', '011-b']);
  });

  it('a 401 from the planner: a clear auth failure, nothing reviewed, tasks/ untouched', async (t) => {
    const { expect } = t;
    const a = await setup(t, [{ kind: 'error', status: 401 }], REVIEW_TURNS);
    const r = await a.sb.cli(['plan', 'Write three files', '--queue'], { env: a.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('nightshift plan: planner claude could not run (auth)');
    expect(r.stderr).toContain('nothing was written to tasks/');
    expect(await listFiles(join(a.sb.repo, 'tasks'))).toEqual([]);
    expect(a.codex.modelRequests()).toHaveLength(0);
  });
});
