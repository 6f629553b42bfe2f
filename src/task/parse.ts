import { parseDocument, isMap, isSeq, isScalar } from 'yaml';
import { splitFrontmatter } from './frontmatter.js';
import { idProblem } from './id.js';
import { STATUSES, type Status, type Task } from './task.js';
import { parseDuration } from '../util/duration.js';

/** Task files above this size are refused unread: a spec this long is a mistake, and we keep memory bounded. */
export const MAX_TASK_BYTES = 1024 * 1024;
/** Aliases allowed in one frontmatter; a handful is plenty, thousands is an alias bomb. */
const MAX_ALIASES = 50;
const EXECUTOR_NAME = /^[a-z0-9][a-z0-9_-]*$/;

export type ParseResult = { kind: 'ok'; task: Task } | { kind: 'invalid'; reason: string };

/** Parses a task file's raw bytes. Pure: no fs, no clock. */
export function parseTask(id: string, file: string, bytes: Uint8Array): ParseResult {
  const idIssue = idProblem(id);
  if (idIssue) return invalid(`bad file name: ${idIssue}; rename the file`);
  if (bytes.length === 0) return invalid('the file is empty; write a "---" frontmatter block with at least a title');
  if (bytes.length > MAX_TASK_BYTES) return invalid(tooBig(bytes.length));

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return invalid('the file is not UTF-8 text; save it as UTF-8');
  }
  if (text.includes('\u0000')) return invalid('the file contains NUL bytes; it looks binary, not a markdown task');
  return parseTaskText(id, file, text);
}

export function tooBig(size: number): string {
  const mb = (size / (1024 * 1024)).toFixed(1);
  return `the file is ${mb} MB; task files are limited to ${MAX_TASK_BYTES / (1024 * 1024)} MB, move large material into the repository and refer to it`;
}

export function parseTaskText(id: string, file: string, text: string): ParseResult {
  const split = splitFrontmatter(text);
  if (split.kind === 'invalid') return split;
  const { yaml, yamlFirstLine, body } = split.file;

  const loaded = loadYamlMap(yaml, yamlFirstLine);
  if (loaded.kind === 'invalid') return loaded;
  const fm = loaded.value;

  const problems: string[] = [];
  const str = (key: string): string | undefined => {
    const v = fm[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    problems.push(`${key} must be text, got ${describe(v)}`);
    return undefined;
  };
  const int = (key: string, min: number): number | undefined => {
    const v = fm[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number' && Number.isInteger(v) && v >= min) return v;
    problems.push(`${key} must be a whole number of at least ${min}, got ${describe(v)}`);
    return undefined;
  };
  const num = (key: string): number | undefined => {
    const v = fm[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
    problems.push(`${key} must be a number, got ${describe(v)}`);
    return undefined;
  };
  const list = (key: string, example: string): string[] | undefined => {
    const v = fm[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return [v];
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    problems.push(`${key} must be a list of text, like ${key}: ${example}; got ${describe(v)}`);
    return undefined;
  };

  const titleRaw = fm.title;
  let title = '';
  if (titleRaw === undefined || titleRaw === null) problems.push('missing title: add a line "title: <what this task does>"');
  else if (typeof titleRaw !== 'string' && typeof titleRaw !== 'number') problems.push(`title must be text, got ${describe(titleRaw)}`);
  else if (String(titleRaw).trim() === '') problems.push('title is empty: say what this task does');
  else title = String(titleRaw).trim();

  let status: Status = 'queued';
  const statusRaw = fm.status;
  if (statusRaw !== undefined && statusRaw !== null) {
    if (typeof statusRaw === 'string' && (STATUSES as readonly string[]).includes(statusRaw)) status = statusRaw as Status;
    else problems.push(`unknown status ${JSON.stringify(statusRaw)}: use one of ${STATUSES.join(', ')}`);
  }

  const priority = fm.priority === undefined || fm.priority === null ? 0 : fm.priority;
  if (typeof priority !== 'number' || !Number.isInteger(priority)) problems.push(`priority must be a whole number, got ${describe(priority)}`);

  const dependsOn = list('depends_on', '[001-setup-db]') ?? [];
  for (const dep of dependsOn) {
    const issue = idProblem(dep);
    if (issue) problems.push(`depends_on: ${issue}`);
    else if (dep === id) problems.push('depends_on lists the task itself');
  }

  const executor = str('executor');
  if (executor !== undefined && !EXECUTOR_NAME.test(executor)) {
    problems.push(`executor ${JSON.stringify(executor)} is not an executor name (lowercase letters, digits, '-' and '_')`);
  }
  const kind = str('kind');
  if (kind !== undefined && !EXECUTOR_NAME.test(kind)) problems.push(`kind ${JSON.stringify(kind)} must be lowercase letters, digits, '-' and '_'`);

  let timeoutMs: number | undefined;
  if (fm.timeout !== undefined && fm.timeout !== null) {
    timeoutMs = parseDuration(fm.timeout);
    if (timeoutMs === undefined) problems.push(`timeout ${JSON.stringify(fm.timeout)} is not a duration; write it like 30m, 1h or 90s`);
  }
  const skills = list('skills', '[upgrade-deps]');
  for (const skill of skills ?? []) {
    if (!EXECUTOR_NAME.test(skill)) problems.push(`skills: ${JSON.stringify(skill)} is not a skill name`);
  }

  const task: Task = {
    id,
    file,
    title,
    status,
    priority: typeof priority === 'number' ? priority : 0,
    dependsOn,
    kind,
    executor,
    files: list('files', '["src/login/**"]'),
    skills,
    timeoutMs,
    maxAttempts: int('max_attempts', 1),
    run: str('run'),
    attempts: int('attempts', 0) ?? 0,
    claimedBy: str('claimed_by'),
    startedAt: str('started_at'),
    finishedAt: str('finished_at'),
    baseCommit: str('base_commit'),
    branch: str('branch'),
    commit: str('commit'),
    error: str('error'),
    costUsd: num('cost_usd'),
    tokens: int('tokens', 0),
    frontmatter: fm,
    body,
    text,
  };
  if (problems.length > 0) return invalid(problems.join('; '));
  return { kind: 'ok', task };
}

export type YamlMapResult = { kind: 'ok'; value: Record<string, unknown> } | { kind: 'invalid'; reason: string };

/**
 * Loads a frontmatter block as a plain object. Refuses (never throws on) syntax errors, duplicate keys,
 * flow-style or non-map documents and alias bombs. `firstLine` maps YAML line numbers to file lines.
 */
export function loadYamlMap(yaml: string, firstLine: number): YamlMapResult {
  const doc = parseDocument(yaml, { prettyErrors: true, uniqueKeys: true, strict: true });
  const error = doc.errors[0];
  if (error) {
    const yamlLine = error.linePos?.[0]?.line;
    const where = yamlLine === undefined ? '' : ` at line ${yamlLine + firstLine - 1}`;
    const message = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    return { kind: 'invalid', reason: `invalid YAML in frontmatter${where}: ${message}` };
  }
  const contents = doc.contents;
  if (contents === null || (isScalar(contents) && (contents.value === null || contents.value === ''))) {
    return { kind: 'invalid', reason: 'the frontmatter is empty: add at least "title: <what this task does>"' };
  }
  if (!isMap(contents)) {
    const what = isSeq(contents) ? 'a list' : 'a single value';
    return { kind: 'invalid', reason: `the frontmatter is ${what}, not key: value lines; write it like "title: Add login form"` };
  }
  if (contents.flow) {
    return { kind: 'invalid', reason: 'the frontmatter is one {...} flow map; write one "key: value" per line' };
  }
  for (const pair of contents.items) {
    if (!isScalar(pair.key) || typeof pair.key.value !== 'string') {
      return { kind: 'invalid', reason: 'the frontmatter has a key that is not plain text; use simple names like title:' };
    }
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (err) {
    if (err instanceof ReferenceError) {
      return { kind: 'invalid', reason: 'refused: the frontmatter expands too many YAML aliases (an alias bomb?); remove the * references' };
    }
    throw err;
  }
  return { kind: 'ok', value: value as Record<string, unknown> };
}

function describe(value: unknown): string {
  if (value === null) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Date) return 'a date';
  if (typeof value === 'object') return 'a map';
  return `${typeof value === 'string' ? 'text' : typeof value} ${JSON.stringify(value)}`;
}

function invalid(reason: string): ParseResult {
  return { kind: 'invalid', reason };
}
