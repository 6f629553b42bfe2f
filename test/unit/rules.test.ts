import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RULES, loadRules, parseRules } from '../../src/config/rules.js';
import { UsageError } from '../../src/errors.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';

/** The UsageError parseRules throws for `text`. */
function problem(text: string): UsageError {
  try {
    parseRules(text);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    const usage = err as UsageError;
    expect(usage.message).toMatch(/^rules\.md is not valid: /);
    expect(usage.hint).toMatch(/fix rules\.md/);
    return usage;
  }
  throw new Error('expected parseRules to throw');
}

const fm = (yaml: string, body = 'Be nice.\n') => `---\n${yaml}\n---\n${body}`;

describe('parseRules: defaults', () => {
  const { tempDir } = cleanUpAfterEach();

  it.each<[string, string, string]>([
    ['an empty file', '', ''],
    ['a file without frontmatter (all of it is rules)', '# Rules\n\nNo force pushes.\n', '# Rules\n\nNo force pushes.\n'],
    ['an empty frontmatter', '---\n---\nBe nice.\n', 'Be nice.\n'],
    ['a frontmatter of only comments', '---\n# nothing yet\n---\nBe nice.\n', 'Be nice.\n'],
    ['a BOM and an empty frontmatter', '\uFEFF---\n---\nBe nice.\n', 'Be nice.\n'],
  ])('%s', (_name, text, body) => {
    expect(parseRules(text)).toEqual({ ...DEFAULT_RULES, body });
  });

  it('has the documented defaults', () => {
    expect(DEFAULT_RULES).toMatchObject({
      concurrency: 3,
      routes: {},
      fallback: [],
      timeoutMs: 30 * 60_000,
      stallTimeoutMs: 10 * 60_000,
      maxAttempts: 3,
      push: 'none',
      remote: 'origin',
      protect: [],
      tests: [],
      executors: {},
    });
    expect(DEFAULT_RULES.base).toBeUndefined();
    expect(DEFAULT_RULES.executor).toBeUndefined();
  });

  it('loadRules gives the defaults when there is no rules.md', async () => {
    const dir = await tempDir('nightshift-rules-');
    expect(await loadRules(join(dir, 'rules.md'))).toEqual(DEFAULT_RULES);
  });

  it('one parse never leaks into the next (defaults are not shared and mutated)', () => {
    parseRules(fm('routes: { code: shell }\nprotect: ["a/**"]'));
    const fresh = parseRules('');
    expect(fresh.routes).toEqual({});
    expect(DEFAULT_RULES.routes).toEqual({});
    expect(fresh.protect).toEqual([]);
  });
});

describe('parseRules: every key', () => {
  it('parses the full contract', () => {
    const rules = parseRules(
      fm(
        [
          'base: develop',
          'concurrency: 5',
          'executor: codex',
          'routes: { code: codex, analysis: shell }',
          'fallback: [shell]',
          'setup: npm ci',
          'test: npm test',
          'test_timeout: 5m',
          'timeout: 1h',
          'stall_timeout: 90s',
          'max_attempts: 2',
          'push: branch',
          'remote: upstream',
          'protect: ["src/auth/**"]',
          'tests: ["test/**", "**/*.test.*"]',
          'max_changed_lines: 300',
          'max_file_size: 10MB',
          'keep_ignored: true',
          'review: { executor: codex, when: "kind:[code]", min_confidence: 0.8 }',
          'plan: { planner: claude, reviewer: codex, min_confidence: 0.9, max_spread: 0.2, auto_queue: true }',
          'executors:',
          '  codex:',
          '    command: [codex, exec, --prompt-file, "{prompt_file}"]',
          '  quick: ["my-agent", "{task_file}"]',
        ].join('\n'),
      ),
    );
    expect(rules).toEqual({
      base: 'develop',
      concurrency: 5,
      executor: 'codex',
      routes: { code: 'codex', analysis: 'shell' },
      fallback: ['shell'],
      setup: 'npm ci',
      test: 'npm test',
      testTimeoutMs: 5 * 60_000,
      timeoutMs: 60 * 60_000,
      stallTimeoutMs: 90_000,
      retryBackoffMs: 2000,
      stopGraceMs: 10_000,
      maxAttempts: 2,
      push: 'branch',
      remote: 'upstream',
      protect: ['src/auth/**'],
      tests: ['test/**', '**/*.test.*'],
      maxChangedLines: 300,
      maxFileSize: 10 * 1024 * 1024,
      review: { executor: 'codex', when: { kind: 'kinds', kinds: ['code'] }, minConfidence: 0.8 },
      plan: { planner: 'claude', reviewer: 'codex', minConfidence: 0.9, maxSpread: 0.2, autoQueue: true },
      executors: {
        codex: { command: ['codex', 'exec', '--prompt-file', '{prompt_file}'] },
        quick: { command: ['my-agent', '{task_file}'] },
      },
      agents: {},
      keepIgnored: true,
      notify: [],
      queue: { mode: 'local', leaseTtlMs: 120_000, pollMs: 30_000, refPrefix: 'refs/nightshift/' },
      sandbox: 'auto',
      sandboxNetwork: 'on',
      sandboxEnv: [],
      body: 'Be nice.\n',
    });
  });

  it('keeps the body byte for byte, CRLF included', () => {
    expect(parseRules('---\r\nconcurrency: 1\r\n---\r\nLine one\r\n\r\nLine two').body).toBe('Line one\r\n\r\nLine two');
  });

  it.each<[string, Partial<ReturnType<typeof parseRules>>]>([
    ['push: none', { push: 'none' }],
    ['timeout: 45', { timeoutMs: 45_000 }],
    ['timeout: 1h30m', { timeoutMs: 90 * 60_000 }],
    ['base: release/2.x', { base: 'release/2.x' }],
    ['executor: shell', { executor: 'shell' }],
    ['push: land', { push: 'land' }],
    ['concurrency:', { concurrency: 3 }],
  ])('%s', (yaml, expected) => {
    expect(parseRules(fm(yaml))).toMatchObject(expected);
  });
});

describe('parseRules: problems', () => {
  it('lists every problem in one UsageError', () => {
    const err = problem(fm('concurrency: 0\npush: sideways\ntimeout: soon'));
    expect(err.message).toContain('concurrency must be a whole number of at least 1, got 0');
    expect(err.message).toContain('push must be none, branch or land, got "sideways"');
    expect(err.message).toContain('timeout: "soon" is not a duration');
    expect(err.message.split('\n  - ')).toHaveLength(4);
  });

  it.each<[string, string, RegExp]>([
    ['unknown key', 'concurency: 2', /unknown key "concurency" \(known: base, concurrency,/],
    ['a fractional concurrency', 'concurrency: 1.5', /concurrency must be a whole number/],
    ['max_attempts as text', 'max_attempts: three', /max_attempts must be a whole number of at least 1, got "three"/],
    ['keep_ignored as text', 'keep_ignored: yes please', /keep_ignored must be true or false, got "yes please"/],
    ['a zero stall_timeout', 'stall_timeout: 0s', /stall_timeout: "0s" is not a duration/],
    ['a base that reads as an option', 'base: --orphan', /base: "--orphan" is not a branch name/],
    ['a base with ..', 'base: main..dev', /base: "main\.\.dev" is not a branch name/],
    ['a remote with a slash', 'remote: origin/main', /remote: "origin\/main" is not a remote name/],
    ['an empty setup', 'setup: "  "', /setup must be text/],
    ['a test command that is a list', 'test: [npm, test]', /test must be text/],
    ['protect as text', 'protect: src/**', /protect must be a list, like protect: \[a, b\]/],
    ['tests with a number', 'tests: [test/**, 5]', /tests must be a list/],
    ['routes as a list', 'routes: [codex]', /routes must be a map of kind to executor/],
    ['a route to a non-name', 'routes: { code: "Bad Name" }', /routes\.code must be an executor name/],
    ['a bad default executor name', 'executor: Codex', /executor: "Codex" is not an executor name/],
    ['plan as text', 'plan: claude', /plan must be a map, like plan: \{ planner: claude/],
    ['a plan key it does not know', 'plan: { planer: claude }', /plan: unknown key "planer" \(known: planner, reviewer/],
    ['a plan reviewer that is not defined', 'plan: { reviewer: gpt }', /plan\.reviewer: executor "gpt" is not available/],
    ['the shell executor as planner', 'plan: { planner: shell }', /plan\.planner: the shell executor cannot plan or review/],
    ['a min_confidence above 1', 'plan: { min_confidence: 80 }', /plan\.min_confidence must be a number from 0 to 1, got 80/],
    ['auto_queue as text', 'plan: { auto_queue: "yes" }', /plan\.auto_queue must be true or false/],
    ['unclosed frontmatter', 'concurrency: 2\n\nBody without a fence', /unclosed frontmatter/],
    ['a YAML syntax error, with its line', 'concurrency: 2\nfoo: bar: baz', /invalid YAML in frontmatter at line 3/],
    ['a frontmatter that is a list', '- concurrency\n- 2', /the frontmatter is a list/],
  ])('%s', (_name, yaml, expected) => {
    const text = _name === 'unclosed frontmatter' ? `---\n${yaml}\n` : fm(yaml);
    expect(problem(text).message).toMatch(expected);
  });

  it('names an executor that is not defined, wherever it is used', () => {
    const err = problem(fm('executor: mine\nroutes: { code: yours }\nfallback: [theirs]'));
    for (const name of ['mine', 'yours', 'theirs']) {
      expect(err.message).toContain(
        `executor "${name}" is not available: built in are shell, claude, codex, aider, gemini, opencode; define others under executors:`,
      );
    }
  });

  it('accepts the built-in agents everywhere without defining them', () => {
    const rules = parseRules(fm('executor: claude\nroutes: { code: codex, docs: gemini }\nfallback: [aider, opencode]'));
    expect([rules.executor, rules.routes, rules.fallback, rules.agents]).toEqual([
      'claude',
      { code: 'codex', docs: 'gemini' },
      ['aider', 'opencode'],
      {},
    ]);
  });

  it('reads settings for a built-in agent: model and extra args', () => {
    const rules = parseRules(
      fm(
        'executor: claude\nexecutors:\n  claude: { model: opus, args: ["--max-turns", "30"] }\n  gemini:\n    model: gemini-2.5-pro\n  aider:',
      ),
    );
    expect(rules.agents).toEqual({
      claude: { model: 'opus', args: ['--max-turns', '30'] },
      gemini: { model: 'gemini-2.5-pro', args: [] },
      aider: { args: [] },
    });
    expect(rules.executors).toEqual({});
  });

  it.each<[string, string, RegExp]>([
    ['a model that looks like an option', 'executors:\n  claude: { model: "--evil" }', /executors\.claude\.model must be a model name/],
    ['args as one string', 'executors:\n  codex: { args: "--x --y" }', /executors\.codex\.args must be a list of arguments/],
    ['an unknown setting', 'executors:\n  gemini: { sandbox: true }', /executors\.gemini: unknown setting "sandbox"/],
  ])('agent settings: %s', (_name, yaml, expected) => {
    expect(problem(fm(yaml)).message).toMatch(expected);
  });

  it("takes a command under an agent's name as the user's replacement for the built-in agent", () => {
    const rules = parseRules(fm('executor: aider\nexecutors:\n  aider: [my-aider, "{prompt_file}"]\n  codex: { command: [my-codex] }'));
    expect(rules.executors).toEqual({ aider: { command: ['my-aider', '{prompt_file}'] }, codex: { command: ['my-codex'] } });
    expect(rules.agents).toEqual({});
  });

  it('accepts executors defined under executors:', () => {
    const rules = parseRules(
      fm('executor: claude\nroutes: { code: codex }\nexecutors:\n  claude: [claude, -p, "{prompt_file}"]\n  codex: { command: [codex] }'),
    );
    expect(rules.executor).toBe('claude');
    expect(rules.routes).toEqual({ code: 'codex' });
  });

  it.each<[string, string, RegExp]>([
    ['no command', 'executors:\n  agent: { args: [x] }', /executors\.agent needs command: an argv list/],
    ['an empty command', 'executors:\n  agent: { command: [] }', /executors\.agent needs command/],
    ['a command as one string', 'executors:\n  agent: { command: "agent --go" }', /executors\.agent needs command/],
    ['a non-text argument', 'executors:\n  agent: [agent, 5]', /executors\.agent needs command/],
    ['a null spec', 'executors:\n  agent:', /executors\.agent needs command/],
    ['a bad executor name', 'executors:\n  My Agent: [agent]', /executors: "My Agent" is not an executor name/],
    ['redefining the built-in shell', 'executors:\n  shell: [bash, -c]', /executors: "shell" is built in and cannot be redefined/],
    ['executors as a list', 'executors: [agent]', /executors must be a map of name to \{ command: \[\.\.\.\] \}/],
  ])('executors: %s', (_name, yaml, expected) => {
    expect(problem(fm(yaml)).message).toMatch(expected);
  });
});
