import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, it } from 'vitest';
import { cleanUpAfterTest } from '../helpers/cleanup.js';
import { threeAnswers } from '../helpers/plan.js';
import { listFiles } from '../helpers/repo.js';

/**
 * The planner and the plan reviewer run inside bubblewrap like every task step: the checkout of base is
 * read-only, HOME is private, and only the plan record (where {output_file} lives) is writable. The canned
 * answers are committed in the repository, so the sandboxed command reads them from its own checkout.
 */
const ANSWER_SH = `d=answers; s="$NIGHTSHIFT_TASK_ID"
o="$(dirname "$1")/observed-$s.txt"
{ if touch planted.txt 2>/dev/null; then echo wrote-checkout; else echo checkout-read-only; fi
  if cat "$HOME/.ssh/id_rsa" 2>/dev/null; then echo read-key; else echo key-hidden; fi; } > "$o"
cp "$d/$s.json" "$1"
`;

describe('plan inside the sandbox', () => {
  it('plans and reviews with sandbox: bwrap; the steps cannot write the checkout or read HOME', async (t) => {
    const { expect } = t;
    const left = cleanUpAfterTest(t);
    const files: Record<string, string> = { 'answers/answer.sh': ANSWER_SH };
    for (const [name, value] of Object.entries(threeAnswers())) files[`answers/${name}.json`] = JSON.stringify(value);
    const sb = await left.sandbox({
      rules: `---
executor: worker
sandbox: bwrap
plan: { planner: canned, reviewer: canned }
executors:
  canned: { command: ["sh", "answers/answer.sh", "{output_file}"] }
  worker: { command: ["sh", "-c", "echo built > out.txt"] }
---
`,
      files,
    });
    const home = join(sb.dir, 'home');
    await mkdir(join(home, '.ssh'), { recursive: true });
    await writeFile(join(home, '.ssh', 'id_rsa'), 'CANARY-PRIVATE-KEY\n');

    const r = await sb.cli(['plan', 'Write three files', '--json'], { env: { HOME: home } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((await listFiles(join(sb.repo, 'tasks'))).map((f) => basename(f)).sort()).toEqual(['010-a.md', '011-b.md', '012-c.md']);

    const id = (JSON.parse(r.stdout) as { id: string }).id;
    const record = join(sb.repo, '.nightshift', 'plans', id);
    for (const step of ['planner', 'review-010-a', 'review-011-b', 'review-012-c']) {
      const observed = await readFile(join(record, `observed-${step}.txt`), 'utf8');
      expect(observed, step).toBe('checkout-read-only\nkey-hidden\n');
    }
  });
});
