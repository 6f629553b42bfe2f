import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const BODY = `# Goal
Refactor one module of the project so that it follows the conventions in scope.md.

## Context
The module grew by accretion; its functions mix parsing, IO and formatting. Callers rely on its
exported names only. Keep behaviour identical; the tests in test/ describe it.

## Steps
1. Split parsing from IO: pure functions in one file, the IO wrapper in another.
2. Keep every exported name and its signature; re-export from the old path.
3. Add a table test for the parser covering the cases listed below.

## Acceptance criteria
- \`npm test\` passes; no test file is deleted or weakened.
- No change outside the module folder and its tests.
- The diff is under 200 lines.

## Out of scope
Renaming public functions, changing the CLI, touching CI configuration.
`;

/**
 * A large, realistic queue: mostly settled tasks (done, failed, cancelled, blocked), some drafts, queued
 * tasks waiting on drafts (never ready), and `ready` queued tasks whose dependencies are done.
 * Returns the ids of the ready ones.
 */
export async function writeBigQueue(repo, { total, ready }) {
  const counts = {
    failed: Math.round(total * 0.15),
    cancelled: Math.round(total * 0.07),
    blocked: Math.round(total * 0.03),
    draft: Math.round(total * 0.01),
    waiting: Math.round(total * 0.04),
    ready,
  };
  counts.done = total - Object.values(counts).reduce((a, b) => a + b, 0);
  const order = ['done', 'failed', 'cancelled', 'blocked', 'draft', 'waiting', 'ready'];
  const byKind = {};
  let n = 0;
  for (const kind of order) {
    byKind[kind] = [];
    for (let i = 0; i < counts[kind]; i++) byKind[kind].push(`${String(++n).padStart(5, '0')}-${kind}-task-${i}`);
  }
  const sha = (i) => ((i * 2654435761) >>> 0).toString(16).padStart(8, '0').repeat(5);
  const files = [];
  for (const kind of order) {
    byKind[kind].forEach((id, i) => {
      const fm = [`title: "${kind} task ${i}: refactor module ${i % 97}"`];
      switch (kind) {
        case 'done':
          fm.push(
            'status: done',
            'attempts: 1',
            `claimed_by: "bench-host:${1000 + (i % 50)}"`,
            'started_at: "2026-11-20T01:00:00Z"',
            'finished_at: "2026-11-20T01:04:12Z"',
            `base_commit: "${sha(i)}"`,
            `branch: "nightshift/${id}"`,
            `commit: "${sha(i + 1)}"`,
            'cost_usd: 0.42',
            'tokens: 18342',
          );
          if (i > 0 && i % 5 === 0) fm.push(`depends_on: [${byKind.done[i - 1]}]`);
          break;
        case 'failed':
          fm.push(
            'status: failed',
            'attempts: 3',
            'started_at: "2026-11-20T02:00:00Z"',
            'finished_at: "2026-11-20T02:09:00Z"',
            `base_commit: "${sha(i)}"`,
            'error: "tests failed (exit 1): 3 failing"',
          );
          break;
        case 'cancelled':
          fm.push('status: cancelled', 'attempts: 0');
          break;
        case 'blocked':
          fm.push(
            'status: blocked',
            `depends_on: [${byKind.failed[i % byKind.failed.length]}]`,
            `error: "dependency ${byKind.failed[i % byKind.failed.length]} is failed"`,
          );
          break;
        case 'draft':
          fm.push('status: draft', 'run: "echo draft"');
          break;
        case 'waiting':
          // Chains hanging off drafts: queued, with dependencies that will not be done tonight.
          fm.push(
            'status: queued',
            `depends_on: [${i % 4 === 0 ? byKind.draft[i % byKind.draft.length] : byKind.waiting[i - 1]}]`,
            `run: "echo ${id} > bench-${id}.txt"`,
          );
          break;
        case 'ready':
          fm.push(
            'status: queued',
            'priority: 1',
            `depends_on: [${byKind.done[i]}, ${byKind.done[i + 1]}]`,
            `run: "echo ${id} > bench-${id}.txt"`,
          );
          break;
      }
      files.push([id, `---\n${fm.join('\n')}\n---\n${BODY}`]);
    });
  }
  for (let i = 0; i < files.length; i += 500) {
    await Promise.all(files.slice(i, i + 500).map(([id, text]) => writeFile(join(repo, 'tasks', `${id}.md`), text)));
  }
  return { ready: byKind.ready, counts };
}
