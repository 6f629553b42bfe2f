import { execFile } from 'node:child_process';
import { resolveProgram } from '../exec/executorEnv.js';

/** Whether steps can run inside bubblewrap here, and if not, why (said at start, in doctor and the log). */
export type SandboxSupport = { kind: 'bwrap'; program: string } | { kind: 'none'; why: string };

/** The namespaces and mounts every sandboxed step uses: the probe asks for exactly these. */
export const BASE_FLAGS = [
  '--die-with-parent',
  '--unshare-pid',
  '--unshare-ipc',
  '--unshare-uts',
  // As root bwrap keeps every capability: a process inside could remount / read-write. None are needed.
  '--cap-drop',
  'ALL',
  '--ro-bind',
  '/',
  '/',
  '--dev',
  '/dev',
  '--proc',
  '/proc',
  '--tmpfs',
  '/tmp',
];

const PROBE_TIMEOUT_MS = 10_000;
const probes = new Map<string, Promise<SandboxSupport>>();

/**
 * Looks for bwrap on PATH and starts `true` inside it once per process (and bwrap found): installed is not
 * enough, a kernel without user namespaces or a container without the privileges refuses to create one.
 */
export function probeSandbox(
  path: string | undefined = process.env.PATH,
  platform: NodeJS.Platform = process.platform,
): Promise<SandboxSupport> {
  if (platform !== 'linux') {
    return Promise.resolve({
      kind: 'none',
      why: `bubblewrap is Linux only; on ${platform} nightshift has no sandbox yet (sandbox-exec is planned)`,
    });
  }
  const program = resolveProgram('bwrap', undefined, path);
  if (!program.includes('/')) return Promise.resolve({ kind: 'none', why: 'bubblewrap (bwrap) is not installed' });
  let probe = probes.get(program);
  if (!probe) {
    probe = tryBwrap(program);
    probes.set(program, probe);
  }
  return probe;
}

function tryBwrap(program: string): Promise<SandboxSupport> {
  return new Promise((resolve) => {
    execFile(program, [...BASE_FLAGS, '--', 'true'], { timeout: PROBE_TIMEOUT_MS, env: { PATH: '/usr/bin:/bin' } }, (err, _out, stderr) => {
      if (!err) return resolve({ kind: 'bwrap', program });
      const said = stderr.trim().split('\n').pop() || err.message;
      resolve({ kind: 'none', why: `bwrap is installed but cannot create a sandbox here: ${said}` });
    });
  });
}
