import { writeFile } from 'node:fs/promises';
import { agentAccess } from '../sandbox/choose.js';
import { basename, join } from 'node:path';
import type { ReviewRules } from '../config/rules.js';
import type { AgentVerdict } from '../exec/agents/types.js';
import { commandVerdict } from '../exec/commandVerdict.js';
import { planNamed } from '../exec/executors.js';
import { parkExecutor } from '../exec/parking.js';
import { stepRequest } from '../exec/stepRequest.js';
import { indexAndHead, stagedPatch } from '../git/diff.js';
import type { Git } from '../git/git.js';
import type { Task } from '../task/task.js';
import { maskSecrets } from '../util/secrets.js';
import type { AttemptFiles } from './attemptFiles.js';
import type { RunContext } from './context.js';
import type { ReviewResult, StepRunner } from './outcome.js';
import { oneLine } from '../errors.js';
import { logHeader, logSize, readSince, tailSince } from './output.js';
import { recordReviewerSpend } from '../budget/reviewerSpend.js';
import { freshReviewerOutput, keepReviewerOutput } from './reviewerOutput.js';
import { buildReviewPrompt, judge, parseVerdict, type AnswerSource } from './verdict.js';

/** The diff handed to the reviewer is cut here; the reviewer can read the files for the rest. */
const MAX_DIFF_BYTES = 200 * 1024;
/** Only the end of the reviewer's output is searched for the verdict. */
const MAX_OUTPUT_BYTES = 256 * 1024;

export interface ReviewInput {
  ctx: RunContext;
  review: ReviewRules;
  task: Task;
  attempt: number;
  baseCommit: string;
  worktree: Git;
  logDir: string;
  logFile: string;
  /** The attempt's step runner: same process group handling, cancel checks and transcript masking. */
  steps: StepRunner;
  /** Where the reviewer is shown copies (outside the user's checkout) instead of the originals. */
  files?: AttemptFiles;
}

/**
 * A reviewer that could not run is parked like any executor, so a reviewer outage at night holds reviewed
 * tasks in the queue until it is back (no attempt used), instead of blocking them one by one.
 */
async function parkReviewer(
  ctx: RunContext,
  name: string,
  verdict: Extract<AgentVerdict, { kind: 'infra-failure' }>,
  taskId: string,
): Promise<ReviewResult> {
  const until = await parkExecutor(ctx, name, verdict, taskId);
  const reason = `reviewer ${name} could not run (${verdict.cause}): ${oneLine(verdict.reason, 200)}`;
  return until ? { kind: 'waiting', reason, until } : { kind: 'blocked', reason };
}

/**
 * The review gate: the reviewer executor, chosen and started the same way as any task executor, reads a
 * prompt with the task and the staged diff and answers a verdict. The verdict is kept as
 * <attempt>.review.json next to the transcript and summarised in progress.txt.
 */
export async function reviewChange(input: ReviewInput): Promise<ReviewResult> {
  const { ctx, review, task, attempt, worktree } = input;
  const kept = join(input.logDir, `${attempt}.review-prompt.md`);
  const full = await stagedPatch(worktree, input.baseCommit);
  const cut = Buffer.byteLength(full) > MAX_DIFF_BYTES;
  const diff = cut ? Buffer.from(full).subarray(0, MAX_DIFF_BYTES).toString('utf8') : full;
  const prompt = buildReviewPrompt({
    task,
    attempt,
    rulesBody: ctx.rules.body,
    baseCommit: input.baseCommit,
    diff,
    truncatedAt: cut ? MAX_DIFF_BYTES : undefined,
  });
  const masked = maskSecrets(prompt);
  await writeFile(kept, masked);
  const promptFile = input.files ? await input.files.expose(basename(kept), masked) : kept;

  // The reviewer goes through the same planning and invocation as a task executor, by name: custom
  // commands and built-in agents alike.
  const exec = { taskId: task.id, attempt, promptFile, taskFile: input.files?.taskFile ?? task.file, worktree: worktree.dir };
  const plan = planNamed(review.executor, task, ctx.rules, exec);
  if (plan.kind === 'unavailable') return { kind: 'blocked', reason: `reviewer: ${plan.reason}` };
  const parked = ctx.health.parkedNow(plan.name);
  if (parked) {
    const reason = `reviewer ${plan.name} is parked (${parked.reason})`;
    return parked.until ? { kind: 'waiting', reason, until: parked.until } : { kind: 'blocked', reason };
  }
  const request = stepRequest(
    plan,
    { promptFile, promptBytes: Buffer.byteLength(masked), worktree: worktree.dir, ...agentAccess(ctx.sandbox, ctx.rules) },
    ctx.rules.timeoutMs,
    ctx.rules.stallTimeoutMs,
  );
  request.env = { ...request.env, NIGHTSHIFT_PROMPT_FILE: promptFile, NIGHTSHIFT_REVIEW: '1' };

  const treeBefore = await indexAndHead(worktree);
  await logHeader(input.logFile, `reviewer ${plan.name}`);
  const own = await freshReviewerOutput(input.logDir, attempt);
  const outcome = await input.steps.run({ ...request, logFile: own });
  const output = await readSince(own, 0, MAX_OUTPUT_BYTES);
  const tail = await tailSince(own, 0);
  const from = await logSize(input.logFile);
  await keepReviewerOutput(own, input.logFile);
  await recordReviewerSpend(ctx, { task, attempt, logOffset: from }, plan, output, outcome);
  if (outcome === 'cancelled') return { kind: 'cancelled' };
  if (outcome.kind === 'not-found') return { kind: 'blocked', reason: `reviewer ${plan.name}: ${outcome.message}` };
  // A command reviewer reports "I could not run" the way command executors do (exit 75, or a last line
  // `nightshift: infra <cause> ...`).
  const infra = plan.kind === 'run' && outcome.kind === 'exited' && outcome.code !== 0 ? commandVerdict(tail, outcome.code) : undefined;
  if (infra?.kind === 'infra-failure') return parkReviewer(ctx, plan.name, infra, task.id);
  if (
    outcome.kind === 'aborted' ||
    outcome.kind === 'timed-out' ||
    (plan.kind === 'run' && !(outcome.kind === 'exited' && outcome.code === 0))
  ) {
    return { kind: 'step-failed', step: `reviewer ${plan.name}`, outcome, from };
  }
  // An agent's own reading of its run comes first: an infra failure is nobody's verdict. Its verdict is
  // read from its final message alone: its transcript also holds what its tools printed (the change's
  // own files among them), and a verdict planted there is not the reviewer's.
  let answer: { text: string; source: AnswerSource } = { text: output, source: 'output' };
  if (plan.kind === 'agent') {
    const agent = plan.adapter.interpret(output, outcome.kind === 'exited' ? { code: outcome.code } : { signal: outcome.signal });
    if (agent.kind === 'infra-failure') return parkReviewer(ctx, plan.name, agent, task.id);
    if (agent.kind === 'task-failure') {
      const reason = `review: reviewer ${plan.name} failed: ${oneLine(agent.reason, 200)}; counted as a reject`;
      return { kind: 'rejected', reason, detail: reason };
    }
    answer = { text: agent.message ?? '', source: 'final message' };
  }

  const record = { executor: plan.name, min_confidence: review.minConfidence };
  const verdictFile = join(input.logDir, `${attempt}.review.json`);
  if ((await indexAndHead(worktree)) !== treeBefore) {
    const reason = `review: the reviewer ${plan.name} changed the staged change or committed; a reviewer must only answer`;
    await writeVerdict(verdictFile, { ...record, result: 'invalid', reason });
    await ctx.progress.append(task.id, 'reviewed', { attempt, executor: plan.name, verdict: 'invalid' });
    return { kind: 'rejected', reason, detail: reason };
  }
  const parsed = parseVerdict(answer.text, answer.source);
  if (parsed.kind === 'invalid') {
    const reason = `review: ${parsed.reason}; counted as a reject`;
    await writeVerdict(verdictFile, { ...record, result: 'invalid', reason });
    await ctx.progress.append(task.id, 'reviewed', { attempt, executor: plan.name, verdict: 'invalid' });
    await logHeader(input.logFile, reason);
    return { kind: 'rejected', reason, detail: reason };
  }
  const { verdict } = parsed;
  const judgement = judge(verdict, review.minConfidence);
  await writeVerdict(verdictFile, { ...record, ...verdict, result: judgement.pass ? 'pass' : 'fail' });
  await ctx.progress.append(task.id, 'reviewed', {
    attempt,
    executor: plan.name,
    verdict: verdict.verdict,
    confidence: verdict.confidence,
  });
  if (judgement.pass) return { kind: 'approved', verdict };
  await logHeader(input.logFile, judgement.reason);
  const detail = `${judgement.reason.split(':')[0]}. The reviewer's comments:\n\n${verdict.comments.trim() || '(none)'}`;
  return { kind: 'rejected', reason: judgement.reason, detail };
}

async function writeVerdict(file: string, record: Record<string, unknown>): Promise<void> {
  await writeFile(file, maskSecrets(`${JSON.stringify(record, null, 2)}\n`));
}
