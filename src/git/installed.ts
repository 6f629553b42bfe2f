import { findProgram, probeVersion, type ProbeResult } from '../exec/probe.js';

/**
 * Which git `nightshift doctor` would use, and whether it starts (`git --version`): found on PATH as any
 * other program, and probed the same way (env as given, stdin closed, a short timeout).
 */
export async function probeGit(
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<{ path: string | undefined; version: ProbeResult | undefined }> {
  const path = await findProgram('git', env, cwd);
  return { path, version: path ? await probeVersion(path, ['--version'], env, cwd) : undefined };
}
