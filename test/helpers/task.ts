import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ExpectStatic } from 'vitest';
import { parse } from 'yaml';
import { progressEvents, type Sandbox } from './repo.js';

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

/**
 * The worktrees git knows besides the main checkout, as `<folder name> detached` or `<folder name> on
 * <branch>`, and the pool's leases still held. After a run every worktree is an idle pooled slot
 * (`_pool-<n> detached`: the task's branch free again) and no lease is held.
 */
export async function poolAfterRun(sb: Sandbox): Promise<{ worktrees: string[]; leases: string[] }> {
  const listed = await sb.git(['worktree', 'list', '--porcelain']);
  const worktrees: string[] = [];
  for (const block of listed.trim().split('\n\n').slice(1)) {
    const path = /^worktree (.+)$/m.exec(block)?.[1] ?? '?';
    const branch = /^branch refs\/heads\/(.+)$/m.exec(block)?.[1];
    worktrees.push(`${basename(path)} ${branch ? `on ${branch}` : 'detached'}`);
  }
  const root = join(sb.cache, 'nightshift', 'worktrees');
  const leases: string[] = [];
  for (const repo of await readdir(root).catch(() => [] as string[])) {
    // A dot name is a lock being made or removed (left only by a kill in that instant): not a lease.
    leases.push(...(await readdir(join(root, repo, '_leases')).catch(() => [] as string[])).filter((n) => !n.startsWith('.')));
  }
  return { worktrees, leases };
}

export function exists(sb: Sandbox, path: string): boolean {
  return existsSync(join(sb.repo, path));
}

/**
 * A real agent's "hello" task, as the agent tests script it: hello.txt (its file tool) and where.txt (`pwd`
 * from its shell tool, so the worktree's path) in the task's one commit on `head`, pushed, with its tokens
 * in the `done` line; and the user's checkout untouched (no stray file, still at `head`).
 */
export async function expectHelloDoneInWorktree(
  expect: ExpectStatic,
  sb: Sandbox,
  head: string,
  hello: string,
  tokens: number,
): Promise<void> {
  const { fm } = await readTask(sb, '001-hello');
  const worktree = await attemptWorktree(sb, '001-hello');
  const commit = String(fm.commit);
  expect(await sb.git(['show', '--format=', '--name-status', commit])).toBe('A\thello.txt\nA\twhere.txt\n');
  expect(await sb.git(['show', `${commit}:hello.txt`])).toBe(hello);
  expect(await sb.git(['show', `${commit}:where.txt`])).toBe(`${worktree}\n`);
  expect((await sb.git(['rev-parse', `${commit}^`])).trim()).toBe(head);
  expect((await sb.git(['rev-parse', 'nightshift/001-hello'], sb.remote)).trim()).toBe(commit);
  expect(progressEvents(await sb.read('progress.txt')).find((e) => e.event === 'done')?.fields).toMatchObject({ tokens: String(tokens) });

  expect(await sb.git(['status', '--porcelain', '--untracked-files=all'])).toBe('?? tasks/001-hello.md\n');
  expect((await readdir(sb.repo)).sort()).toEqual(['.git', '.gitignore', '.nightshift', 'README.md', 'progress.txt', 'rules.md', 'tasks']);
  expect((await sb.git(['rev-parse', 'HEAD'])).trim()).toBe(head);
}
