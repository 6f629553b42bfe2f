import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initRepo, installedAgents, rulesTemplate } from '../../src/commands/init.js';
import { executorKnown, parseRules } from '../../src/config/rules.js';
import { AGENTS } from '../../src/exec/agents/index.js';
import { AGENT_NAMES } from '../../src/exec/agents/names.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';

const left = cleanUpAfterEach();

/** A PATH folder holding these programs: executable files, plus a plain file and a folder that must not count. */
async function fakePath(programs: string[]): Promise<string> {
  const dir = await left.tempDir('nightshift-path-');
  for (const name of programs) {
    await writeFile(join(dir, name), '#!/bin/sh\nexit 0\n');
    await chmod(join(dir, name), 0o755);
  }
  await writeFile(join(dir, 'codex'), 'not executable\n');
  await mkdir(join(dir, 'aider'));
  return dir;
}

describe('the rules.md init writes', () => {
  it.each([[[] as string[]], [['gemini']], [['claude', 'opencode']]])(
    'with %j on PATH: valid, lists every built-in executor, switches none on',
    (found) => {
      const text = rulesTemplate(found);
      const rules = parseRules(text);
      expect(rules.executor).toBeUndefined();
      for (const name of [...AGENT_NAMES, 'shell']) expect(text).toContain(name);
      // The list in the comments is the registry's, not a copy that can drift from it.
      expect(Object.keys(AGENTS).sort()).toEqual([...AGENT_NAMES].sort());
      for (const name of AGENT_NAMES) expect(executorKnown(rules, name)).toBe(true);
      const suggestion = text.split('\n').find((line) => line.startsWith('# executor:'));
      if (found.length > 0) expect(suggestion).toMatch(new RegExp(`^# executor: ${found[0]} +# found on PATH here: ${found.join(', ')}$`));
      else expect(suggestion).toMatch(/^# executor: claude +# no agent CLI found on PATH here$/);
    },
  );
});

describe('installedAgents', () => {
  it('names the agent CLIs that are executable on PATH, in the built-in order, and nothing else', async () => {
    const dir = await fakePath(['opencode', 'claude', 'unrelated']);
    const empty = await left.tempDir('nightshift-path-');
    expect(await installedAgents({ PATH: `${empty}:${dir}` }, empty)).toEqual(['claude', 'opencode']);
    expect(await installedAgents({ PATH: empty }, empty)).toEqual([]);
    expect(await installedAgents({}, empty)).toEqual([]);
  });
});

describe('initRepo', () => {
  it('suggests the agents it finds in rules.md and in its output', async () => {
    const sb = await left.sandbox();
    const dir = await fakePath(['gemini', 'codex-not-it']);
    const out: string[] = [];
    const code = await initRepo(
      { cwd: sb.repo, env: { PATH: dir } },
      { out: (t) => void out.push(t), err: (t) => void out.push(`ERR ${t}`) },
    );
    expect(code).toBe(0);
    expect(out.join('')).toContain('agent CLIs on PATH: gemini (name one as executor: in rules.md to use it');
    expect(out.join('')).not.toContain('ERR');
    const rules = await readFile(join(sb.repo, 'rules.md'), 'utf8');
    expect(rules).toContain('# executor: gemini');
    expect(rules).toBe(rulesTemplate(['gemini']));
  });

  it('says so when no agent CLI is on PATH', async () => {
    const sb = await left.sandbox();
    const dir = await fakePath([]);
    const out: string[] = [];
    expect(await initRepo({ cwd: sb.repo, env: { PATH: dir } }, { out: (t) => void out.push(t), err: (t) => void out.push(t) })).toBe(0);
    expect(out.join('')).toContain('no agent CLI on PATH (claude, codex, aider, gemini, opencode)');
  });
});
