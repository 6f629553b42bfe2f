import { readFile } from 'node:fs/promises';
import { splitFrontmatter } from '../task/frontmatter.js';
import { loadYamlMap } from '../task/parse.js';
import { parseDuration } from '../util/duration.js';
import { UsageError, hasCode } from '../errors.js';
import { AGENT_NAMES, isAgentName } from '../exec/agents/names.js';
import type { AgentOptions } from '../exec/agents/types.js';
import { MAX_SLOTS } from '../git/pool.js';

export type PushMode = 'none' | 'branch' | 'land';

/** A custom executor from rules.md: an argv template, run without a shell. */
export interface CommandExecutor {
  command: string[];
}

/** When the review gate runs: on every task, never, or on tasks of some kinds. */
export type ReviewWhen = { kind: 'always' } | { kind: 'never' } | { kind: 'kinds'; kinds: string[] };

/** rules.md `review:` resolved: a reviewer executor judges the diff after guards and tests pass. */
export interface ReviewRules {
  executor: string;
  when: ReviewWhen;
  /** An approval with a lower confidence counts as a rejection. */
  minConfidence: number;
}

/** rules.md frontmatter after validation, every default filled in. */
export interface Rules {
  /** Branch tasks start from; undefined = the branch checked out in the working tree. */
  base?: string;
  concurrency: number;
  executor?: string;
  routes: Record<string, string>;
  fallback: string[];
  setup?: string;
  test?: string;
  timeoutMs: number;
  stallTimeoutMs: number;
  testTimeoutMs: number;
  maxAttempts: number;
  /** Wait before the first retry; doubles per attempt, capped at MAX_RETRY_BACKOFF_MS. */
  retryBackoffMs: number;
  /** On a graceful stop, how long running attempts may go on before they are stopped and requeued. */
  stopGraceMs: number;
  push: PushMode;
  remote: string;
  protect: string[];
  tests: string[];
  /** Most added plus deleted lines one task's change may have; undefined = no limit. */
  maxChangedLines?: number;
  /** No file in a change may be larger (checked before anything is staged). */
  maxFileSize: number;
  review?: ReviewRules;
  executors: Record<string, CommandExecutor>;
  /** Settings for the built-in agents (`executors: { claude: { model, args } }`); absent = none. */
  agents: Record<string, AgentOptions>;
  /**
   * Whether ignored files (node_modules, build output) stay in a pooled worktree from one task to the next,
   * so `setup` can be cheap. Off by default: each task then starts from exactly the committed tree.
   */
  keepIgnored: boolean;
  /** The markdown body: rules handed to every executor. */
  body: string;
}

export const DEFAULT_RULES: Rules = {
  concurrency: 3,
  routes: {},
  fallback: [],
  timeoutMs: 30 * 60_000,
  stallTimeoutMs: 10 * 60_000,
  testTimeoutMs: 15 * 60_000,
  maxAttempts: 3,
  retryBackoffMs: 2000,
  stopGraceMs: 10_000,
  push: 'none',
  remote: 'origin',
  protect: [],
  tests: [],
  maxFileSize: 5 * 1024 * 1024,
  executors: {},
  agents: {},
  keepIgnored: false,
  body: '',
};

export const DEFAULT_MIN_CONFIDENCE = 0.7;

const NAME = /^[a-z0-9][a-z0-9_-]*$/;
/** Conservative branch/remote names: what git allows minus anything that could read as an option. */
const REF_NAME = /^[A-Za-z0-9_][A-Za-z0-9._/-]*$/;
export const BUILTIN_EXECUTORS = ['shell'] as const;
const KNOWN_KEYS = new Set([
  'base', 'concurrency', 'executor', 'routes', 'fallback', 'setup', 'test', 'test_timeout', 'timeout', 'stall_timeout',
  'max_attempts', 'push', 'remote', 'protect', 'tests', 'executors', 'max_changed_lines', 'max_file_size', 'review', 'retry_backoff', 'stop_grace',
  'keep_ignored',
]);

export async function loadRules(file: string): Promise<Rules> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return defaults('');
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
    if (!/^\s*---/.test(unmarked)) return defaults(unmarked);
    throw configError([split.reason]);
  }
  const loaded = loadYamlMap(split.file.yaml, split.file.yamlFirstLine);
  if (loaded.kind === 'invalid') {
    if (/frontmatter is empty/.test(loaded.reason)) return defaults(split.file.body);
    throw configError([loaded.reason]);
  }
  const fm = loaded.value;
  const problems: string[] = [];
  const rules = defaults(split.file.body);

  for (const key of Object.keys(fm)) {
    if (!KNOWN_KEYS.has(key)) problems.push(`unknown key "${key}" (known: ${[...KNOWN_KEYS].join(', ')})`);
  }
  const has = (key: string) => fm[key] !== undefined && fm[key] !== null;
  const text_ = (key: string): string | undefined => {
    if (!has(key)) return undefined;
    if (typeof fm[key] === 'string' && (fm[key] as string).trim() !== '') return fm[key] as string;
    problems.push(`${key} must be text`);
    return undefined;
  };
  const positiveInt = (key: string): number | undefined => {
    if (!has(key)) return undefined;
    const v = fm[key];
    if (typeof v === 'number' && Number.isInteger(v) && v >= 1) return v;
    problems.push(`${key} must be a whole number of at least 1, got ${JSON.stringify(v)}`);
    return undefined;
  };
  const duration = (key: string): number | undefined => {
    if (!has(key)) return undefined;
    const ms = parseDuration(fm[key]);
    if (ms === undefined) problems.push(`${key}: ${JSON.stringify(fm[key])} is not a duration; write it like 30m, 1h or 90s`);
    return ms;
  };
  const names = (key: string): string[] | undefined => {
    if (!has(key)) return undefined;
    const v = fm[key];
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    problems.push(`${key} must be a list, like ${key}: [a, b]`);
    return undefined;
  };

  const base = text_('base');
  if (base !== undefined) {
    if (REF_NAME.test(base) && !base.includes('..')) rules.base = base;
    else problems.push(`base: "${base}" is not a branch name`);
  }
  rules.concurrency = positiveInt('concurrency') ?? rules.concurrency;
  if (rules.concurrency > MAX_CONCURRENCY) problems.push(tooConcurrent(`concurrency: ${rules.concurrency}`));
  rules.maxAttempts = positiveInt('max_attempts') ?? rules.maxAttempts;
  const executor = text_('executor');
  if (executor !== undefined) {
    if (NAME.test(executor)) rules.executor = executor;
    else problems.push(`executor: "${executor}" is not an executor name`);
  }
  if (has('routes')) {
    const routes = fm.routes;
    if (typeof routes === 'object' && routes !== null && !Array.isArray(routes)) {
      for (const [kind, target] of Object.entries(routes)) {
        if (typeof target === 'string' && NAME.test(target)) rules.routes[kind] = target;
        else problems.push(`routes.${kind} must be an executor name`);
      }
    } else problems.push('routes must be a map of kind to executor, like routes: { code: codex }');
  }
  rules.fallback = names('fallback') ?? [];
  rules.setup = text_('setup');
  rules.test = text_('test');
  rules.timeoutMs = duration('timeout') ?? rules.timeoutMs;
  rules.stallTimeoutMs = duration('stall_timeout') ?? rules.stallTimeoutMs;
  rules.testTimeoutMs = duration('test_timeout') ?? rules.testTimeoutMs;
  rules.retryBackoffMs = duration('retry_backoff') ?? rules.retryBackoffMs;
  rules.stopGraceMs = duration('stop_grace') ?? rules.stopGraceMs;
  if (has('push')) {
    const push = fm.push;
    if (push === 'none' || push === 'branch' || push === 'land') rules.push = push;
    else problems.push(`push must be none, branch or land, got ${JSON.stringify(push)}`);
  }
  const remote = text_('remote');
  if (remote !== undefined) {
    if (REF_NAME.test(remote) && !remote.includes('/')) rules.remote = remote;
    else problems.push(`remote: "${remote}" is not a remote name`);
  }
  if (has('keep_ignored')) {
    if (typeof fm.keep_ignored === 'boolean') rules.keepIgnored = fm.keep_ignored;
    else problems.push(`keep_ignored must be true or false, got ${JSON.stringify(fm.keep_ignored)}`);
  }
  rules.protect = names('protect') ?? [];
  rules.tests = names('tests') ?? [];
  if (has('executors')) {
    const executors = fm.executors;
    if (typeof executors === 'object' && executors !== null && !Array.isArray(executors)) {
      rules.executors = {};
      for (const [name, spec] of Object.entries(executors)) {
        const command = Array.isArray(spec) ? spec : (spec as { command?: unknown } | null)?.command;
        if (!NAME.test(name)) problems.push(`executors: "${name}" is not an executor name`);
        // A built-in agent's entry without a command holds its settings; with one, the user's command wins.
        else if (isAgentName(name) && command === undefined) {
          const options = agentOptions(name, spec, problems);
          if (options) rules.agents[name] = options;
        } else if ((BUILTIN_EXECUTORS as readonly string[]).includes(name)) problems.push(`executors: "${name}" is built in and cannot be redefined`);
        else if (Array.isArray(command) && command.length > 0 && command.every((a) => typeof a === 'string')) {
          rules.executors[name] = { command: command as string[] };
        } else {
          problems.push(`executors.${name} needs command: an argv list, like command: ["my-agent", "--prompt-file", "{prompt_file}"]`);
        }
      }
    } else problems.push('executors must be a map of name to { command: [...] }');
  }
  rules.maxChangedLines = positiveInt('max_changed_lines');
  if (has('max_file_size')) {
    const size = parseSize(fm.max_file_size);
    if (size === undefined) problems.push(`max_file_size: ${JSON.stringify(fm.max_file_size)} is not a size; write it like 5MB, 500KB or a number of bytes`);
    else rules.maxFileSize = size;
  }
  if (has('review')) rules.review = parseReview(fm.review, problems);
  if (rules.review?.executor === 'shell') problems.push('review.executor: the shell executor cannot review (it runs a task\'s run: command); name an agent or a custom executor');
  for (const name of [rules.executor, ...Object.values(rules.routes), ...rules.fallback, rules.review?.executor]) {
    if (name !== undefined && !executorKnown(rules, name)) problems.push(unknownExecutorReason(name));
  }
  if (problems.length > 0) throw configError(problems);
  return rules;
}

const BUILT_IN_LIST = `built in are ${[...BUILTIN_EXECUTORS, ...AGENT_NAMES].join(', ')}; define others under executors:`;

/** Whether rules.md allows `name` as an executor: built in, or defined under executors:. */
export function executorKnown(rules: Rules, name: string): boolean {
  return (BUILTIN_EXECUTORS as readonly string[]).includes(name) || isAgentName(name) || Object.hasOwn(rules.executors, name);
}

/** Why a name is not an executor rules.md allows, for task files that name one. */
export function unknownExecutorReason(name: string): string {
  return `executor "${name}" is not available: ${BUILT_IN_LIST}`;
}

/** `executors: { claude: { model: opus, args: [--verbose] } }`: settings for a built-in agent. */
function agentOptions(name: string, spec: unknown, problems: string[]): AgentOptions | undefined {
  const where = `executors.${name}`;
  if (spec === null) return { args: [] };
  if (typeof spec !== 'object' || Array.isArray(spec)) {
    problems.push(`${where} must be a map of settings, like ${name}: { model: ..., args: [...] }`);
    return undefined;
  }
  const options: AgentOptions = { args: [] };
  const before = problems.length;
  for (const [key, value] of Object.entries(spec as Record<string, unknown>)) {
    if (key === 'model') {
      // One argv element after --model: nothing reaches a shell, but an option-looking model would confuse the CLI.
      if (typeof value === 'string' && /^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/.test(value)) options.model = value;
      else problems.push(`${where}.model must be a model name, like model: sonnet`);
    } else if (key === 'args') {
      if (Array.isArray(value) && value.every((a) => typeof a === 'string')) options.args = value as string[];
      else problems.push(`${where}.args must be a list of arguments, like args: ["--verbose"]`);
    } else {
      problems.push(`${where}: unknown setting "${key}" (known: model, args; or command: to replace the built-in agent)`);
    }
  }
  return problems.length === before ? options : undefined;
}

/** "5MB", "500 KB", "1.5m", 1048576: a size in bytes, or undefined when it is not one. */
export function parseSize(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 1 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?\s*$/i.exec(value);
  if (!m) return undefined;
  const unit = (m[2] ?? 'b').toLowerCase()[0] as string;
  const factor = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  const bytes = Math.floor(Number(m[1]) * factor);
  return bytes >= 1 ? bytes : undefined;
}

/** review: { executor, when: always | never | kind:[a, b], min_confidence }, problems added to the list. */
function parseReview(value: unknown, problems: string[]): ReviewRules | undefined {
  const example = 'review: { executor: claude, when: always, min_confidence: 0.7 }';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`review must be a map, like ${example}`);
    return undefined;
  }
  const spec = value as Record<string, unknown>;
  const before = problems.length;
  for (const key of Object.keys(spec)) {
    if (!['executor', 'when', 'min_confidence'].includes(key)) problems.push(`review: unknown key "${key}" (known: executor, when, min_confidence)`);
  }
  const executor = spec.executor;
  if (typeof executor !== 'string' || !NAME.test(executor)) problems.push(`review.executor must name the executor that reviews, like ${example}`);
  let minConfidence = DEFAULT_MIN_CONFIDENCE;
  if (spec.min_confidence !== undefined && spec.min_confidence !== null) {
    const c = spec.min_confidence;
    if (typeof c === 'number' && c >= 0 && c <= 1) minConfidence = c;
    else problems.push(`review.min_confidence must be a number from 0 to 1, got ${JSON.stringify(c)}`);
  }
  const when = parseWhen(spec.when);
  if (when === undefined) problems.push(`review.when must be always, never or kind:[a, b] (a list of task kinds), got ${JSON.stringify(spec.when)}`);
  if (problems.length > before || when === undefined) return undefined;
  return { executor: executor as string, when, minConfidence };
}

function parseWhen(value: unknown): ReviewWhen | undefined {
  if (value === undefined || value === null || value === 'always') return { kind: 'always' };
  if (value === 'never') return { kind: 'never' };
  let kinds: unknown;
  // `when: kind:[a,b]` is one YAML string; `when: { kind: [a, b] }` is a map. Both mean the same.
  if (typeof value === 'string') {
    const m = /^\s*kinds?\s*:\s*\[([^\]]*)\]\s*$/.exec(value);
    if (!m) return undefined;
    kinds = (m[1] as string).split(',').map((k) => k.trim()).filter(Boolean);
  } else if (typeof value === 'object' && !Array.isArray(value)) {
    const map = value as Record<string, unknown>;
    kinds = map.kind ?? map.kinds;
    if (typeof kinds === 'string') kinds = [kinds];
  }
  if (!Array.isArray(kinds) || kinds.length === 0 || !kinds.every((k) => typeof k === 'string' && NAME.test(k))) return undefined;
  return { kind: 'kinds', kinds: kinds as string[] };
}

/**
 * A fresh copy of the defaults: a spread alone would share DEFAULT_RULES' maps and lists, and the routes
 * one parse fills in would then leak into every later parse in the same process.
 */
function defaults(body: string): Rules {
  return { ...DEFAULT_RULES, routes: {}, fallback: [], protect: [], tests: [], executors: {}, agents: {}, body };
}

/** Each running task holds one worktree slot, and the pool has this many: more could only fail tasks. */
export const MAX_CONCURRENCY = MAX_SLOTS;

function tooConcurrent(what: string): string {
  return `${what} is more than the worktree pool can hold (at most ${MAX_CONCURRENCY} tasks at once); use ${MAX_CONCURRENCY} or less`;
}

/** The concurrency a daemon runs with (--concurrency, else rules.md's), refused when the pool cannot hold it. */
export function checkConcurrency(concurrency: number, fromFlag: boolean): number {
  if (concurrency <= MAX_CONCURRENCY) return concurrency;
  if (fromFlag) throw new UsageError(tooConcurrent(`--concurrency ${concurrency}`), `run nightshift daemon start --concurrency ${MAX_CONCURRENCY} (or less)`);
  throw configError([tooConcurrent(`concurrency: ${concurrency}`)]);
}

function configError(problems: string[]): UsageError {
  const list = problems.length === 1 ? problems[0] : problems.map((p) => `\n  - ${p}`).join('');
  return new UsageError(`rules.md is not valid: ${list}`, 'fix rules.md (see the rules.md section of the README) and run the command again');
}
