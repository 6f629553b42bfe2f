import { copyFile, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { hasCode } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { StepRole } from './env.js';

/**
 * What each agent CLI keeps in HOME: folders are bound in writable (sessions, logins and settings it
 * updates in place), single files are copied in and, when the agent changed them, copied back (Claude
 * Code replaces ~/.claude.json by rename, which a bind-mounted file would refuse). Nothing else of HOME
 * is there: .ssh, .aws, .config/gh, other checkouts.
 */
const AGENT_HOME: Record<string, { dirs: string[]; files: string[]; envDirs: string[] }> = {
  claude: { dirs: ['.claude'], files: ['.claude.json'], envDirs: ['CLAUDE_CONFIG_DIR'] },
  codex: { dirs: ['.codex'], files: [], envDirs: ['CODEX_HOME'] },
  gemini: { dirs: ['.gemini'], files: [], envDirs: [] },
  opencode: { dirs: ['.config/opencode', '.local/share/opencode', '.local/state/opencode'], files: [], envDirs: [] },
  aider: { dirs: [], files: ['.aider.conf.yml', '.aider.model.settings.yml', '.aider.model.metadata.json'], envDirs: [] },
};

export interface PrivateHome {
  /** The real HOME's agent folders that exist, to bind writable. */
  dirs: string[];
  /** Copies the agent's changed files back to the real HOME. */
  finish(): Promise<void>;
}

/**
 * Empties `from` (the step's private HOME on the host) and fills it with the agent's files. `home` is the
 * real HOME the step would have had; it keeps that path inside.
 */
export async function preparePrivateHome(from: string, home: string, role: StepRole, env: NodeJS.ProcessEnv): Promise<PrivateHome> {
  await rm(from, { recursive: true, force: true });
  await mkdir(from, { recursive: true, mode: 0o700 });
  const spec = role.kind === 'agent' ? AGENT_HOME[role.name] : undefined;
  if (!spec) return { dirs: [], finish: () => Promise.resolve() };
  const wanted = [...spec.dirs.map((d) => join(home, d)), ...spec.envDirs.map((name) => env[name]).filter((d): d is string => !!d)];
  const dirs: string[] = [];
  for (const dir of new Set(wanted)) if (await isDir(dir)) dirs.push(dir);
  const copied: Array<{ name: string; before: Buffer }> = [];
  for (const name of spec.files) {
    const before = await readFile(join(home, name)).catch(() => undefined);
    if (!before) continue;
    await mkdir(dirname(join(from, name)), { recursive: true });
    await copyFile(join(home, name), join(from, name));
    copied.push({ name, before });
  }
  return {
    dirs,
    finish: async () => {
      for (const { name, before } of copied) {
        const after = await readFile(join(from, name)).catch(() => undefined);
        if (after && !after.equals(before)) await writeFileAtomic(join(home, name), after);
      }
    },
  };
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (err) {
    if (hasCode(err, 'ENOENT') || hasCode(err, 'ENOTDIR')) return false;
    throw err;
  }
}
