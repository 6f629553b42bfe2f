import { mkdir, readFile, symlink } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { progressEvents, taskText, type Sandbox } from '../helpers/repo.js';
import { readTask } from '../helpers/task.js';

/**
 * The built-in agent executors driven end to end through the CLI: a fixture script stands on PATH under
 * the agent's name (a real child process that checks its flags, reads the prompt the way the real CLI
 * does, edits the worktree and prints a recorded-style output).
 */
const FAKE_AGENT = resolve(import.meta.dirname, '../fixtures/agents/bin/fake-agent.mjs');

const left = cleanUpAfterEach();

interface AgentSandbox {
  sb: Sandbox;
  env: NodeJS.ProcessEnv;
  record: string;
}

/** A sandbox whose PATH starts with a folder holding the fake agent under each of `agents`' names. */
async function agentSandbox(rules: string, agents: string[], files?: Record<string, string>): Promise<AgentSandbox> {
  // The fake agent records its runs in a file outside the worktree, which the sandbox would hide.
  const sb = await left.sandbox({ rules: rules.replace(/^---\n/, '---\nsandbox: none\n'), files });
  const bin = join(sb.dir, 'bin');
  await mkdir(bin);
  for (const name of agents) await symlink(FAKE_AGENT, join(bin, name));
  const record = join(sb.dir, 'agent-runs.jsonl');
  return { sb, record, env: { PATH: `${bin}${delimiter}${process.env.PATH ?? ''}`, FAKE_AGENT_RECORD: record } };
}

/** One line of the fake agent's record: who ran, with what, on which attempt. */
interface AgentRun {
  agent: string;
  args: string[];
  attempt: string;
  promptBytes: number;
}

async function runs(a: AgentSandbox): Promise<AgentRun[]> {
  const text = await readFile(a.record, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AgentRun);
}

const RULES = '---\nexecutor: gemini\ntest: grep -q hello hello.txt\nmax_attempts: 2\n---\nBe brief.\n';

describe('executor: gemini, end to end with a fixture CLI on PATH', () => {
  it("hands the task's skills to the agent in its prompt, and blocks a task whose skill is missing", async () => {
    const a = await agentSandbox(RULES, ['gemini'], {
      '.claude/skills/greet/SKILL.md': '---\nname: greet\ndescription: how we greet\n---\nAlways greet in lowercase.\n',
      '.agents/skills/sign-off/SKILL.md': 'End every file with a newline.\n',
    });
    await a.sb.write(
      'tasks/001-skilled.md',
      taskText({ title: 'Skilled', skills: ['greet', 'sign-off'], priority: 1 }, '# Goal\n\nSCENARIO: success\n'),
    );
    await a.sb.write(
      'tasks/002-unskilled.md',
      taskText({ title: 'Unskilled', skills: ['greet', 'nosuch'] }, '# Goal\n\nSCENARIO: success\n'),
    );

    const r = await a.sb.cli(['daemon', 'start', '--once'], { env: a.env });
    expect(r.code).toBe(1);
    expect((await readTask(a.sb, '001-skilled')).fm.status).toBe('done');
    const prompt = await a.sb.read('.nightshift/logs/001-skilled/1.prompt.md');
    expect(prompt).toContain('# Skill: greet\n\nAlways greet in lowercase.\n');
    expect(prompt).toContain('# Skill: sign-off\n\nEnd every file with a newline.\n');
    expect(prompt).not.toContain('description: how we greet');

    const { fm } = await readTask(a.sb, '002-unskilled');
    expect(fm).toMatchObject({ status: 'blocked', attempts: 0 });
    expect(fm.error).toBe(
      'skill "nosuch" not found: looked for .claude/skills/nosuch/SKILL.md and .agents/skills/nosuch/SKILL.md in the task\'s base commit; add one of them or remove the skill from the task',
    );
    // Blocked before the agent started: it ran once, for the other task.
    expect(await runs(a)).toHaveLength(1);
  });

  it('runs the agent with the prompt on stdin, then tests, commits and records its tokens', async () => {
    const a = await agentSandbox(
      RULES.replace(
        'max_attempts: 2',
        'max_attempts: 2\nexecutors:\n  gemini: { model: gemini-2.5-flash, args: ["--sandbox-off", "two words"] }',
      ),
      ['gemini'],
    );
    await a.sb.write('tasks/001-hello.md', taskText({ title: 'Say hello' }, '# Goal\n\nWrite hello.txt. SCENARIO: success\n'));

    const r = await a.sb.cli(['daemon', 'start', '--once'], { env: a.env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);

    const { fm } = await readTask(a.sb, '001-hello');
    // 9034 + 966: every model's total in gemini's stats.
    expect(fm).toMatchObject({ status: 'done', attempts: 1, tokens: 10000 });
    expect(fm.cost_usd).toBeUndefined();
    expect(await a.sb.git(['show', 'nightshift/001-hello:hello.txt'])).toBe('hello from gemini\n');

    const [run] = await runs(a);
    expect(run?.args.slice(0, 1)).toEqual(['-p']);
    expect(run?.args.slice(2)).toEqual([
      '--output-format',
      'json',
      '--yolo',
      '--skip-trust',
      '--model',
      'gemini-2.5-flash',
      '--sandbox-off',
      'two words',
    ]);
    // The whole prompt arrived on stdin: the saved prompt file, byte for byte.
    const prompt = await a.sb.read('.nightshift/logs/001-hello/1.prompt.md');
    expect(run?.promptBytes).toBe(Buffer.byteLength(prompt));

    const done = progressEvents(await a.sb.read('progress.txt')).find((e) => e.event === 'done');
    expect(done?.fields).toMatchObject({ attempt: '1', tokens: '10000' });
    const log = await a.sb.read('.nightshift/logs/001-hello/1.log');
    expect(log).toContain('executor gemini finished: I added the greeting to hello.txt');
  });

  it("feeds a task failure and the agent's last message to the retry", async () => {
    const a = await agentSandbox(RULES, ['gemini']);
    await a.sb.write('tasks/002-retry.md', taskText({ title: 'Retry me' }, '# Goal\n\nWrite hello.txt. SCENARIO: fail-then-success\n'));

    const r = await a.sb.cli(['daemon', 'start', '--once'], { env: a.env });
    expect(r.code).toBe(0);
    const { fm } = await readTask(a.sb, '002-retry');
    expect(fm).toMatchObject({ status: 'done', attempts: 2, tokens: 10000 });

    const second = await a.sb.read('.nightshift/logs/002-retry/2.prompt.md');
    expect(second).toContain('executor gemini failed: FatalTurnLimitedError: Reached max session turns');
    const failed = progressEvents(await a.sb.read('progress.txt')).find((e) => e.event === 'attempt-failed');
    expect(failed?.fields.reason).toMatch(/^executor gemini failed: FatalTurnLimitedError/);
  });

  it('blocks the task on an infra failure (not logged in) without using an attempt', async () => {
    const a = await agentSandbox(RULES, ['gemini']);
    await a.sb.write('tasks/003-auth.md', taskText({ title: 'Logged out' }, '# Goal\n\nWrite hello.txt. SCENARIO: auth\n'));

    const r = await a.sb.cli(['daemon', 'start', '--once'], { env: a.env });
    expect(r.code).toBe(1);
    const { fm } = await readTask(a.sb, '003-auth');
    expect(fm).toMatchObject({ status: 'blocked', attempts: 0 });
    expect(String(fm.error)).toMatch(
      /gemini could not run \(auth\): FatalAuthenticationError: When using Gemini API, you must specify the GEMINI_API_KEY/,
    );
    expect(await runs(a)).toHaveLength(1);
    const parked = progressEvents(await a.sb.read('progress.txt')).find((e) => e.event === 'executor-parked');
    expect(parked).toMatchObject({ id: '-', fields: { executor: 'gemini', cause: 'auth', until: 'restart', task: '003-auth' } });
  });
});
