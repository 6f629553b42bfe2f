import { readdir, readFile, readlink, realpath } from 'node:fs/promises';

/**
 * Kills every process that still runs in a task's worktree: each step nightshift starts carries
 * NIGHTSHIFT_WORKTREE=<worktree> in its environment, and children inherit it. This catches what the
 * owner file cannot: a daemon killed after starting an executor but before recording its process group,
 * or a grandchild that left the group (setsid). Linux only (/proc); elsewhere the recorded group has to do.
 * Returns how many processes were signalled.
 *
 * Worktrees are pooled, so one path serves many tasks in turn: with `taskId`, only processes that also
 * carry NIGHTSHIFT_TASK_ID=<taskId> are stopped (recovery of a dead task must not touch the next task the
 * worktree went to). Without it, everything in the worktree goes (its new holder knows it is alone there),
 * found by its working folder too: a child can drop NIGHTSHIFT_WORKTREE from its environment (`env -u`),
 * but whatever runs inside the folder is the worktree's.
 */
export async function killProcessesIn(worktree: string, taskId?: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return 0;
  }
  const needles = [Buffer.from(`\0NIGHTSHIFT_WORKTREE=${worktree}\0`)];
  if (taskId !== undefined) needles.push(Buffer.from(`\0NIGHTSHIFT_TASK_ID=${taskId}\0`));
  const folders = taskId === undefined ? [...new Set([worktree, await realpath(worktree).catch(() => worktree)])] : [];
  const inFolder = async (pid: string): Promise<boolean> => {
    if (folders.length === 0) return false;
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => undefined);
    return cwd !== undefined && folders.some((dir) => cwd === dir || cwd.startsWith(`${dir}/`));
  };
  let killed = 0;
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    let environ: Buffer;
    try {
      // Other users' processes are unreadable (EACCES): they are not ours to stop anyway.
      environ = await readFile(`/proc/${name}/environ`);
    } catch {
      continue;
    }
    // A leading NUL so the variable matches only as a whole entry (the first entry has none before it).
    const entries = Buffer.concat([Buffer.from([0]), environ]);
    if (!needles.every((needle) => entries.includes(needle)) && !(await inFolder(name))) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed++;
    } catch {
      // ended while we looked
    }
  }
  return killed;
}
