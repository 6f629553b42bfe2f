import { parseDocument, isMap, isScalar, parse as parseYaml } from 'yaml';
import { isDeepStrictEqual } from 'node:util';
import { joinFrontmatter, splitFrontmatter } from './frontmatter.js';
import { loadYamlMap, parseTaskText } from './parse.js';
import { OWNED_KEYS, type OwnedChanges, type OwnedKey, type OwnedValue } from './task.js';
import { InternalError } from '../errors.js';
import { fastYamlMap } from './fastYaml.js';

/**
 * Rewrites only nightshift-owned keys of a task file's text. Each owned key that changes is replaced in
 * place on its own line(s); new keys are appended before the closing fence; the user's keys, comments,
 * line endings, BOM and body are kept byte for byte. Pure: text in, text out.
 */
export function updateTaskText(text: string, changes: OwnedChanges): string {
  const fast = updateSimpleText(text, changes);
  if (fast !== undefined) return fast;
  const split = splitFrontmatter(text);
  if (split.kind === 'invalid') throw new InternalError(`cannot update an unparsable task file: ${split.reason}`);
  const file = split.file;
  const { eol } = file;
  const doc = parseDocument(file.yaml, { uniqueKeys: true });
  const map = doc.contents;
  if (doc.errors.length > 0 || !isMap(map)) throw new InternalError('cannot update a task file whose frontmatter is not a map');
  if (map.flow) throw new InternalError('cannot update a task file whose frontmatter is a {...} flow map');

  // Line start offsets of the YAML block, to turn node ranges into whole lines.
  const lineStarts = [0];
  for (let i = 0; i < file.yaml.length; i++) if (file.yaml[i] === '\n') lineStarts.push(i + 1);
  const lineOf = (offset: number): number => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((lineStarts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };

  type Edit = { from: number; to: number; text: string };
  const edits: Edit[] = [];
  const pending = new Map<OwnedKey, OwnedValue>();
  // A key given as undefined is no change (Partial<>); null removes the key.
  for (const key of OWNED_KEYS) if (changes[key] !== undefined) pending.set(key, changes[key]);
  // Keys we append line up with the map's own indentation (normally none).
  const firstKey = map.items[0]?.key as { range?: [number, number, number] } | null | undefined;
  const mapIndent = firstKey?.range ? indentBefore(file.yaml, firstKey.range[0]) : '';

  for (const pair of map.items) {
    if (!isScalar(pair.key) || typeof pair.key.value !== 'string') continue;
    const key = pair.key.value as OwnedKey;
    if (!pending.has(key)) continue;
    const value = pending.get(key) as OwnedValue;
    pending.delete(key);
    const keyRange = pair.key.range;
    if (!keyRange) continue;
    const valueNode = pair.value as { range?: [number, number, number] } | null;
    const lastOffset = Math.max(keyRange[1], valueNode?.range ? valueNode.range[1] - 1 : keyRange[1]);
    const firstLine = lineOf(keyRange[0]);
    const lastLine = lineOf(Math.max(lastOffset, keyRange[0]));
    const from = lineStarts[firstLine] as number;
    const to = lastLine + 1 < lineStarts.length ? (lineStarts[lastLine + 1] as number) : file.yaml.length;
    const replaced = file.yaml.slice(from, to);
    const ending = replaced.endsWith('\n') ? (replaced.endsWith('\r\n') ? '\r\n' : '\n') : '';
    if (value === null) {
      edits.push({ from, to, text: '' });
      continue;
    }
    // A comment after a one-line value ("status: queued   # queued | running | ...") is the user's: keep it.
    let comment = '';
    if (firstLine === lastLine) {
      // An empty value's node sits where its comment starts; then the tail starts right after the key.
      const hasValue = valueNode?.range !== undefined && valueNode.range[1] > valueNode.range[0];
      const valueEnd = hasValue ? Math.max(keyRange[1], (valueNode.range as [number, number, number])[1]) : keyRange[1];
      const tail = file.yaml.slice(valueEnd, to - ending.length);
      comment = /^(?:[ \t]*:)?([ \t]+#[^\r\n]*)$/.exec(tail)?.[1] ?? '';
    }
    const indent = indentBefore(file.yaml, keyRange[0]);
    edits.push({ from, to, text: `${indent}${key}: ${formatScalar(value)}${comment}${ending || (to === file.yaml.length ? '' : eol)}` });
  }

  let yaml = file.yaml;
  for (const edit of edits.sort((a, b) => b.from - a.from)) yaml = yaml.slice(0, edit.from) + edit.text + yaml.slice(edit.to);
  let appended = '';
  for (const [key, value] of pending) if (value !== null) appended += `${mapIndent}${key}: ${formatScalar(value)}${eol}`;
  if (appended) {
    if (yaml.length > 0 && !yaml.endsWith('\n')) yaml += eol;
    yaml += appended;
  }

  const next = joinFrontmatter({ ...file, yaml });
  verify(file.yaml, yaml, changes);
  // A task file that parsed before must still parse: an owned value the schema refuses (status: bogus,
  // attempts: -1) is a caller bug, and writing it would turn a good task into an invalid one.
  if (parseTaskText(PROBE_ID, '', text).kind === 'ok') {
    const after = parseTaskText(PROBE_ID, '', next);
    if (after.kind !== 'ok') throw new InternalError(`task frontmatter update would make the task invalid: ${after.reason}`);
  }
  return next;
}

/**
 * The same edit for the frontmatter most task files have (one `key: value` per line, which fastYamlMap
 * reads): whole lines replaced, removed or appended, about a hundred times cheaper than the YAML library's
 * document model (which made blocking a 10,000-task chain CPU-bound). Undefined when unsure: the caller
 * then takes the general path.
 */
function updateSimpleText(text: string, changes: OwnedChanges): string | undefined {
  const split = splitFrontmatter(text);
  if (split.kind !== 'ok' || split.file.yaml.includes('\r')) return undefined;
  const file = split.file;
  const old = fastYamlMap(file.yaml);
  if (!old) return undefined;
  const pending = new Map<string, OwnedValue>();
  for (const key of OWNED_KEYS) if (changes[key] !== undefined) pending.set(key, changes[key]);
  let yaml = '';
  for (const line of file.yaml.split('\n').slice(0, -1)) {
    const key = /^([A-Za-z_][A-Za-z0-9_-]*):/.exec(line)?.[1];
    if (key === undefined || !pending.has(key)) {
      yaml += `${line}\n`;
      continue;
    }
    const value = pending.get(key) as OwnedValue;
    pending.delete(key);
    if (value !== null) yaml += `${key}: ${formatScalar(value)}\n`;
  }
  for (const [key, value] of pending) if (value !== null) yaml += `${key}: ${formatScalar(value)}\n`;
  const neu = fastYamlMap(yaml);
  if (!neu || sameExceptChanges(old, neu, changes) !== true) return undefined;
  const next = joinFrontmatter({ ...file, yaml });
  if (parseTaskText(PROBE_ID, '', text).kind === 'ok' && parseTaskText(PROBE_ID, '', next).kind !== 'ok') return undefined;
  return next;
}

/** Any valid id: parse results only depend on the id for depends_on self-references, the same before and after. */
const PROBE_ID = 'nightshift-update-probe';

/** The spaces/tabs between the start of offset's line and offset, or "" when something else is there. */
function indentBefore(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const before = text.slice(lineStart, offset);
  return /^[ \t]*$/.test(before) ? before : '';
}

/** A scalar as YAML: plain when it reads back as the same value, else JSON-quoted (valid YAML). */
export function formatScalar(value: string | number): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InternalError(`cannot write ${value} into a task file; owned numbers must be finite`);
    return String(value);
  }
  const flat = value.replace(/[\r\n]+/g, ' ');
  if (/^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/.test(flat)) {
    try {
      if (parseYaml(flat) === flat) return flat;
    } catch {
      // fall through to quoting
    }
  }
  return JSON.stringify(flat);
}

/** Belt and braces: the rewritten YAML must hold the user's keys unchanged and ours as intended. */
function verify(before: string, after: string, changes: OwnedChanges): void {
  const old = loadYamlMap(before, 2);
  const neu = loadYamlMap(after, 2);
  if (old.kind !== 'ok' || neu.kind !== 'ok') throw new InternalError('task frontmatter did not survive an update');
  const changed = sameExceptChanges(old.value, neu.value, changes);
  if (changed !== true) throw new InternalError(`task frontmatter update changed key ${JSON.stringify(changed)} unexpectedly`);
}

/** True when `neu` holds the user's keys of `old` unchanged and ours as `changes` says; else the first key that is not. */
function sameExceptChanges(old: Record<string, unknown>, neu: Record<string, unknown>, changes: OwnedChanges): true | string {
  const owned = new Set<string>(OWNED_KEYS);
  for (const key of new Set([...Object.keys(old), ...Object.keys(neu)])) {
    const change = owned.has(key) ? changes[key as OwnedKey] : undefined;
    // Only the values we wrote are flattened to one line; a user's multi-line value must come back as it was.
    const expected =
      change === undefined ? old[key] : change === null ? undefined : typeof change === 'string' ? change.replace(/[\r\n]+/g, ' ') : change;
    if (!isDeepStrictEqual(neu[key], expected)) return key;
  }
  return true;
}
