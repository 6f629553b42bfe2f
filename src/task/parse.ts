import { parseDocument, isMap, isSeq, isScalar } from 'yaml';
import { splitFrontmatter } from './frontmatter.js';
import { fastYamlMap } from './fastYaml.js';
import { idProblem } from './id.js';
import { STATUSES, type Status, type Task } from './task.js';
import { parseDuration } from '../util/duration.js';

/** Task files above this size are refused unread: a spec this long is a mistake, and we keep memory bounded. */
export const MAX_TASK_BYTES = 1024 * 1024;
/**
 * The frontmatter holds short settings; long text belongs in the body. The cap bounds YAML parse time
 * (deeply nested flow collections cost seconds per megabyte).
 */
export const MAX_FRONTMATTER_CHARS = 64 * 1024;
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
    // ignoreBOM keeps a byte order mark in the text (the default drops it), so `task.text` is the file
    // exactly and an update writes the BOM back.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
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
  if (yaml.length > MAX_FRONTMATTER_CHARS) {
    return invalid(
      `the frontmatter is ${Math.ceil(yaml.length / 1024)} KB; keep it under ${MAX_FRONTMATTER_CHARS / 1024} KB and put long text in the markdown body`,
    );
  }

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
    problems.push(`${key} must be a whole number of at least ${min} (like ${key}: ${Math.max(min, 3)}), got ${describe(v)}`);
    return undefined;
  };
  const num = (key: string): number | undefined => {
    const v = fm[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
    problems.push(`${key} must be a number of at least 0 (like ${key}: 0.42), got ${describe(v)}`);
    return undefined;
  };
  const list = (key: string, example: string): string[] | undefined => {
    const v = fm[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return [v];
    if (Array.isArray(v)) {
      const bad = v.findIndex((x) => typeof x !== 'string');
      if (bad === -1) return v as string[];
      problems.push(`${key} must be a list of text, like ${key}: ${example}; item ${bad + 1} is ${describe(v[bad])} (quote it)`);
      return undefined;
    }
    problems.push(`${key} must be a list of text, like ${key}: ${example}; got ${describe(v)}`);
    return undefined;
  };

  const titleRaw = fm.title;
  let title = '';
  if (titleRaw === undefined || titleRaw === null) problems.push('missing title: add a line "title: <what this task does>"');
  else if (typeof titleRaw !== 'string' && typeof titleRaw !== 'number') {
    problems.push(`title must be text, got ${describe(titleRaw)}; write it like "title: Add login form" (quote it if needed)`);
  } else if (String(titleRaw).trim() === '') problems.push('title is empty: write what this task does, like "title: Add login form"');
  else title = String(titleRaw).trim();

  let status: Status = 'queued';
  const statusRaw = fm.status;
  if (statusRaw !== undefined && statusRaw !== null) {
    if (typeof statusRaw === 'string' && (STATUSES as readonly string[]).includes(statusRaw)) status = statusRaw as Status;
    else
      problems.push(
        `unknown status ${typeof statusRaw === 'string' ? JSON.stringify(statusRaw) : describe(statusRaw)}: use one of ${STATUSES.join(', ')}`,
      );
  }

  const priority = fm.priority === undefined || fm.priority === null ? 0 : fm.priority;
  if (typeof priority !== 'number' || !Number.isInteger(priority)) {
    problems.push(`priority must be a whole number (like priority: 1; higher runs first), got ${describe(priority)}`);
  }

  const dependsOn = list('depends_on', '[001-setup-db]') ?? [];
  for (const dep of dependsOn) {
    const issue = idProblem(dep);
    if (issue) problems.push(`depends_on: ${issue}; list task ids (file names without .md)`);
    else if (dep === id) problems.push('depends_on lists the task itself; remove it');
  }

  const executor = str('executor');
  if (executor !== undefined && !EXECUTOR_NAME.test(executor)) {
    problems.push(
      `executor ${JSON.stringify(executor)} is not an executor name; use lowercase letters, digits, '-' and '_', like executor: codex`,
    );
  }
  const kind = str('kind');
  if (kind !== undefined && !EXECUTOR_NAME.test(kind)) {
    problems.push(`kind ${JSON.stringify(kind)} is not a kind name; use lowercase letters, digits, '-' and '_', like kind: code`);
  }

  let timeoutMs: number | undefined;
  if (fm.timeout !== undefined && fm.timeout !== null) {
    timeoutMs = parseDuration(fm.timeout);
    if (timeoutMs === undefined) {
      const shown = typeof fm.timeout === 'string' || typeof fm.timeout === 'number' ? JSON.stringify(fm.timeout) : describe(fm.timeout);
      problems.push(`timeout ${shown} is not a duration; write it like 30m, 1h or 90s`);
    }
  }
  const skills = list('skills', '[upgrade-deps]');
  for (const skill of skills ?? []) {
    if (!EXECUTOR_NAME.test(skill))
      problems.push(`skills: ${JSON.stringify(skill)} is not a skill name; use lowercase letters, digits, '-' and '_'`);
  }

  const plannedAt = str('planned_at');
  if (plannedAt !== undefined && !/^[0-9a-f]{7,40}$/i.test(plannedAt)) {
    problems.push(
      `planned_at ${JSON.stringify(plannedAt)} is not a commit id; write the 7 to 40 hex digits of the commit the plan was written against (git rev-parse HEAD), in quotes`,
    );
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
    maxChangedLines: int('max_changed_lines', 1),
    plannedAt: plannedAt?.toLowerCase(),
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
  const simple = fastYamlMap(yaml);
  return simple ? { kind: 'ok', value: simple } : loadYamlMapWithLibrary(yaml, firstLine);
}

/** loadYamlMap without the fast path (exported for the test that holds both to the same answers). */
export function loadYamlMapWithLibrary(yaml: string, firstLine: number): YamlMapResult {
  const doc = parseDocument(yaml, { prettyErrors: true, uniqueKeys: true, strict: true });
  const error = doc.errors[0];
  if (error) {
    const yamlLine = error.linePos?.[0]?.line;
    const where = yamlLine === undefined ? '' : ` at line ${yamlLine + firstLine - 1}`;
    const message = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?\s*$/, '').trim();
    if (error.code === 'DUPLICATE_KEY') {
      const lineText = yamlLine === undefined ? '' : (yaml.split('\n')[yamlLine - 1] ?? '');
      const key = /^\s*([A-Za-z0-9_.-]+)\s*:/.exec(lineText)?.[1];
      const which = key === undefined ? 'a key' : `key "${key}"`;
      return {
        kind: 'invalid',
        reason: `duplicate ${which} in frontmatter${where}: each key may appear once; remove or merge the repeated one`,
      };
    }
    if (error.code === 'MULTIPLE_DOCS') {
      return {
        kind: 'invalid',
        reason: `invalid YAML in frontmatter${where}: a line starts with "---" inside it; the frontmatter ends at the first plain "---" line`,
      };
    }
    return {
      kind: 'invalid',
      reason: `invalid YAML in frontmatter${where}: ${message}; fix that line (quote values that contain ": ", " #" or start with a special character)`,
    };
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
    const message = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
    if (/excessive alias count/i.test(message)) {
      return {
        kind: 'invalid',
        reason: 'refused: the frontmatter expands too many YAML aliases (an alias bomb?); remove the * references',
      };
    }
    if (/unresolved alias/i.test(message)) {
      return {
        kind: 'invalid',
        reason: 'invalid YAML in frontmatter: a *alias refers to no &anchor defined before it; quote values that start with "*"',
      };
    }
    // Never throw on user input: anything else the YAML library refuses is an invalid file too.
    return { kind: 'invalid', reason: `invalid YAML in frontmatter: ${message}; fix or simplify the frontmatter` };
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
