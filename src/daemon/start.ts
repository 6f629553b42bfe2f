import { mkdir } from 'node:fs/promises';
import { chooseSandbox } from '../sandbox/choose.js';
import { join } from 'node:path';
import { createFileExclusive } from '../util/atomic.js';
import { pino } from 'pino';
import { checkConcurrency, loadRules, type Rules } from '../config/rules.js';
import { UsageError } from '../errors.js';
import { currentBranch, openGit, remoteExists, repoRoot, type Git } from '../git/git.js';
import { readIdentity } from '../git/identity.js';
import { WorktreePool } from '../git/pool.js';
import { pathsFor, type Paths } from '../paths.js';
import { ownerId } from '../locks/claims.js';
import { ProgressLog } from '../progress/log.js';
import { readScope } from '../config/scope.js';
import { secretMasker } from '../util/secrets.js';
import { Scheduler } from './scheduler.js';
import { openFleet } from '../fleet/fleet.js';
import { acquirePidFile, type PidFileHold } from './pidFile.js';
import { StatusFile } from './statusFile.js';
import type { RunContext } from '../run/context.js';
import { DaemonEvents } from '../run/events.js';
import { ExecutorHealth } from '../exec/health.js';
import { BudgetKeeper } from '../budget/keeper.js';
import { notifyingDaemon } from '../notify/daemonHook.js';
import type { DaemonHandle, StartOptions } from './types.js';

// Callers start the daemon from here and take its types along; they are defined apart so the scheduler can use them.
export type { DaemonHandle, RunSummary, StartOptions, StopOptions } from './types.js';

/** Sets up the daemon for one repository. Configuration errors throw UsageError before anything starts. */
export async function startDaemon(opts: StartOptions): Promise<DaemonHandle> {
  const root = await repoRoot(opts.cwd);
  if (!root)
    throw new UsageError(`${opts.cwd} is not inside a git repository`, 'run nightshift in your project (git init first if it is new)');
  const paths = pathsFor(root, opts.worktreeRoot);
  const rules = await loadRules(paths.rules);
  const git = openGit(root);
  const base = rules.base ?? (await currentBranch(git));
  if (!base) throw new UsageError('cannot tell which branch tasks start from: HEAD is detached', 'set base: <branch> in rules.md');
  if ((rules.push !== 'none' || rules.queue.mode === 'remote') && !(await remoteExists(git, rules.remote))) {
    const says = rules.queue.mode === 'remote' ? 'queue: remote' : `push: ${rules.push}`;
    throw new UsageError(
      `rules.md says ${says}, but there is no remote named "${rules.remote}"`,
      `add it (git remote add ${rules.remote} <url>), set remote: in rules.md, or set push: none`,
    );
  }
  const concurrency = checkConcurrency(opts.concurrency ?? rules.concurrency, opts.concurrency !== undefined);
  await mkdir(paths.locks, { recursive: true });
  await mkdir(paths.logs, { recursive: true });
  // Runtime state never belongs in the user's commits, even where .gitignore does not say so.
  await createFileExclusive(join(paths.state, '.gitignore'), '*\n');
  // Locks beside a shared tasks folder (see locksDirFor) get the same protection.
  await createFileExclusive(join(paths.locks, '..', '.gitignore'), '*\n');
  const pidHold = await acquirePidFile(paths, !!opts.allowMultiple);
  try {
    return await startHolding(opts, { paths, root, rules, base, git, concurrency, pidHold });
  } catch (err) {
    await pidHold.release();
    throw err;
  }
}

/** The rest of start-up, once the pid file is ours: any failure here must give it back (see above). */
async function startHolding(
  opts: StartOptions,
  held: { paths: Paths; root: string; rules: Rules; base: string; git: Git; concurrency: number; pidHold: PidFileHold },
): Promise<DaemonHandle> {
  const { paths, root, rules, base, git, concurrency, pidHold } = held;
  const events = new DaemonEvents();
  if (opts.onProgress) events.on('progress', opts.onProgress);
  // Log records can quote executor output and errors: secrets are masked on the way to the file.
  const mask = secretMasker();
  const logger = pino(
    { base: { pid: process.pid }, hooks: { streamWrite: mask } },
    pino.destination({ dest: paths.daemonLog, sync: true, mkdir: true }),
  );
  const progress = new ProgressLog(paths.progress, (line) => events.emit('progress', line));
  const stopController = new AbortController();
  const drainController = new AbortController();
  // Read now, before any executor could change the config: every commit (stacked merges too) is by it.
  const identity = await readIdentity(git);
  const repo = openGit(root, { identity });
  const ctx: RunContext = {
    paths,
    rules,
    scopeBody: await readScope(paths.scope),
    git: repo,
    identity,
    base,
    progress,
    logger,
    events,
    stopSignal: stopController.signal,
    drainSignal: drainController.signal,
    ownerId: ownerId(),
    health: new ExecutorHealth(),
    budget: new BudgetKeeper({ state: paths.state, rulesFile: paths.rules, budget: rules.budget, progress, events, logger }),
    pool: new WorktreePool(repo, { root: paths.worktrees, keepIgnored: rules.keepIgnored }),
    sandbox: await chooseSandbox(rules),
  };
  // Listening from here on: nothing a task does is missed, and no delivery is ever awaited by one.
  const notifying = notifyingDaemon(rules.notify, { root, progress, logger, events, once: opts.once });
  const status = new StatusFile(paths, events, { mode: opts.once ? 'once' : 'watch', concurrency, primary: pidHold.primary });
  try {
    await status.open();
    // queue: remote: claims through the remote's refs, the queue fetched from it (fleet/fleet.ts).
    const fleet = rules.queue.mode === 'remote' ? await openFleet(ctx) : undefined;
    ctx.claims = fleet?.store;
    const handle = await new Scheduler(
      ctx,
      { ...opts, concurrency },
      { stop: stopController, drain: drainController, status, pidHold },
    ).start();
    if (fleet) void handle.done.finally(() => fleet.poll.stop());
    return notifying(handle);
  } catch (err) {
    await status.close();
    throw err;
  }
}
