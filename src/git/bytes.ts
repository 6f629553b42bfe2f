import { spawn } from 'node:child_process';
import { constants } from 'node:os';
// The executor can write the shared config: the same isolation as every other git call (see git.ts).
import { SAFE_CONFIG, type Git } from './git.js';
import { noteGitProcess } from './count.js';

/**
 * git calls whose output (or input) is file names, which are bytes and need not be UTF-8: git.ts decodes
 * everything as UTF-8, which turns an odd byte into U+FFFD and so names a file that does not exist. Same
 * environment as git.ts; `input`, when given, is written to git's stdin (paths for `update-index --stdin`,
 * never argv: an argument can only hold a UTF-8 string).
 */
const GIT_ENV = { GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };

export interface BytesResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export function gitBytes(git: Git, args: string[], input?: Buffer): Promise<BytesResult> {
  noteGitProcess();
  return new Promise((resolve, reject) => {
    const child = spawn('git', [...SAFE_CONFIG, ...args], {
      cwd: git.dir,
      env: { ...process.env, ...GIT_ENV },
      stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    if (input && child.stdin) {
      // git that exits early (a bad option) closes its end: its exit code and stderr say why, not EPIPE.
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    }
    child.on('close', (code, signal) => {
      resolve({
        code: code ?? 128 + (signal ? constants.signals[signal] : 0),
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

/** Like gitBytes, but throws on a non-zero exit as Git.raw does. */
export async function rawBytes(git: Git, args: string[], input?: Buffer): Promise<Buffer> {
  const r = await gitBytes(git, args, input);
  if (r.code !== 0) throw new Error(r.stderr || `git ${args[0] ?? ''} exited ${r.code}`);
  return r.stdout;
}
