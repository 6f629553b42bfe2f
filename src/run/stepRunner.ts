import type { SpawnOutcome } from '../exec/spawn.js';
import type { StepRequest } from '../exec/stepRequest.js';
import type { Claim } from '../locks/claims.js';
import type { Sandbox } from '../sandbox/choose.js';
import { sandboxStep } from '../sandbox/wrap.js';
import { attemptFilesDir } from './attemptFiles.js';
import { spawnBounded } from './boundedStep.js';
import type { AttemptDeadline } from './deadline.js';
import type { AttemptOutcome, StepRunner } from './outcome.js';
import { logHeader, logSize } from './output.js';
import { stepFailure } from './stepFailure.js';

/** How often a running step re-reads its task file for a cancel. */
const CANCEL_POLL_MS = 2000;

export interface AttemptStepsInput {
  worktree: string;
  /** The executor's environment (exec/executorEnv.ts); a step's own `env` is laid over it. */
  env: NodeJS.ProcessEnv;
  /** The attempt's transcript: every step's output goes there unless the step names its own file. */
  logFile: string;
  deadline: AttemptDeadline;
  claim: Claim;
  /** Re-reads the task file: false once the task was cancelled. */
  stillOurs: () => Promise<boolean>;
  /** The daemon is stopping. */
  stopSignal: AbortSignal;
  /** Where the steps run (absent: on the host, as `sandbox: none`); root is the checkout it hides. */
  sandbox?: { sandbox: Sandbox; root: string };
}

/**
 * Starts the processes of one attempt (setup, executors, tests, reviewer) in its worktree, within the
 * attempt's deadline, and stops them when the task is cancelled.
 *
 * `cancel` (another process) marks the task cancelled, then signals the process group it finds in the
 * claim's owner file. A step that starts after cancel looked there would run to its end unnoticed, so each
 * step records its group first and then re-reads the task file, stopping itself if it was cancelled.
 */
export class AttemptSteps implements StepRunner {
  private readonly cancelled = new AbortController();
  private readonly signal: AbortSignal;

  constructor(private readonly input: AttemptStepsInput) {
    this.signal = AbortSignal.any([input.stopSignal, this.cancelled.signal]);
  }

  async run(req: StepRequest): Promise<SpawnOutcome | 'cancelled'> {
    const { input } = this;
    let recorded: Promise<void> = Promise.resolve();
    // Also look now and then: a cancel from another host, or an executor that ignores SIGTERM, is still
    // stopped (the abort escalates to SIGKILL).
    const watch = setInterval(() => {
      void input.stillOurs().then(
        (ours) => {
          if (!ours) this.cancelled.abort();
        },
        () => undefined,
      );
    }, CANCEL_POLL_MS);
    const boxed = await this.sandboxed(req);
    const outcome = await spawnBounded(input.deadline, input.worktree, {
      ...req,
      argv: boxed?.argv ?? req.argv,
      groupEndsWithChild: boxed !== undefined,
      cwd: input.worktree,
      env: boxed?.env ?? (req.env ? { ...input.env, ...req.env } : input.env),
      logFile: req.logFile ?? input.logFile,
      signal: req.signal ? AbortSignal.any([this.signal, req.signal]) : this.signal,
      onStart: (pgid) => {
        recorded = input.claim
          .setExecutorGroup(pgid)
          .then(() => input.stillOurs())
          .then((ours) => {
            if (!ours) this.cancelled.abort();
          })
          .catch(() => undefined);
      },
    });
    clearInterval(watch);
    await boxed?.finish();
    // Cleared only after the group was written, or a late write could leave a dead group for cancel to signal.
    await recorded;
    await input.claim.setExecutorGroup(undefined).catch(() => undefined);
    return (await input.stillOurs()) ? outcome : 'cancelled';
  }

  /** The step wrapped in bubblewrap, when the daemon runs a sandbox (see src/sandbox/). */
  private async sandboxed(req: StepRequest) {
    const box = this.input.sandbox;
    if (box?.sandbox.kind !== 'bwrap') return undefined;
    const { worktree, env } = this.input;
    const files = attemptFilesDir(worktree);
    return sandboxStep(
      box.sandbox,
      {
        argv: req.argv,
        base: env,
        own: req.env,
        role: req.role ?? { kind: 'command' },
        writable: req.writable,
        readOnlyWorktree: req.readOnlyWorktree,
      },
      { root: box.root, worktree, readOnly: [files], homeFrom: `${files}.home` },
    );
  }

  /** rules.md's setup and test commands: the user's own shell commands, run in the worktree. */
  async shell(step: 'setup' | 'tests', command: string, timeoutMs: number): Promise<AttemptOutcome | undefined> {
    const { logFile } = this.input;
    const from = await logSize(logFile);
    await logHeader(logFile, `${step}: ${command}`);
    const outcome = await this.run({ argv: ['sh', '-c', command], timeoutMs, role: { kind: 'check' } });
    if (outcome === 'cancelled') return { kind: 'lost', why: 'cancelled' };
    return stepFailure(step, outcome, { logFile, from, stopSignal: this.input.stopSignal });
  }
}
