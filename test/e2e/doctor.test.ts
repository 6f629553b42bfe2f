import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import type { Sandbox } from '../helpers/repo.js';

const FAKE_AGENT = resolve(import.meta.dirname, '../fixtures/agents/bin/fake-agent.mjs');

const left = cleanUpAfterEach();

/**
 * A PATH with only the fixture folder, node and the system folders (git, sh): no real agent CLI.
 * Each script is a shell body, or 'fake-agent' for a link to the fake agent.
 */
async function fixturePath(box: Sandbox, scripts: Record<string, string>): Promise<string> {
  const bin = join(box.dir, 'bin');
  await mkdir(bin);
  for (const [name, body] of Object.entries(scripts)) {
    const file = join(bin, name);
    if (body === 'fake-agent') await symlink(FAKE_AGENT, file);
    else {
      await writeFile(file, `#!/bin/sh\n${body}\n`);
      await chmod(file, 0o755);
    }
  }
  return [bin, dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(delimiter);
}

const RULES =
  '---\nexecutor: gemini\nroutes: { docs: opencode }\nfallback: [mine, shell]\nexecutors:\n  mine: { command: [my-agent, "{prompt_file}"] }\n---\n';

describe('nightshift doctor', () => {
  it('says ok for git, rules.md and every routed executor, with versions', async () => {
    const sb = await left.sandbox(RULES);
    const PATH = await fixturePath(sb, { gemini: 'fake-agent', opencode: 'fake-agent', 'my-agent': 'exit 0' });
    const r = await sb.cli(['doctor'], { env: { PATH } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(7);
    expect(lines[0]).toMatch(/^ok +git +git version \d/);
    expect(lines[1]).toMatch(/^ok +rules\.md +valid; executors used: gemini, opencode, mine, shell$/);
    expect(lines[2]).toMatch(/^ok +gemini +gemini 0\.0\.0-fixture \(.*\/bin\/gemini\)$/);
    expect(lines[3]).toMatch(/^ok +opencode +opencode 0\.0\.0-fixture \(/);
    expect(lines[4]).toMatch(/^ok +mine +command my-agent \(.*\/bin\/my-agent\)$/);
    expect(lines[5]).toMatch(/^ok +shell +built in/);
    // With bwrap the canary probe ran; without it auto runs unsandboxed, a warning that fails nothing.
    expect(lines[6]).toMatch(/^(ok +sandbox +bwrap .*could not read a file planted in HOME|WARN +sandbox +none: .*steps run unsandboxed)/);
  });

  it('exits 1 naming what is missing or does not start', async () => {
    const sb = await left.sandbox(RULES.replace('fallback: [mine, shell]', 'fallback: [aider]'));
    const PATH = await fixturePath(sb, { gemini: 'echo "gemini: cannot find module" >&2; exit 1' });
    const r = await sb.cli(['doctor'], { env: { PATH } });
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 2).every((l) => l.startsWith('ok '))).toBe(true);
    expect(lines[2]).toMatch(/^FAILED {2}gemini +.*\/bin\/gemini does not start: --version exited 1: gemini: cannot find module$/);
    expect(lines[3]).toMatch(/^MISSING opencode +opencode not found on PATH; install it: npm i -g opencode-ai$/);
    expect(lines[4]).toMatch(/^MISSING aider +aider not found on PATH; install it: /);
  });

  it('also checks the reviewer and executors that queued tasks name themselves', async () => {
    const rules = '---\nexecutor: gemini\nreview: { executor: opencode }\n---\n';
    const sb = await left.sandbox(rules);
    await sb.write('tasks/001-own.md', '---\ntitle: Own executor\nexecutor: aider\n---\nDo it.\n');
    await sb.write('tasks/002-nobody.md', '---\ntitle: Unknown executor\nexecutor: nobody\n---\nDo it.\n');
    await sb.write('tasks/003-done.md', '---\ntitle: Done long ago\nstatus: done\nexecutor: codex\n---\nDone.\n');
    const PATH = await fixturePath(sb, { gemini: 'fake-agent', opencode: 'fake-agent' });
    const r = await sb.cli(['doctor'], { env: { PATH } });
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[1]).toMatch(/^ok +rules\.md +valid; executors used: gemini, opencode, aider, nobody$/);
    expect(lines[3]).toMatch(/^ok +opencode +opencode 0\.0\.0-fixture/);
    expect(lines[4]).toMatch(/^MISSING aider +aider not found on PATH/);
    expect(lines[5]).toMatch(/^MISSING nobody +not an executor: /);
    // A task that is done needs nothing.
    expect(r.stdout).not.toContain('codex');
  });

  it('reports an invalid rules.md and exits 1', async () => {
    const sb = await left.sandbox('---\nexecutor: nosuch\n---\n');
    const r = await sb.cli(['doctor']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ok +git /);
    expect(r.stdout).toMatch(/\nFAILED {2}rules\.md +rules\.md is not valid: executor "nosuch" is not available/);
  });
});

describe('nightshift doctor: the sandbox', () => {
  it('warns when auto finds no bubblewrap, fails when rules.md says bwrap', async () => {
    const sb = await left.sandbox('---\n---\n');
    // A PATH with git and sh but no bwrap.
    const bin = join(sb.dir, 'nobwrap');
    await mkdir(bin);
    for (const tool of ['/usr/bin/git', '/usr/bin/sh', process.execPath]) await symlink(tool, join(bin, tool.split('/').pop() as string));
    const PATH = bin;
    const auto = await sb.cli(['doctor'], { env: { PATH } });
    expect(auto.code).toBe(0);
    expect(auto.stdout).toMatch(/\nWARN +sandbox +none: bubblewrap \(bwrap\) is not installed; steps run unsandboxed; install bubblewrap/);
    await sb.write('rules.md', '---\nsandbox: bwrap\n---\n');
    const strict = await sb.cli(['doctor'], { env: { PATH } });
    expect(strict.code).toBe(1);
    expect(strict.stdout).toMatch(/\nFAILED +sandbox +rules\.md says sandbox: bwrap, but bubblewrap \(bwrap\) is not installed/);
    const start = await sb.cli(['daemon', 'start', '--once'], { env: { PATH } });
    expect(start.code).toBe(2);
    expect(start.stderr).toContain('rules.md says sandbox: bwrap, but bubblewrap (bwrap) is not installed');
  });
});
