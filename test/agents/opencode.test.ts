import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, type TestContext } from 'vitest';
import { cleanUpAfterTest } from '../helpers/cleanup.js';
import { pathWithAgents } from '../helpers/agentRun.js';
import { startModelServer, USAGE, type RecordedRequest } from '../helpers/modelServer.js';
import { taskText } from '../helpers/repo.js';
import { expectHelloDoneInWorktree, readTask } from '../helpers/task.js';

/**
 * The real opencode CLI (the pinned opencode-ai devDependency) driven through a whole nightshift task by
 * the built CLI, offline: it talks only to the scripted model server on 127.0.0.1, set up as an
 * OpenAI-compatible provider in its own config file under the sandbox's HOME. The daemon inherits a PWD
 * naming the user's checkout, as it does when started from a shell there: opencode believes PWD before
 * its real working folder, and must still work in the task's worktree.
 */

const GOAL = 'Write hello.txt saying hello, and note where you are in where.txt.';
const INSTRUCTION = 'Carry out the task described below. Work in the current directory.';

async function setup(t: TestContext) {
  const left = cleanUpAfterTest(t);
  const server = await startModelServer([
    { kind: 'write-file', path: 'hello.txt', content: 'hello from opencode\n' },
    { kind: 'shell', command: 'pwd > where.txt' },
    { kind: 'final', text: 'I wrote hello.txt and where.txt.' },
  ]);
  left.defer(() => server.close());
  const sb = await left.sandbox(
    '---\nexecutor: opencode\nexecutors:\n  opencode: { model: nstest/test-model }\ntest: grep -q hello hello.txt\nmax_attempts: 1\npush: branch\n---\nBe brief.\n',
  );
  // opencode's user config ($XDG_CONFIG_HOME/opencode): the test server as a provider, its key from the env.
  const config = {
    $schema: 'https://opencode.ai/config.json',
    provider: {
      nstest: {
        npm: '@ai-sdk/openai-compatible',
        name: 'nightshift test server',
        options: { baseURL: `${server.url}/v1`, apiKey: '{env:NIGHTSHIFT_TEST_MODEL_KEY}' },
        models: { 'test-model': { name: 'Test model' } },
      },
    },
    autoupdate: false,
    share: 'disabled',
  };
  const configDir = join(String(sb.env.XDG_CONFIG_HOME), 'opencode');
  await mkdir(configDir, { recursive: true });
  await writeFile(join(configDir, 'opencode.json'), JSON.stringify(config, null, 2));
  const env: NodeJS.ProcessEnv = {
    PATH: pathWithAgents(),
    PWD: sb.repo,
    NIGHTSHIFT_TEST_MODEL_KEY: 'sk-test-not-a-secret',
    // No look-ups on the internet at start-up: the model list and the update check.
    OPENCODE_DISABLE_MODELS_FETCH: '1',
    OPENCODE_DISABLE_AUTOUPDATE: '1',
  };
  return { sb, server, env };
}

/** The text of the last user message of a chat request. */
function userText(r: RecordedRequest | undefined): string {
  const messages = (r?.body as { messages?: Array<{ role: string; content: unknown }> } | undefined)?.messages ?? [];
  const user = messages.filter((m) => m.role === 'user').at(-1);
  return typeof user?.content === 'string' ? user.content : JSON.stringify(user?.content);
}

describe('executor: opencode, the real CLI against the scripted model server', () => {
  it(
    'does the task in its worktree with its own tools; nothing lands in the checkout; tokens recorded',
    { timeout: 240_000 },
    async (t) => {
      const { sb, server, env } = await setup(t);
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
      // Three model turns; opencode counts each as input (less the cached part) + output + cache reads.
      expect(fm).toMatchObject({ attempts: 1, tokens: 3 * (USAGE.input + USAGE.output) });

      // The work is in the task's commit, made in the worktree (the shell tool ran there too); nothing in the checkout.
      await expectHelloDoneInWorktree(expect, sb, head, 'hello from opencode\n', 3 * (USAGE.input + USAGE.output));

      // What opencode sent: the instruction first, then the prompt nightshift saved (from stdin).
      const calls = server.modelRequests();
      expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual(Array(3).fill('POST /v1/chat/completions'));
      expect(calls[0]?.headers.authorization).toBe('Bearer sk-test-not-a-secret');
      const sent = userText(calls[0]);
      const prompt = await sb.read('.nightshift/logs/001-hello/1.prompt.md');
      expect(sent.indexOf(INSTRUCTION)).toBeGreaterThanOrEqual(0);
      expect(sent.indexOf(INSTRUCTION)).toBeLessThan(sent.indexOf(GOAL));
      expect(sent).toContain(prompt.trim());
      // Its tools, called by the names the server used, and their results went back.
      expect(JSON.stringify(calls[1]?.body)).toContain('"tool_call_id":"call_0"');
      expect(JSON.stringify(calls[2]?.body)).toContain('"tool_call_id":"call_1"');
      expect(await sb.read('.nightshift/logs/001-hello/1.log')).toContain('executor opencode finished: I wrote hello.txt and where.txt.');
    },
  );
});
