import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const RULES_BRANCH = '---\npush: branch\nremote: origin\nmax_attempts: 1\n---\nBenchmark project.\n';
export const RULES_LOCAL = '---\npush: none\nmax_attempts: 1\n---\nBenchmark project.\n';

/** A shell-executor task that writes one file: the smallest real change nightshift can commit. */
export function noopTask(id, { priority, run } = {}) {
  const lines = ['---', `title: "bench ${id}"`, `run: "${run ?? `echo ${id} > bench-${id}.txt`}"`];
  if (priority !== undefined) lines.push(`priority: ${priority}`);
  lines.push('---', '# Goal', 'Write one file (a benchmark task).', '');
  return lines.join('\n');
}

export function writeTask(repo, id, text) {
  writeFileSync(join(repo, 'tasks', `${id}.md`), text);
}

/** How a producer should drop a task: write a temp file elsewhere on the same disk, then rename it in. */
export function dropTask(sandbox, id, text) {
  const tmp = join(sandbox.dir, `.${id}.md.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, join(sandbox.repo, 'tasks', `${id}.md`));
}

export const ids = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}-${String(i + 1).padStart(3, '0')}`);
