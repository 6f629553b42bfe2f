import { NAME, type FrontmatterFields } from './fields.js';
import { DEFAULT_MIN_CONFIDENCE, type ReviewRules, type ReviewWhen, type Rules } from './types.js';

/** rules.md's `review:` gate: which executor reviews, on which tasks, and how sure it must be. */
export function readReview(fields: FrontmatterFields, rules: Rules): void {
  const { problems } = fields;
  if (fields.has('review')) rules.review = parseReview(fields.fm.review, problems);
  if (rules.review?.executor === 'shell') {
    problems.push("review.executor: the shell executor cannot review (it runs a task's run: command); name an agent or a custom executor");
  }
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
    if (!['executor', 'when', 'min_confidence'].includes(key)) {
      problems.push(`review: unknown key "${key}" (known: executor, when, min_confidence)`);
    }
  }
  const executor = spec.executor;
  if (typeof executor !== 'string' || !NAME.test(executor)) {
    problems.push(`review.executor must name the executor that reviews, like ${example}`);
  }
  let minConfidence = DEFAULT_MIN_CONFIDENCE;
  if (spec.min_confidence !== undefined && spec.min_confidence !== null) {
    const c = spec.min_confidence;
    if (typeof c === 'number' && c >= 0 && c <= 1) minConfidence = c;
    else problems.push(`review.min_confidence must be a number from 0 to 1, got ${JSON.stringify(c)}`);
  }
  const when = parseWhen(spec.when);
  if (when === undefined) {
    problems.push(`review.when must be always, never or kind:[a, b] (a list of task kinds), got ${JSON.stringify(spec.when)}`);
  }
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
    kinds = (m[1] as string)
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean);
  } else if (typeof value === 'object' && !Array.isArray(value)) {
    const map = value as Record<string, unknown>;
    kinds = map.kind ?? map.kinds;
    if (typeof kinds === 'string') kinds = [kinds];
  }
  if (!Array.isArray(kinds) || kinds.length === 0 || !kinds.every((k) => typeof k === 'string' && NAME.test(k))) return undefined;
  return { kind: 'kinds', kinds: kinds as string[] };
}
