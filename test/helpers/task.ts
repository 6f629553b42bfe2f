import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Sandbox } from './repo.js';

/** A task file's frontmatter (as YAML values) and body, read back from the sandbox repo. */
export async function readTask(sb: Sandbox, id: string): Promise<{ fm: Record<string, unknown>; body: string; text: string }> {
  const text = await sb.read(`tasks/${id}.md`);
  const m = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(text);
  if (!m) throw new Error(`task ${id} has no frontmatter:\n${text}`);
  return { fm: parse(m[1] as string) as Record<string, unknown>, body: m[2] as string, text };
}

/** Local and remote nightshift/<id> branch commits (undefined when the branch does not exist). */
export async function taskBranches(sb: Sandbox, id: string): Promise<{ local?: string; remote?: string }> {
  const ref = `refs/heads/nightshift/${id}`;
  const local = (await sb.git(['for-each-ref', '--format=%(objectname)', ref])).trim() || undefined;
  const remote = (await sb.git(['for-each-ref', '--format=%(objectname)', ref], sb.remote)).trim() || undefined;
  return { local, remote };
}

/** The worktree folder an attempt used, from the header line of its transcript. */
export async function attemptWorktree(sb: Sandbox, id: string, attempt = 1): Promise<string> {
  const log = await sb.read(`.nightshift/logs/${id}/${attempt}.log`);
  const m = / worktree (\S+) on nightshift\//.exec(log);
  if (!m) throw new Error(`no worktree line in the transcript of ${id} attempt ${attempt}:\n${log}`);
  return m[1] as string;
}

/** Asserts nothing is left of task worktrees: no folder, and git knows only the main checkout. */
export async function worktreesLeft(sb: Sandbox, paths: string[]): Promise<{ folders: string[]; gitWorktrees: string[] }> {
  const listed = await sb.git(['worktree', 'list', '--porcelain']);
  const gitWorktrees = listed.split('\n').filter((l) => l.startsWith('worktree ')).map((l) => l.slice('worktree '.length));
  return { folders: paths.filter((p) => existsSync(p)), gitWorktrees };
}

export function exists(sb: Sandbox, path: string): boolean {
  return existsSync(join(sb.repo, path));
}
