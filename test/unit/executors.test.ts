import { describe, expect, it } from 'vitest';
import { chooseExecutor, executorChain, expandTemplate, planExecutor, type ExecutorContext } from '../../src/exec/executors.js';
import { parseRules, type Rules } from '../../src/config/rules.js';
import { parseTaskText } from '../../src/task/parse.js';
import type { Task } from '../../src/task/task.js';

function task(fields: Record<string, string>): Task {
  const yaml = Object.entries({ title: 'Do it', ...fields }).map(([k, v]) => `${k}: ${JSON.stringify(v)}`);
  const r = parseTaskText('001-do-it', '/repo/tasks/001-do-it.md', `---\n${yaml.join('\n')}\n---\nbody\n`);
  if (r.kind !== 'ok') throw new Error(r.reason);
  return r.task;
}

function rules(yaml: string): Rules {
  return parseRules(`---\n${yaml || '# defaults'}\n---\n`);
}

const CUSTOM = 'executors:\n  codex: [codex, exec]\n  claude: [claude]\n  aider: [aider]';

const CTX: ExecutorContext = {
  taskId: '001-do-it',
  attempt: 2,
  promptFile: '/tmp/ns/prompt.md',
  taskFile: '/repo/tasks/001-do-it.md',
  worktree: '/cache/nightshift/wt/001-do-it',
};

describe('chooseExecutor: task executor > routes[kind] > rules executor > shell for run:', () => {
  // [case, task fields, rules.md frontmatter, chosen]
  it.each<[string, Record<string, string>, string, string | undefined]>([
    [
      'the task names one',
      { executor: 'codex', kind: 'code', run: 'make' },
      `executor: aider\nroutes: { code: claude }\n${CUSTOM}`,
      'codex',
    ],
    ['the task names shell', { executor: 'shell', run: 'make' }, `executor: aider\n${CUSTOM}`, 'shell'],
    ['the route for its kind', { kind: 'code', run: 'make' }, `executor: aider\nroutes: { code: claude }\n${CUSTOM}`, 'claude'],
    ['a kind without a route falls to the default', { kind: 'docs' }, `executor: aider\nroutes: { code: claude }\n${CUSTOM}`, 'aider'],
    ['no kind: the default', {}, `executor: aider\nroutes: { code: claude }\n${CUSTOM}`, 'aider'],
    ['the default wins over run:', { run: 'make' }, `executor: aider\n${CUSTOM}`, 'aider'],
    ['run: with no default: shell', { run: 'make' }, '', 'shell'],
    ['run: with only an unmatched route: shell', { kind: 'docs', run: 'make' }, `routes: { code: claude }\n${CUSTOM}`, 'shell'],
    ['an empty run: still means shell', { run: '' }, '', 'shell'],
    ['nothing at all', {}, '', undefined],
  ])('%s', (_name, fields, rulesYaml, expected) => {
    expect(chooseExecutor(task(fields), rules(rulesYaml))).toBe(expected);
  });
});

describe('expandTemplate', () => {
  it('substitutes every placeholder', () => {
    expect(expandTemplate(['agent', '{prompt_file}', '{task_file}', '{worktree}', '{task_id}', '{attempt}'], CTX)).toEqual([
      'agent',
      '/tmp/ns/prompt.md',
      '/repo/tasks/001-do-it.md',
      '/cache/nightshift/wt/001-do-it',
      '001-do-it',
      '2',
    ]);
  });

  it('substitutes inside an argument and several times in one', () => {
    expect(expandTemplate(['--prompt={prompt_file}', '{task_id}@{attempt}:{task_id}'], CTX)).toEqual([
      '--prompt=/tmp/ns/prompt.md',
      '001-do-it@2:001-do-it',
    ]);
  });

  it('leaves unknown placeholders and other braces alone', () => {
    expect(expandTemplate(['{model}', '{PROMPT_FILE}', '{}', '{ prompt_file }', '${prompt_file}'], CTX)).toEqual([
      '{model}',
      '{PROMPT_FILE}',
      '{}',
      '{ prompt_file }',
      '$/tmp/ns/prompt.md',
    ]);
  });

  // Each value is a path nightshift made, but the paths sit under folders the user chose.
  it.each<[string, string]>([
    ['spaces', '/tmp/my prompts/prompt file.md'],
    ['quotes', `/tmp/it's "quoted"/prompt.md`],
    ['command substitution', '/tmp/$(touch pwned)/`id`/prompt.md'],
    ['a command separator', '/tmp/a; rm -rf ~ && echo x | sh/prompt.md'],
    ['glob and redirect characters', '/tmp/*?[a]>out<in/prompt.md'],
    ['replacement patterns', "/tmp/$&$1$$$`$'/prompt.md"],
    ['a placeholder inside the value', '/tmp/{task_id}/{attempt}/prompt.md'],
    ['a newline', '/tmp/line\nbreak/prompt.md'],
  ])('keeps a value with %s as one literal argument', (_name, promptFile) => {
    const argv = expandTemplate(['agent', '--prompt-file', '{prompt_file}', '--in={prompt_file}'], { ...CTX, promptFile });
    expect(argv).toEqual(['agent', '--prompt-file', promptFile, `--in=${promptFile}`]);
  });

  it('does not change the template', () => {
    const template = ['agent', '{prompt_file}'];
    expandTemplate(template, CTX);
    expect(template).toEqual(['agent', '{prompt_file}']);
  });
});

describe('planExecutor', () => {
  it('runs the shell executor through sh -c with run: as one argument', () => {
    const run = 'echo "a b" > $(pwd)/out.txt; ls *';
    expect(planExecutor(task({ run }), rules(''), CTX)).toEqual({ kind: 'run', name: 'shell', argv: ['sh', '-c', run] });
  });

  it('runs a custom executor from its expanded template', () => {
    const r = rules('executor: agent\nexecutors:\n  agent: { command: ["my agent", "--prompt-file", "{prompt_file}", "--try={attempt}"] }');
    expect(planExecutor(task({}), r, { ...CTX, promptFile: '/tmp/a b/p.md' })).toEqual({
      kind: 'run',
      name: 'agent',
      argv: ['my agent', '--prompt-file', '/tmp/a b/p.md', '--try=2'],
    });
  });

  it('plans a built-in agent with its adapter and its settings from rules.md', () => {
    const plan = planExecutor(
      task({ kind: 'docs' }),
      rules('routes: { docs: gemini }\nexecutors:\n  gemini: { model: flash, args: [--x] }'),
      CTX,
    );
    expect(plan).toMatchObject({ kind: 'agent', name: 'gemini', options: { model: 'flash', args: ['--x'] } });
    expect(plan.kind === 'agent' && plan.adapter.program).toBe('gemini');
    // Without settings: none.
    expect(planExecutor(task({ executor: 'opencode' }), rules(''), CTX)).toMatchObject({
      kind: 'agent',
      name: 'opencode',
      options: { args: [] },
    });
  });

  it("a command under an agent's name replaces the built-in agent", () => {
    expect(planExecutor(task({}), rules('executor: aider\nexecutors:\n  aider: [my-aider, "{prompt_file}"]'), CTX)).toEqual({
      kind: 'run',
      name: 'aider',
      argv: ['my-aider', '/tmp/ns/prompt.md'],
    });
  });

  it('lists the chosen executor, then the fallbacks, each once', () => {
    const r = rules('executor: claude\nfallback: [codex, claude, gemini]');
    expect(executorChain(task({}), r)).toEqual(['claude', 'codex', 'gemini']);
    expect(executorChain(task({ executor: 'gemini' }), r)).toEqual(['gemini', 'codex', 'claude']);
    expect(executorChain(task({}), rules(''))).toEqual([]);
  });

  it.each<[string, Record<string, string>, string, string, RegExp]>([
    ['no executor at all', {}, '', '(none)', /^no executor: set executor: in the task or in rules\.md, or give the task a run: command/],
    ['shell without run:', { executor: 'shell' }, '', 'shell', /^the shell executor needs a run: command in the task$/],
    ['shell with a blank run:', { run: '   ' }, '', 'shell', /^the shell executor needs a run: command in the task$/],
    [
      'a task naming an undefined executor',
      { executor: 'mystery' },
      '',
      'mystery',
      /^executor "mystery" is not available: built in are shell, claude, codex, aider, gemini, opencode; define others under executors:$/,
    ],
  ])('unavailable: %s', (_name, fields, rulesYaml, name, reason) => {
    expect(planExecutor(task(fields), rules(rulesYaml), CTX)).toEqual({ kind: 'unavailable', name, reason: expect.stringMatching(reason) });
  });
});
