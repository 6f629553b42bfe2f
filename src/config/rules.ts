import { readFile } from 'node:fs/promises';
import { splitFrontmatter } from '../task/frontmatter.js';
import { loadYamlMap } from '../task/parse.js';
import { parseDuration } from '../util/duration.js';
import { UsageError, hasCode } from '../errors.js';

export type PushMode = 'none' | 'branch';

/** A custom executor from rules.md: an argv template, run without a shell. */
export interface CommandExecutor {
  command: string[];
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
  executors: Record<string, CommandExecutor>;
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
  executors: {},
  body: '',
};

const NAME = /^[a-z0-9][a-z0-9_-]*$/;
/** Conservative branch/remote names: what git allows minus anything that could read as an option. */
const REF_NAME = /^[A-Za-z0-9_][A-Za-z0-9._/-]*$/;
export const BUILTIN_EXECUTORS = ['shell'] as const;
const KNOWN_KEYS = new Set([
  'base', 'concurrency', 'executor', 'routes', 'fallback', 'setup', 'test', 'test_timeout', 'timeout', 'stall_timeout',
  'max_attempts', 'push', 'remote', 'protect', 'tests', 'executors', 'retry_backoff', 'stop_grace',
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
    if (push === 'none' || push === 'branch') rules.push = push;
    else if (push === 'land') problems.push('push: land is not supported by this version yet; use push: branch');
    else problems.push(`push must be none or branch, got ${JSON.stringify(push)}`);
  }
  const remote = text_('remote');
  if (remote !== undefined) {
    if (REF_NAME.test(remote) && !remote.includes('/')) rules.remote = remote;
    else problems.push(`remote: "${remote}" is not a remote name`);
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
        else if ((BUILTIN_EXECUTORS as readonly string[]).includes(name)) problems.push(`executors: "${name}" is built in and cannot be redefined`);
        else if (Array.isArray(command) && command.length > 0 && command.every((a) => typeof a === 'string')) {
          rules.executors[name] = { command: command as string[] };
        } else {
          problems.push(`executors.${name} needs command: an argv list, like command: ["my-agent", "--prompt-file", "{prompt_file}"]`);
        }
      }
    } else problems.push('executors must be a map of name to { command: [...] }');
  }
  const known = new Set<string>([...BUILTIN_EXECUTORS, ...Object.keys(rules.executors)]);
  for (const name of [rules.executor, ...Object.values(rules.routes), ...rules.fallback]) {
    if (name !== undefined && !known.has(name)) {
      problems.push(`executor "${name}" is not available: built in are ${BUILTIN_EXECUTORS.join(', ')}; define others under executors:`);
    }
  }
  if (problems.length > 0) throw configError(problems);
  return rules;
}

/**
 * A fresh copy of the defaults: a spread alone would share DEFAULT_RULES' maps and lists, and the routes
 * one parse fills in would then leak into every later parse in the same process.
 */
function defaults(body: string): Rules {
  return { ...DEFAULT_RULES, routes: {}, fallback: [], protect: [], tests: [], executors: {}, body };
}

function configError(problems: string[]): UsageError {
  const list = problems.length === 1 ? problems[0] : problems.map((p) => `\n  - ${p}`).join('');
  return new UsageError(`rules.md is not valid: ${list}`, 'fix rules.md (see the rules.md section of the README) and run the command again');
}
