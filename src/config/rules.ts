import { readFile } from 'node:fs/promises';
import { UsageError, hasCode } from '../errors.js';
import { MAX_SLOTS } from '../git/pool.js';
import { splitFrontmatter } from '../task/frontmatter.js';
import { loadYamlMap } from '../task/parse.js';
import { checkExecutorsKnown, readExecutorChoice, readExecutors } from './executorRules.js';
import { FrontmatterFields, REF_NAME, parseSize } from './fields.js';
import { readPlan } from './planRules.js';
import { readNotify } from './notifyRules.js';
import { readReview } from './reviewRules.js';
import { readBudget } from './budgetRules.js';
import { readQueue } from './queueRules.js';
import { readSandbox } from './sandboxRules.js';
import { defaultRules, type Rules } from './types.js';

// The rest of rules.md's API, so callers import it from one place.
export { BUILTIN_EXECUTORS, executorKnown, unknownExecutorReason } from './executorRules.js';
export { parseSize } from './fields.js';
export { DEFAULT_MIN_CONFIDENCE, DEFAULT_RULES } from './types.js';
export type { BudgetRules, CommandExecutor, PlanRules, PushMode, ReviewRules, ReviewWhen, Rules, SandboxMode } from './types.js';

const KNOWN_KEYS = new Set([
  'base',
  'concurrency',
  'executor',
  'routes',
  'fallback',
  'setup',
  'test',
  'test_timeout',
  'timeout',
  'stall_timeout',
  'max_attempts',
  'push',
  'remote',
  'protect',
  'tests',
  'executors',
  'max_changed_lines',
  'max_file_size',
  'review',
  'retry_backoff',
  'stop_grace',
  'keep_ignored',
  'plan',
  'budget',
  'notify',
  'queue',
  'lease_ttl',
  'queue_poll',
  'fleet_refs',
  'sandbox',
  'sandbox_network',
  'sandbox_env',
]);

export async function loadRules(file: string): Promise<Rules> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return defaultRules('');
    throw err;
  }
  return parseRules(text);
}

/** Validates rules.md into Rules, or throws one UsageError listing every problem. */
export function parseRules(text: string): Rules {
  const unmarked = text.replace(/^\uFEFF/, '');
  const split = splitFrontmatter(unmarked);
  if (split.kind === 'invalid') {
    // No frontmatter at all is fine: the whole file is rules for executors, settings stay default.
    if (!/^\s*---/.test(unmarked)) return defaultRules(unmarked);
    throw configError([split.reason]);
  }
  const loaded = loadYamlMap(split.file.yaml, split.file.yamlFirstLine);
  if (loaded.kind === 'invalid') {
    if (/frontmatter is empty/.test(loaded.reason)) return defaultRules(split.file.body);
    throw configError([loaded.reason]);
  }
  const fm = loaded.value;
  const problems: string[] = [];
  const rules = defaultRules(split.file.body);
  const fields = new FrontmatterFields(fm, problems);

  for (const key of Object.keys(fm)) {
    if (!KNOWN_KEYS.has(key)) problems.push(`unknown key "${key}" (known: ${[...KNOWN_KEYS].join(', ')})`);
  }
  // Read in this order: problems are listed in it.
  const base = fields.text('base');
  if (base !== undefined) {
    if (REF_NAME.test(base) && !base.includes('..')) rules.base = base;
    else problems.push(`base: "${base}" is not a branch name`);
  }
  rules.concurrency = fields.positiveInt('concurrency') ?? rules.concurrency;
  if (rules.concurrency > MAX_CONCURRENCY) problems.push(tooConcurrent(`concurrency: ${rules.concurrency}`));
  rules.maxAttempts = fields.positiveInt('max_attempts') ?? rules.maxAttempts;
  readExecutorChoice(fields, rules);
  rules.fallback = fields.names('fallback') ?? [];
  rules.setup = fields.text('setup');
  rules.test = fields.text('test');
  rules.timeoutMs = fields.duration('timeout') ?? rules.timeoutMs;
  rules.stallTimeoutMs = fields.duration('stall_timeout') ?? rules.stallTimeoutMs;
  rules.testTimeoutMs = fields.duration('test_timeout') ?? rules.testTimeoutMs;
  rules.retryBackoffMs = fields.duration('retry_backoff') ?? rules.retryBackoffMs;
  rules.stopGraceMs = fields.duration('stop_grace') ?? rules.stopGraceMs;
  if (fields.has('push')) {
    const push = fm.push;
    if (push === 'none' || push === 'branch' || push === 'land') rules.push = push;
    else problems.push(`push must be none, branch or land, got ${JSON.stringify(push)}`);
  }
  const remote = fields.text('remote');
  if (remote !== undefined) {
    if (REF_NAME.test(remote) && !remote.includes('/')) rules.remote = remote;
    else problems.push(`remote: "${remote}" is not a remote name`);
  }
  if (fields.has('keep_ignored')) {
    if (typeof fm.keep_ignored === 'boolean') rules.keepIgnored = fm.keep_ignored;
    else problems.push(`keep_ignored must be true or false, got ${JSON.stringify(fm.keep_ignored)}`);
  }
  rules.protect = fields.names('protect') ?? [];
  rules.tests = fields.names('tests') ?? [];
  readExecutors(fields, rules);
  rules.maxChangedLines = fields.positiveInt('max_changed_lines');
  if (fields.has('max_file_size')) {
    const size = parseSize(fm.max_file_size);
    const got = JSON.stringify(fm.max_file_size);
    if (size === undefined) problems.push(`max_file_size: ${got} is not a size; write it like 5MB, 500KB or a number of bytes`);
    else rules.maxFileSize = size;
  }
  readReview(fields, rules);
  readPlan(fields, rules, problems);
  readBudget(fields, rules);
  readNotify(fields, rules, problems);
  readQueue(fields, rules);
  readSandbox(fields, rules, problems);
  checkExecutorsKnown(rules, problems);
  if (problems.length > 0) throw configError(problems);
  return rules;
}

/** Each running task holds one worktree slot, and the pool has this many: more could only fail tasks. */
export const MAX_CONCURRENCY = MAX_SLOTS;

function tooConcurrent(what: string): string {
  return `${what} is more than the worktree pool can hold (at most ${MAX_CONCURRENCY} tasks at once); use ${MAX_CONCURRENCY} or less`;
}

/** The concurrency a daemon runs with (--concurrency, else rules.md's), refused when the pool cannot hold it. */
export function checkConcurrency(concurrency: number, fromFlag: boolean): number {
  if (concurrency <= MAX_CONCURRENCY) return concurrency;
  if (fromFlag) {
    const hint = `run nightshift daemon start --concurrency ${MAX_CONCURRENCY} (or less)`;
    throw new UsageError(tooConcurrent(`--concurrency ${concurrency}`), hint);
  }
  throw configError([tooConcurrent(`concurrency: ${concurrency}`)]);
}

function configError(problems: string[]): UsageError {
  const list = problems.length === 1 ? problems[0] : problems.map((p) => `\n  - ${p}`).join('');
  const hint = 'fix rules.md (see the rules.md section of the README) and run the command again';
  return new UsageError(`rules.md is not valid: ${list}`, hint);
}
