import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { execa } from 'execa';

/** Where `program` resolves on PATH (or as a path, when it holds a slash); undefined when nowhere. */
export async function findProgram(program: string, env: NodeJS.ProcessEnv, cwd: string): Promise<string | undefined> {
  const candidates = program.includes('/')
    ? [isAbsolute(program) ? program : resolve(cwd, program)]
    : (env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, program));
  for (const path of candidates) {
    try {
      if (!(await stat(path)).isFile()) continue;
      await access(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

export type ProbeResult = { kind: 'ok'; version: string } | { kind: 'failed'; reason: string };

/**
 * Runs a cheap, offline command (`--version`) to see the program starts at all. stdin is /dev/null and
 * the time is short: a CLI that wants to log in or update first must not hang doctor.
 */
export async function probeVersion(
  path: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  timeoutMs = 15_000,
): Promise<ProbeResult> {
  const r = await execa(path, args, {
    env,
    extendEnv: false,
    cwd,
    timeout: timeoutMs,
    stdin: 'ignore',
    reject: false,
    maxBuffer: 1024 * 1024,
  });
  const firstLine = (text: unknown) =>
    (typeof text === 'string' ? text : '')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find(Boolean);
  // The version is on stdout; stderr carries warnings (codex warns about its PATH helpers under a temp HOME).
  const first = (r.exitCode === 0 ? (firstLine(r.stdout) ?? firstLine(r.stderr)) : (firstLine(r.stderr) ?? firstLine(r.stdout))) ?? '';
  if (r.timedOut) return { kind: 'failed', reason: `${args.join(' ')} did not answer within ${Math.round(timeoutMs / 1000)}s` };
  if (r.exitCode !== 0)
    return { kind: 'failed', reason: `${args.join(' ')} exited ${r.exitCode ?? r.signal}${first ? `: ${first.slice(0, 120)}` : ''}` };
  return { kind: 'ok', version: first.slice(0, 120) || '(no version printed)' };
}
