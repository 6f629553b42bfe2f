import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'vitest';
import { cleanUpAfterTest } from '../helpers/cleanup.js';
import { agentTestEnv, codexTestProviderArgs } from '../helpers/agentRun.js';
import { startModelServer, type ModelServer, type Turn } from '../helpers/modelServer.js';
import { taskText, type Sandbox } from '../helpers/repo.js';
import { readTask } from '../helpers/task.js';

/**
 * The real Claude Code and Codex, driven by the scripted model server, run the repository's test command
 * with their own shell tool inside nightshift's sandbox; without the sandbox Claude Code may run only the
 * commands rules.md names, and what it was refused is named in the attempt.
 */

/** The repository's test script: says where it ran, so the model's next request (and the transcript) shows it. */
const TEST_SCRIPT = `#!/bin/sh
echo "test-ran pid1=$(tr '\\0' ' ' < /proc/1/cmdline | cut -d' ' -f1 | xargs basename)"
if [ -e "$HOME/.ssh/id_rsa" ]; then echo "ssh-key=visible"; else echo "ssh-key=hidden"; fi
`;

type Cli = 'claude' | 'codex';

async function setup(t: TestContext, cli: Cli, script: Turn[], sandbox: 'bwrap' | 'none') {
  const left = cleanUpAfterTest(t);
  const server: ModelServer = await startModelServer(script);
  left.defer(() => server.close());
  const codexArgs = cli === 'codex' ? `executors:\n  codex:\n    args: ${JSON.stringify(codexTestProviderArgs(server.url))}\n` : '';
  const rules = `---\nexecutor: ${cli}\nsandbox: ${sandbox}\ntest: sh run-tests.sh\nmax_attempts: 1\n${codexArgs}---\nBe brief.\n`;
  const sb: Sandbox = await left.sandbox({ rules, files: { 'run-tests.sh': TEST_SCRIPT } });
  await mkdir(join(sb.dir, 'home', '.ssh'), { recursive: true });
  await writeFile(join(sb.dir, 'home', '.ssh', 'id_rsa'), 'canary\n');
  const env = await agentTestEnv(server.url, sb.dir);
  await sb.write('tasks/001-test.md', taskText({ title: 'Run the tests' }, '# Goal\n\nRun the tests, then write hello.txt.\n'));
  const r = await sb.cli(['daemon', 'start', '--once'], { env });
  const { fm } = await readTask(sb, '001-test');
  const transcript = await sb.read('.nightshift/logs/001-test/1.log');
  return { r, fm, transcript, server };
}

/** What the model was sent after its tool call: the tool's output, as the agent reported it back. */
function sentBack(server: ModelServer): string {
  return JSON.stringify(
    server
      .modelRequests()
      .slice(1)
      .map((q) => q.body),
  );
}

describe.concurrent.each(['claude', 'codex'] as const)('%s inside the sandbox', (cli) => {
  it('runs the test command with its shell tool inside bwrap; the transcript and its next request show the output', async (t) => {
    const { expect } = t;
    const script: Turn[] = [
      { kind: 'shell', command: 'sh run-tests.sh' },
      { kind: 'write-file', path: 'hello.txt', content: 'hello\n' },
      { kind: 'final', text: 'Tests ran; wrote hello.txt.' },
    ];
    const { r, fm, transcript, server } = await setup(t, cli, script, 'bwrap');
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(fm).toMatchObject({ status: 'done', attempts: 1 });
    // pid 1 of its namespace is bwrap's own init; the key planted in HOME is not there.
    expect(transcript).toMatch(/test-ran pid1=bwrap\n.*ssh-key=hidden/);
    expect(sentBack(server)).toContain('test-ran pid1=bwrap');
  });
});

describe('claude without the sandbox', () => {
  it('may run the rules.md test command; a command it was refused is named in the reason', async (t) => {
    const { expect } = t;
    const script: Turn[] = [
      { kind: 'shell', command: 'sh run-tests.sh' },
      { kind: 'shell', command: 'node -e 1' },
      { kind: 'final', text: 'Done.' },
    ];
    const { fm, transcript } = await setup(t, 'claude', script, 'none');
    // `sh run-tests.sh` alone would be refused in acceptEdits mode: --allowedTools let it through.
    expect(transcript).toContain('test-ran pid1=');
    expect(transcript).not.toContain('test-ran pid1=bwrap');
    expect(transcript).toContain('ssh-key=visible');
    expect(fm).toMatchObject({ status: 'failed', attempts: 1 });
    expect(String(fm.error)).toMatch(/the agent was refused this command: `node -e 1`/);
  });
});
