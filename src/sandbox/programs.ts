import { realpathSync, statSync } from 'node:fs';
import { locateProgram } from '../exec/executorEnv.js';
import { delimiter, dirname, isAbsolute, sep } from 'node:path';

/**
 * What of the executor's own programs must stay visible (read-only) although it lives where the sandbox
 * hides things: CLIs installed under HOME (~/.local/bin, nvm's ~/.nvm/.../bin), or under /tmp. Each PATH
 * entry in a hidden place, the installed program itself (a node CLI's package folder, a native binary's
 * folder) and absolute script paths in the argv (a custom executor's `sh /path/agent.sh`). Nothing else
 * of those places comes back.
 */
export function visiblePrograms(argv: string[], path: string | undefined, hidden: string[]): string[] {
  // A bare program name is looked up on PATH, like the shell inside will: its package must come along.
  const [program, ...args] = argv;
  if (program !== undefined && !program.includes('/')) argv = [locateProgram(program, path) ?? program, ...args];
  // Strictly inside: a PATH entry that is HOME or /tmp itself would bring all of it back.
  const inHidden = (p: string) => hidden.some((h) => p.startsWith(h.endsWith(sep) ? h : h + sep));
  const out = new Set<string>();
  for (const entry of (path ?? '').split(delimiter)) if (entry && isAbsolute(entry) && inHidden(entry) && isDir(entry)) out.add(entry);
  for (const arg of argv) {
    if (!isAbsolute(arg) || !inHidden(arg)) continue;
    const real = realOf(arg);
    if (!real) continue;
    if (isFile(arg)) out.add(arg);
    if (real !== arg && inHidden(real)) out.add(installRoot(real));
  }
  return [...out];
}

/**
 * A node CLI needs the node_modules folder it is installed in, not only its own package: its dependencies
 * and platform binaries are sibling packages there (Codex starts @openai/codex-linux-x64's binary). A native
 * binary needs its folder. Installed software only, bound read-only.
 */
function installRoot(file: string): string {
  const parts = file.split(sep);
  const at = parts.lastIndexOf('node_modules');
  if (at >= 0 && parts.length > at + 1) return parts.slice(0, at + 1).join(sep);
  return dirname(file);
}

function realOf(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
