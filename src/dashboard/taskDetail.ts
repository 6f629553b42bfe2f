import { open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasCode } from '../errors.js';
import { commitRangePatch } from '../git/diff.js';
import { openGit, resolveCommit, taskBranch } from '../git/git.js';
import { taskLogDir, type Paths } from '../paths.js';
import type { Task, TaskEntry } from '../task/task.js';
import { maskSecrets } from '../util/secrets.js';

/** How much of a transcript or a diff the page shows: the end of a transcript, the start of a diff. */
export const SHOWN_BYTES = 256 * 1024;

export interface AttemptRecord {
  attempt: number;
  prompt: string | null;
  transcript: string | null;
  /** The transcript was longer than SHOWN_BYTES: only its end is shown. */
  cut: boolean;
  failure: string | null;
  review: ReviewRecord | null;
}

/** What `<n>.review.json` says, as far as the page shows it. */
export interface ReviewRecord {
  result: string;
  comments: string | null;
}

export interface TaskDetail {
  attempts: AttemptRecord[];
  diff: { base: string; tip: string; patch: string; cut: boolean } | { missing: string };
  /** Tasks that list this one in depends_on. */
  neededBy: string[];
  /** The status of each task named above or in depends_on (`missing` for an id with no file). */
  statuses: Record<string, string>;
}

const COMMIT = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** A task's attempts (from .nightshift/logs/<id>/ and progress.txt) and the diff its branch made. */
export async function taskDetail(paths: Paths, task: Task, entries: TaskEntry[]): Promise<TaskDetail> {
  const [attempts, diff] = await Promise.all([attemptRecords(paths, task), branchDiff(paths, task)]);
  const neededBy = entries.flatMap((e) => (e.kind === 'task' && e.task.dependsOn.includes(task.id) ? [e.task.id] : []));
  const statuses: Record<string, string> = {};
  for (const id of [...task.dependsOn, ...neededBy]) statuses[id] = 'missing';
  for (const e of entries) {
    const id = e.kind === 'task' ? e.task.id : e.invalid.id;
    if (id in statuses) statuses[id] = e.kind === 'task' ? e.task.status : 'invalid';
  }
  return { attempts, diff, neededBy, statuses };
}

async function attemptRecords(paths: Paths, task: Task): Promise<AttemptRecord[]> {
  const dir = taskLogDir(paths, task.id);
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (!hasCode(err, 'ENOENT')) throw err;
  }
  const numbers = [...new Set(names.flatMap((n) => (/^\d+\./.test(n) ? [Number.parseInt(n, 10)] : [])))].sort((a, b) => a - b);
  const failures = await failureReasons(paths.progress, task.id);
  return Promise.all(
    numbers.map(async (attempt) => {
      const tail = await readTail(join(dir, `${attempt}.log`), SHOWN_BYTES);
      const review = await readText(join(dir, `${attempt}.review.json`));
      const verdict = review === null ? null : reviewRecord(maskSecrets(review));
      const last = attempt === numbers[numbers.length - 1];
      return {
        attempt,
        prompt: await readText(join(dir, `${attempt}.prompt.md`)).then((t) => (t === null ? null : maskSecrets(t))),
        transcript: tail ? maskSecrets(tail.text) : null,
        cut: tail?.cut ?? false,
        failure: failures.get(attempt) ?? (last && task.status !== 'done' ? (task.error ?? null) : null),
        review: verdict,
      };
    }),
  );
}

function reviewRecord(text: string): ReviewRecord {
  try {
    const v = JSON.parse(text) as { result?: unknown; reason?: unknown; comments?: unknown };
    const str = (x: unknown) => (typeof x === 'string' ? x : null);
    return { result: str(v.result) ?? 'unknown', comments: str(v.comments) ?? str(v.reason) };
  } catch {
    return { result: 'unreadable', comments: null };
  }
}

/** The reason of each `attempt-failed` line progress.txt holds for the task. */
async function failureReasons(file: string, id: string): Promise<Map<number, string>> {
  const reasons = new Map<number, string>();
  const text = (await readText(file)) ?? '';
  const marker = ` ${id} attempt-failed `;
  for (const line of text.split('\n')) {
    if (!line.includes(marker)) continue;
    const attempt = / attempt=(\d+)/.exec(line)?.[1];
    const reason = / reason=("(?:[^"\\]|\\.)*"|\S+)/.exec(line)?.[1];
    if (!attempt || !reason) continue;
    reasons.set(Number(attempt), maskSecrets(reason.startsWith('"') ? (JSON.parse(reason) as string) : reason));
  }
  return reasons;
}

async function branchDiff(paths: Paths, task: Task): Promise<TaskDetail['diff']> {
  // Values from the task file reach git only as full commit ids; the branch name is built from the id.
  const base = task.baseCommit && COMMIT.test(task.baseCommit) ? task.baseCommit : undefined;
  if (!base) return { missing: 'no base commit recorded yet: the task has not run' };
  const git = openGit(paths.root);
  const tip = task.commit && COMMIT.test(task.commit) ? task.commit : await resolveCommit(git, `refs/heads/${taskBranch(task.id)}`);
  if (!tip) return { missing: `no commit yet: branch ${taskBranch(task.id)} does not exist` };
  let patch: string;
  try {
    patch = await commitRangePatch(git, base, tip);
  } catch (err) {
    return { missing: `git could not diff ${base.slice(0, 12)}..${tip.slice(0, 12)}: ${(err as Error).message.trim()}` };
  }
  const cut = patch.length > SHOWN_BYTES;
  return { base, tip, patch: maskSecrets(cut ? patch.slice(0, SHOWN_BYTES) : patch), cut };
}

async function readText(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return null;
    throw err;
  }
}

/** The last `max` bytes of a file, from a line start to the end of its last whole line (`end`, a byte offset). */
export async function readTail(file: string, max: number): Promise<{ text: string; cut: boolean; end: number } | null> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return null;
    throw err;
  }
  try {
    const size = (await handle.stat()).size;
    const start = Math.max(0, size - max);
    const buf = Buffer.alloc(size - start);
    const { bytesRead } = await handle.read(buf, 0, buf.length, start);
    // Whole lines only: a line still being written comes with the next live event instead.
    const whole = buf.subarray(0, buf.lastIndexOf(0x0a, bytesRead - 1) + 1);
    const first = start > 0 ? whole.indexOf(0x0a) + 1 : 0;
    return { text: whole.subarray(first).toString('utf8'), cut: start > 0, end: start + whole.length };
  } finally {
    await handle.close();
  }
}
