import { matchesAny } from '../util/glob.js';

export interface Change {
  status: string;
  path: string;
  from?: string;
}

export interface GuardRules {
  /** Task scope: every changed path must match one of these (when given). */
  files?: string[];
  /** Paths no task may change. */
  protect: string[];
  /** Test files: deleting or renaming one away fails the attempt. */
  tests: string[];
}

/**
 * nightshift's own checks on an attempt's change, before the test command runs. Returns one line per
 * violated rule, naming the rule and the paths. Pure.
 */
export function checkGuards(changes: Change[], rules: GuardRules): string[] {
  const violations: string[] = [];
  const touched = (c: Change) => (c.from ? [c.from, c.path] : [c.path]);
  if (rules.files && rules.files.length > 0) {
    const outside = changes.flatMap(touched).filter((p) => !matchesAny(p, rules.files as string[]));
    if (outside.length > 0) violations.push(`files: changed outside the task's scope (${rules.files.join(', ')}): ${list(outside)}`);
  }
  if (rules.protect.length > 0) {
    const hit = changes.flatMap(touched).filter((p) => matchesAny(p, rules.protect));
    if (hit.length > 0) violations.push(`protect: changed protected paths: ${list(hit)}`);
  }
  if (rules.tests.length > 0) {
    const removed = changes
      .filter((c) => (c.status === 'D' && matchesAny(c.path, rules.tests)) || (c.status === 'R' && c.from && matchesAny(c.from, rules.tests) && !matchesAny(c.path, rules.tests)))
      .map((c) => c.from ?? c.path);
    if (removed.length > 0) violations.push(`tests: deleted or renamed away test files: ${list(removed)}`);
  }
  return violations;
}

function list(paths: string[]): string {
  const unique = [...new Set(paths)];
  return unique.length > 5 ? `${unique.slice(0, 5).join(', ')} and ${unique.length - 5} more` : unique.join(', ');
}
