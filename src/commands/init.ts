import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasCode } from '../errors.js';
import { createFileExclusive } from '../util/atomic.js';
import { AGENTS } from '../exec/agents/index.js';
import { AGENT_NAMES } from '../exec/agents/names.js';
import { findProgram } from '../exec/probe.js';
import type { Output } from './output.js';
import { openRepo } from './repo.js';

/** What each kind of built-in executor is, for the comments of a new rules.md. */
const EXECUTOR_KINDS = [
  `#   ${AGENT_NAMES.join(', ')}: coding-agent CLIs nightshift drives itself (install the ones you use)`,
  "#   shell: runs the task's run: command",
  '#   or a command of your own, defined under executors: below',
].join('\n');

/**
 * The rules.md that init writes. Every executor line is a comment: which agent to trust with the
 * repository is the user's choice, so the agents found on PATH are suggested, never switched on.
 */
export function rulesTemplate(found: readonly string[]): string {
  const where = found.length > 0 ? `# found on PATH here: ${found.join(', ')}` : '# no agent CLI found on PATH here';
  const suggestion = `# executor: ${found[0] ?? 'claude'}`.padEnd(24) + where;
  return `---
# Settings nightshift enforces (every key optional); nightshift's docs/task-files.md lists them all.
# base: main            # branch tasks start from (default: the branch checked out now)
concurrency: 2
${suggestion}
# The default executor (a task's executor: or routes: may pick another). Built in:
${EXECUTOR_KINDS}
# routes: { code: codex, analysis: claude }   # a task's kind: -> executor
# fallback: []          # executors to try when one cannot run at all; [] = fail closed
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
#   claude: { model: opus, args: [] }     # settings of a built-in agent
---
# Rules for every executor

- Keep changes small and focused on the task.
- Run the tests before you finish.
- Do not delete or weaken tests.
`;
}

/**
 * The built-in agents whose CLI is on PATH, in AGENT_NAMES order. A look at PATH only: starting each CLI
 * for its version can take seconds (doctor does that), and init should stay instant.
 */
export async function installedAgents(env: NodeJS.ProcessEnv, cwd: string): Promise<string[]> {
  const onPath = await Promise.all(
    AGENT_NAMES.map(async (name) => (await findProgram(AGENTS[name]?.program ?? name, env, cwd)) !== undefined),
  );
  return AGENT_NAMES.filter((_name, i) => onPath[i]);
}

export const SCOPE_TEMPLATE = `# Project context

Describe the project here: what it does, how it is laid out, how to build and test it, conventions.
Every executor reads this before its task.
`;

const IGNORES = ['.nightshift/', 'progress.txt'];

/** Scaffolds rules.md, scope.md, tasks/ and .gitignore entries. Never overwrites what is there. */
export async function initRepo(opts: { cwd: string; env?: NodeJS.ProcessEnv }, io: Output): Promise<number> {
  const paths = await openRepo(opts.cwd);
  const found = await installedAgents(opts.env ?? process.env, opts.cwd);
  const created: string[] = [];
  if (await createFileExclusive(paths.rules, rulesTemplate(found))) created.push('rules.md');
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
  io.out(
    found.length > 0
      ? `agent CLIs on PATH: ${found.join(', ')} (name one as executor: in rules.md to use it; nightshift doctor checks it)\n`
      : `no agent CLI on PATH (${AGENT_NAMES.join(', ')}); the shell executor runs a task's run: command\n`,
  );
  io.out('next: nightshift add "<title>" --run "<command>", then nightshift daemon start --once\n');
  return 0;
}
