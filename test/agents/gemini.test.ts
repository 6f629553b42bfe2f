import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'vitest';
import { cleanUpAfterTest } from '../helpers/cleanup.js';
import { pathWithAgents } from '../helpers/agentRun.js';
import { startModelServer, USAGE, type RecordedRequest, type Turn } from '../helpers/modelServer.js';
import { progressEvents, taskText } from '../helpers/repo.js';
import { expectHelloDoneInWorktree, readTask } from '../helpers/task.js';

/**
 * The real Gemini CLI (the pinned @google/gemini-cli devDependency) driven through whole nightshift
 * tasks by the built CLI, offline: it talks only to the scripted model server on 127.0.0.1, reached
 * through GOOGLE_GEMINI_BASE_URL with a GEMINI_API_KEY. The daemon inherits a PWD naming the user's
 * checkout, as it does when started from a shell there.
 */

const GOAL = 'Write hello.txt saying hello, and note where you are in where.txt.';
const INSTRUCTION = 'Carry out the task described in the input above. Work in the current directory.';

/**
 * gemini-cli 0.61 in headless mode takes its auth type from ~/.gemini/settings.json; without one it
 * guesses from the environment, and a GOOGLE_GEMINI_BASE_URL makes that guess "gateway", which headless
 * mode refuses (exit 41) before sending anything. Usage statistics off: nothing but the test server.
 */
const SETTINGS = { security: { auth: { selectedType: 'gemini-api-key' } }, privacy: { usageStatisticsEnabled: false } };

async function setup(t: TestContext, script: Turn[], settings: object | undefined) {
  const left = cleanUpAfterTest(t);
  const server = await startModelServer(script);
  left.defer(() => server.close());
  const sb = await left.sandbox(
    '---\nexecutor: gemini\nexecutors:\n  gemini: { model: test-model }\ntest: grep -q hello hello.txt\nmax_attempts: 1\npush: branch\n---\nBe brief.\n',
  );
  if (settings) {
    const dir = join(String(sb.env.HOME), '.gemini');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'settings.json'), JSON.stringify(settings, null, 2));
  }
  const env: NodeJS.ProcessEnv = {
    PATH: pathWithAgents(),
    PWD: sb.repo,
    GEMINI_API_KEY: 'sk-test-not-a-secret',
    GOOGLE_GEMINI_BASE_URL: server.url,
  };
  return { sb, server, env };
}

/** Every text part of the first user content of a Gemini request, joined. */
function userText(r: RecordedRequest | undefined): string {
  const contents = (r?.body as { contents?: Array<{ role?: string; parts?: Array<{ text?: string }> }> } | undefined)?.contents ?? [];
  return (contents.find((c) => c.role === 'user')?.parts ?? []).map((p) => p.text ?? '').join('\n');
}

// Both cases mostly wait on the CLI's start-up: side by side they cost little more than one.
describe.concurrent('executor: gemini, the real CLI against the scripted model server', () => {
  it(
    'does the task in its worktree with its own tools; nothing lands in the checkout; tokens recorded',
    { timeout: 240_000 },
    async (t) => {
      const { expect } = t;
      const { sb, server, env } = await setup(
        t,
        [
          { kind: 'write-file', path: 'hello.txt', content: 'hello from gemini\n' },
          { kind: 'shell', command: 'pwd > where.txt' },
          { kind: 'final', text: 'I wrote hello.txt and where.txt.' },
        ],
        SETTINGS,
      );
      const head = (await sb.git(['rev-parse', 'HEAD'])).trim();
      await sb.write('tasks/001-hello.md', taskText({ title: 'Say hello' }, `# Goal\n\n${GOAL}\n`));

      const r = await sb.cli(['daemon', 'start', '--once'], { env, timeoutMs: 230_000 });
      const { fm } = await readTask(sb, '001-hello');
      expect({ code: r.code, stderr: r.stderr, status: fm.status, error: fm.error }).toEqual({
        code: 0,
        stderr: '',
        status: 'done',
        error: undefined,
      });
      // Three model turns; gemini's stats give each its total (prompt + candidates).
      expect(fm).toMatchObject({ attempts: 1, tokens: 3 * (USAGE.input + USAGE.output) });

      // The work is in the task's commit, made in the worktree (the shell tool ran there too); nothing in the checkout.
      await expectHelloDoneInWorktree(expect, sb, head, 'hello from gemini\n', 3 * (USAGE.input + USAGE.output));

      // What gemini sent: the prompt nightshift saved (stdin) first, then the instruction pointing above it.
      const calls = server.modelRequests();
      expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual(
        Array(3).fill('POST /v1beta/models/test-model:streamGenerateContent?alt=sse'),
      );
      expect(calls[0]?.headers['x-goog-api-key']).toBe('sk-test-not-a-secret');
      expect(server.requests.filter((q) => q.turn === undefined).map((q) => q.url)).toEqual([]);
      const sent = userText(calls[0]);
      const prompt = await sb.read('.nightshift/logs/001-hello/1.prompt.md');
      expect(sent).toContain(prompt.trim());
      expect(sent.indexOf(GOAL)).toBeGreaterThanOrEqual(0);
      expect(sent.indexOf(GOAL)).toBeLessThan(sent.indexOf(INSTRUCTION));
      expect(JSON.stringify(calls[1]?.body)).toContain('"functionResponse":{"name":"write_file"');
      expect(JSON.stringify(calls[2]?.body)).toContain('"functionResponse":{"name":"run_shell_command"');
      expect(await sb.read('.nightshift/logs/001-hello/1.log')).toContain('executor gemini finished: I wrote hello.txt and where.txt.');
    },
  );

  it(
    'without settings.json selecting API-key auth it exits 41 before any request: the task is blocked (auth), no attempt used',
    { timeout: 240_000 },
    async (t) => {
      const { expect } = t;
      const { sb, server, env } = await setup(t, [{ kind: 'final', text: 'never asked' }], undefined);
      await sb.write('tasks/002-unset.md', taskText({ title: 'No auth type' }, `# Goal\n\n${GOAL}\n`));

      const r = await sb.cli(['daemon', 'start', '--once'], { env, timeoutMs: 230_000 });
      const { fm } = await readTask(sb, '002-unset');
      expect(r.code).toBe(1);
      expect(fm).toMatchObject({ status: 'blocked', attempts: 0 });
      expect(String(fm.error)).toMatch(/gemini could not run \(auth\): Error: Invalid auth method selected\.$/);
      expect(progressEvents(await sb.read('progress.txt')).find((e) => e.event === 'executor-parked')?.fields).toMatchObject({
        executor: 'gemini',
        cause: 'auth',
      });
      expect(server.requests).toEqual([]);
      expect(await sb.git(['status', '--porcelain', '--untracked-files=all'])).toBe('?? tasks/002-unset.md\n');
    },
  );

  it(
    'doctor names that trap before any task runs, and is content once settings.json selects the auth type',
    { timeout: 120_000 },
    async (t) => {
      const { expect } = t;
      const { sb, env: agentEnv } = await setup(t, [{ kind: 'final', text: 'never asked' }], undefined);
      // The real gemini can take more than doctor's 15 s to print its version on a loaded machine: a
      // stand-in answers for it here, the check under test reads only the environment and settings files.
      const bin = join(sb.dir, 'bin');
      await mkdir(bin);
      await writeFile(join(bin, 'gemini'), '#!/bin/sh\necho 0.61.0\n', { mode: 0o755 });
      const env = { ...agentEnv, PATH: `${bin}:${agentEnv.PATH}` };
      const before = await sb.cli(['doctor'], { env });
      expect(before.code).toBe(1);
      const line = before.stdout.split('\n').find((l) => / gemini /.test(l));
      expect(line).toMatch(
        /^FAILED {2}gemini +0\.61\.0 \(.*\/bin\/gemini\), but GOOGLE_GEMINI_BASE_URL is set and no settings\.json selects an auth type, so gemini exits 41 before any request: add \{"security": \{"auth": \{"selectedType": "gemini-api-key"\}\}\} to ~\/\.gemini\/settings\.json$/,
      );

      await mkdir(join(String(sb.env.HOME), '.gemini'));
      await writeFile(
        join(String(sb.env.HOME), '.gemini', 'settings.json'),
        '{\n  // as gemini writes it\n  "security": { "auth": { "selectedType": "gemini-api-key" } }\n}\n',
      );
      const after = await sb.cli(['doctor'], { env });
      expect(after.stdout.split('\n').find((l) => / gemini /.test(l))).toMatch(/^ok +gemini +0\.61\.0 \(/);
      expect(after.code).toBe(0);
    },
  );
});
