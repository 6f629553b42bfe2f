import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sandbox } from './choose.js';
import { sandboxStep } from './wrap.js';

export type CanaryResult = { kind: 'ok' } | { kind: 'failed'; why: string };

const CANARY_TIMEOUT_MS = 15_000;

/**
 * doctor's proof that the sandbox holds, not just starts: a step in a scratch worktree must write there
 * and must fail to read a canary planted in HOME (as ~/.ssh/id_rsa would be).
 */
export async function canaryProbe(sandbox: Extract<Sandbox, { kind: 'bwrap' }>): Promise<CanaryResult> {
  const dir = await mkdtemp(join(tmpdir(), 'nightshift-canary-'));
  try {
    const home = join(dir, 'home');
    const worktree = join(dir, 'worktree');
    await mkdir(home);
    await mkdir(worktree);
    const canary = `canary-${randomBytes(8).toString('hex')}`;
    await writeFile(join(home, '.nightshift-canary'), canary);
    const step = await sandboxStep(
      sandbox,
      {
        argv: ['sh', '-c', 'echo written > probe.txt; cat "$HOME/.nightshift-canary"'],
        base: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home },
        role: { kind: 'command' },
      },
      { root: join(dir, 'checkout'), worktree, readOnly: [], homeFrom: join(dir, 'private-home') },
    );
    const [program, ...args] = step.argv;
    const { code, output } = await run(program, args, step.env, worktree);
    const wrote = await readFile(join(worktree, 'probe.txt'), 'utf8').catch(() => '');
    if (wrote !== 'written\n')
      return { kind: 'failed', why: `a sandboxed step could not write its worktree: ${output.trim() || `exit ${code}`}` };
    if (code === 0 || output.includes(canary)) return { kind: 'failed', why: 'a sandboxed step read a file planted in HOME' };
    return { kind: 'ok' };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function run(program: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(program, args, { env, cwd, timeout: CANARY_TIMEOUT_MS }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}
