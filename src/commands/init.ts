import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasCode } from '../errors.js';
import { createFileExclusive } from '../util/atomic.js';
import type { Output } from './output.js';
import { openRepo } from './repo.js';

export const RULES_TEMPLATE = `---
# Settings nightshift enforces (every key optional). See the README for all of them.
# base: main            # branch tasks start from (default: the branch checked out now)
concurrency: 2
# executor: myagent     # default executor; built in: shell (runs the task's run: command)
# setup: npm ci         # run in each fresh worktree before the executor
# test: npm test        # must pass before nightshift commits
timeout: 30m
stall_timeout: 10m
max_attempts: 3
push: none              # none | branch | land
remote: origin
# protect: ["src/auth/**"]
# tests: ["test/**", "**/*.test.*"]
# executors:
#   myagent: { command: ["my-agent", "--prompt-file", "{prompt_file}"] }
---
# Rules for every executor

- Keep changes small and focused on the task.
- Run the tests before you finish.
- Do not delete or weaken tests.
`;

export const SCOPE_TEMPLATE = `# Project context

Describe the project here: what it does, how it is laid out, how to build and test it, conventions.
Every executor reads this before its task.
`;

const IGNORES = ['.nightshift/', 'progress.txt'];

/** Scaffolds rules.md, scope.md, tasks/ and .gitignore entries. Never overwrites what is there. */
export async function initRepo(opts: { cwd: string }, io: Output): Promise<number> {
  const paths = await openRepo(opts.cwd);
  const created: string[] = [];
  if (await createFileExclusive(paths.rules, RULES_TEMPLATE)) created.push('rules.md');
  if (await createFileExclusive(paths.scope, SCOPE_TEMPLATE)) created.push('scope.md');
  await mkdir(paths.tasks, { recursive: true });
  if (await createFileExclusive(join(paths.tasks, '.gitkeep'), '')) created.push('tasks/');
  const gitignore = join(paths.root, '.gitignore');
  let current = '';
  try {
    current = await readFile(gitignore, 'utf8');
  } catch (err) {
    if (!hasCode(err, 'ENOENT')) throw err;
  }
  const lines = new Set(current.split(/\r?\n/).map((l) => l.trim()));
  const missing = IGNORES.filter((entry) => !lines.has(entry) && !lines.has(`/${entry}`));
  if (missing.length > 0) {
    await appendFile(gitignore, `${current && !current.endsWith('\n') ? '\n' : ''}${missing.join('\n')}\n`);
    created.push(`.gitignore entries (${missing.join(', ')})`);
  }
  io.out(created.length > 0 ? `created ${created.join(', ')}\n` : 'already set up: nothing to create\n');
  io.out('next: nightshift add "<title>" --run "<command>", then nightshift daemon start --once\n');
  return 0;
}
