import { readFile, mkdir, readdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { stringify } from 'yaml';
import { UsageError, hasCode } from '../errors.js';
import { idProblem, slugify } from '../task/id.js';
import { parseTaskText } from '../task/parse.js';
import { createFileExclusive } from '../util/atomic.js';
import { idFromFileName } from '../task/store.js';
import type { Output } from './output.js';
import { openRepo } from './repo.js';
import { pushAdded } from './addPush.js';

export interface AddOptions {
  cwd: string;
  title: string;
  body?: string;
  file?: string;
  dependsOn?: string[];
  kind?: string;
  executor?: string;
  priority?: number;
  run?: string;
  /** Remote queue: commit the new file on the remote's base and push it (fleet/pushTask.ts). */
  push?: boolean;
}

/** Writes tasks/NNN-slug.md. Every value goes through the YAML serializer, so no input can break the file. */
export async function addTask(opts: AddOptions, io: Output): Promise<number> {
  const paths = await openRepo(opts.cwd);
  if (opts.title.trim() === '') throw new UsageError('the title is empty', 'say what the task does: nightshift add "Add login form"');
  if (opts.body !== undefined && opts.file !== undefined) throw new UsageError('give --body or --file, not both');
  let body = opts.body ?? '';
  if (opts.file !== undefined) {
    try {
      body = await readFile(resolve(opts.cwd, opts.file), 'utf8');
    } catch (err) {
      if (hasCode(err, 'ENOENT')) throw new UsageError(`--file ${opts.file}: no such file`);
      throw err;
    }
  }
  for (const dep of opts.dependsOn ?? []) {
    const problem = idProblem(dep);
    if (problem)
      throw new UsageError(`--depends-on: ${problem}`, 'list task ids separated by commas, like --depends-on 001-setup,002-schema');
  }
  const fm: Record<string, unknown> = { title: opts.title.trim(), status: 'queued' };
  if (opts.priority !== undefined) fm.priority = opts.priority;
  if (opts.dependsOn && opts.dependsOn.length > 0) fm.depends_on = opts.dependsOn;
  if (opts.kind !== undefined) fm.kind = opts.kind;
  if (opts.executor !== undefined) fm.executor = opts.executor;
  if (opts.run !== undefined) fm.run = opts.run;
  const text = `---\n${stringify(fm, { lineWidth: 0 })}---\n${body.trim() ? `${body.trim()}\n` : `# Goal\n\n${opts.title.trim()}\n`}`;

  await mkdir(paths.tasks, { recursive: true });
  const slug = slugify(opts.title);
  // Two producers adding at once both pick the same number; the exclusive create makes one of them move on.
  for (let tries = 0; tries < 50; tries++) {
    const id = `${String((await highestNumber(paths.tasks)) + 1 + tries).padStart(3, '0')}-${slug}`;
    const check = parseTaskText(id, id, text);
    if (check.kind === 'invalid') throw new UsageError(`the task would be invalid: ${check.reason}`);
    const file = join(paths.tasks, `${id}.md`);
    if (await createFileExclusive(file, text)) {
      io.out(`added ${id} (${relative(opts.cwd, file) || file})\n`);
      return opts.push ? pushAdded(paths, id, file, io) : 0;
    }
  }
  throw new UsageError('could not find a free task number in tasks/', 'remove stale files from tasks/');
}

async function highestNumber(dir: string): Promise<number> {
  let max = 0;
  for (const name of await readdir(dir)) {
    const id = idFromFileName(name);
    const n = id ? /^(\d+)/.exec(id)?.[1] : undefined;
    if (n) max = Math.max(max, Number(n));
  }
  return max;
}
