import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'vitest';
import { codexTestProviderArgs, pathWithAgents } from '../helpers/agentRun.js';
import { startModelServer } from '../helpers/modelServer.js';

const schema = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false };
async function run(argv: string[], env: Record<string, string>, cwd: string, stdin: string) {
  const child = spawn(argv[0]!, argv.slice(1), { cwd, env: { PATH: pathWithAgents(), ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  child.stdin.end(stdin);
  const code = await new Promise((r) => child.on('close', r));
  return { out, code };
}
it('claude', async () => {
  const server = await startModelServer([{ kind: 'tool', name: 'StructuredOutput', input: { name: 'bob' } }, { kind: 'final', text: 'done' }]);
  const dir = await mkdtemp(join(tmpdir(), 'probe-'));
  await mkdir(join(dir, 'home'));
  const r = await run(['claude', '-p', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'dontAsk', '--tools', 'Read,Glob,Grep', '--json-schema', JSON.stringify(schema)],
    { HOME: join(dir, 'home'), ANTHROPIC_BASE_URL: server.url, ANTHROPIC_API_KEY: 'sk-x', CLAUDE_CODE_MAX_RETRIES: '0' }, dir, 'say a name');
  console.log('CLAUDE', r.code, r.out.slice(-3000));
  for (const q of server.modelRequests()) console.log('TOOLS', JSON.stringify((q.body as any).tools?.map((t: any) => t.name)), JSON.stringify((q.body as any).output_format ?? (q.body as any).tool_choice));
  await server.close();
}, 120000);
it.skip('codex', async () => {
  const server = await startModelServer([{ kind: 'final', text: '{"name":"bob"}' }]);
  const dir = await mkdtemp(join(tmpdir(), 'probe-'));
  await mkdir(join(dir, 'home'));
  await writeFile(join(dir, 'schema.json'), JSON.stringify(schema));
  const r = await run(['codex', 'exec', '--json', '--skip-git-repo-check', '-s', 'read-only', '--output-schema', join(dir, 'schema.json'), '-o', join(dir, 'last.txt'), ...codexTestProviderArgs(server.url), '-'],
    { HOME: join(dir, 'home'), CODEX_HOME: join(dir, 'home'), NIGHTSHIFT_TEST_MODEL_KEY: 'sk-x' }, dir, 'say a name');
  console.log('CODEX', r.code, r.out.slice(-3000));
  console.log('LAST', await readFile(join(dir, 'last.txt'), 'utf8').catch((e) => String(e)));
  for (const q of server.modelRequests()) console.log('BODY', JSON.stringify((q.body as any).text));
  await server.close();
}, 120000);
