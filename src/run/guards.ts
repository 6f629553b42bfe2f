import { showPath } from '../util/bytePaths.js';
import { matchesAny } from '../util/glob.js';
import type { Hop, LinkResolution } from './symlinks.js';

/**
 * nightshift's own checks on an attempt's change. Every function here is pure: the git and fs reads that
 * feed them are in inspect.ts. Each returns one line per violated rule, naming the rule and the paths.
 * Paths are names as decodePath makes them (bytes that are not UTF-8 kept as escapes): globs match them,
 * and messages show them with showPath.
 */

export interface Change {
  status: string;
  path: string;
  from?: string;
  /** The new side's git mode (100644, 100755, 120000 symlink, 160000 gitlink); absent for a deletion. */
  mode?: string;
}

/** The staged change against base_commit, as the checks need it. */
export interface ChangeFacts {
  changes: Change[];
  /** Added plus deleted lines over text files. */
  changedLines: number;
  /** Lines the change adds, per text file (for conflict markers). */
  addedLines: Record<string, string[]>;
  /** Test files (paths matching `tests`) in base_commit and in the staged change. */
  testFiles: { before: number; after: number };
}

export interface GuardRules {
  /** Task scope: every changed path must match one of these (when given). */
  files?: string[];
  /** Paths no task may change. */
  protect: string[];
  /** Test files: deleting or renaming one away fails the attempt. */
  tests: string[];
  /** Most added plus deleted lines a change may have (rules.md, lowered by the task). */
  maxChangedLines?: number;
}

export function checkGuards(facts: ChangeFacts, rules: GuardRules): string[] {
  const { changes } = facts;
  const violations: string[] = [];
  const touched = (c: Change) => (c.from ? [c.from, c.path] : [c.path]);
  if (rules.files && rules.files.length > 0) {
    const outside = changes.flatMap(touched).filter((p) => !matchesAny(p, rules.files as string[]));
    if (outside.length > 0) violations.push(`files: changed outside the task's scope (${rules.files.join(', ')}): ${names(outside)}`);
  }
  if (rules.protect.length > 0) {
    const hit = changes.flatMap(touched).filter((p) => matchesAny(p, rules.protect));
    if (hit.length > 0) violations.push(`protect: changed protected paths: ${names(hit)}`);
  }
  if (rules.tests.length > 0) {
    const removed = changes
      .filter(
        (c) =>
          (c.status === 'D' && matchesAny(c.path, rules.tests)) ||
          (c.status === 'R' && c.from && matchesAny(c.from, rules.tests) && !matchesAny(c.path, rules.tests)),
      )
      .map((c) => c.from ?? c.path);
    if (removed.length > 0) violations.push(`tests: deleted or renamed away test files: ${names(removed)}`);
    else if (facts.testFiles.after < facts.testFiles.before) {
      violations.push(`tests: the change leaves ${facts.testFiles.after} test files, ${facts.testFiles.before} before`);
    }
  }
  if (rules.maxChangedLines !== undefined && facts.changedLines > rules.maxChangedLines) {
    violations.push(
      `max_changed_lines: the change adds and removes ${facts.changedLines} lines, more than ${rules.maxChangedLines}; split the task or make a smaller change`,
    );
  }
  const marked = Object.entries(facts.addedLines)
    .filter(([, lines]) => hasConflictMarkers(lines))
    .map(([path]) => path);
  if (marked.length > 0) violations.push(`conflict markers: unresolved <<<<<<< / >>>>>>> lines in ${names(marked)}`);
  const gitlinks = changes.filter((c) => c.mode === '160000').map((c) => c.path);
  if (gitlinks.length > 0) violations.push(`.git: embedded repositories (gitlinks) added: ${names(gitlinks)}`);
  const underGit = changes.flatMap(touched).filter(underDotGit);
  if (underGit.length > 0) violations.push(`.git: changed paths under a .git folder: ${names(underGit)}`);
  return violations;
}

/**
 * Conflict markers among added lines. A "=======" line alone is also a Markdown heading underline, so it
 * proves nothing; every conflict also has a "<<<<<<< " and a ">>>>>>> " line, which only a merge writes.
 */
export function hasConflictMarkers(lines: string[]): boolean {
  return lines.some((l) => /^(<{7}|>{7})(?: |$)/.test(l));
}

export function underDotGit(path: string): boolean {
  return path.split('/').some((segment) => segment.toLowerCase() === '.git');
}

/** One path in the worktree that differs from base_commit, read with lstat before anything is staged. */
export type WorktreeEntry =
  | { path: string; kind: 'file'; size: number }
  /** `resolved`: where it leads, followed through the worktree as a checkout would (see symlinks.ts). */
  | { path: string; kind: 'symlink'; target: string; resolved: LinkResolution }
  /** An untracked folder git does not descend into: it holds a repository of its own. */
  | { path: string; kind: 'repository' }
  /** Nothing there any more (or a folder where the index has a file): staging records the removal. */
  | { path: string; kind: 'missing' };

/** Checks on the worktree before `git add`, so an oversized file is never hashed into the object store. */
export function checkWorktree(entries: WorktreeEntry[], limits: { maxFileSize: number }): string[] {
  const violations: string[] = [];
  const big = entries.filter((e): e is Extract<WorktreeEntry, { kind: 'file' }> => e.kind === 'file' && e.size > limits.maxFileSize);
  if (big.length > 0) {
    violations.push(
      `max_file_size: files over ${formatBytes(limits.maxFileSize)}: ${list(big.map((e) => `${showPath(e.path)} (${formatBytes(e.size)})`))}`,
    );
  }
  const repos = entries.filter((e) => e.kind === 'repository').map((e) => e.path);
  if (repos.length > 0) violations.push(`.git: embedded repositories (folders with their own .git): ${names(repos)}`);
  const links = entries.filter((e): e is Extract<WorktreeEntry, { kind: 'symlink' }> => e.kind === 'symlink');
  const shown = (e: { path: string; target: string; resolved: LinkResolution }, through?: Hop) =>
    `${showLink(e)}${through ? ` (through ${showLink(through)})` : ''}`;
  const outside = links.flatMap((e) => (e.resolved.kind === 'outside' ? [shown(e, e.resolved.through)] : []));
  if (outside.length > 0) violations.push(`symlinks: pointing outside the worktree: ${list(outside)}`);
  const loops = links.filter((e) => e.resolved.kind === 'loop').map((e) => shown(e));
  if (loops.length > 0) violations.push(`symlinks: in a loop: ${list(loops)}`);
  const intoGit = links.filter((e) => e.resolved.kind === 'git').map((e) => shown(e));
  if (intoGit.length > 0) violations.push(`symlinks: pointing into a .git folder: ${list(intoGit)}`);
  return violations;
}

function showLink(hop: Hop): string {
  return `${showPath(hop.path)} -> ${showPath(hop.target)}`;
}

/** A ref in refs/heads or refs/tags whose value differs after the executor ran. */
export interface RefMove {
  ref: string;
  before?: string;
  after?: string;
  /** `after` descends from `before`: new commits on top, none lost. */
  fastForward: boolean;
  /** `after` holds commits the executor made in its worktree (it published its own work). */
  carriesExecutorWork: boolean;
}

/** A ref the executor must not have changed, and whether setting it back is safe. */
export interface RefFinding {
  move: RefMove;
  message: string;
  /** Setting the ref back can lose nothing but what the executor did. */
  restore: boolean;
}

/**
 * The executor must not move base or other branches, nor tags. A fast-forward of base without the
 * executor's own commits is someone else's work (the user committing, a task landing) and is allowed.
 * Deleted and rewound refs are restored; created refs and fast-forwards are left for a person, since
 * deleting or rewinding them could throw away work that is not the executor's.
 */
export function checkRefs(moves: RefMove[], base: string): RefFinding[] {
  const findings: RefFinding[] = [];
  for (const move of moves) {
    const name = move.ref.startsWith('refs/tags/') ? `tag ${move.ref.slice('refs/tags/'.length)}` : move.ref.replace(/^refs\/heads\//, '');
    if (move.ref === `refs/heads/${base}` && move.fastForward && !move.carriesExecutorWork) continue;
    if (move.before === undefined) findings.push({ move, message: `refs: the executor created ${name}`, restore: false });
    else if (move.after === undefined) findings.push({ move, message: `refs: the executor deleted ${name}`, restore: true });
    else {
      findings.push({
        move,
        message: `refs: the executor moved ${name} from ${short(move.before)} to ${short(move.after)}`,
        restore: !move.fastForward,
      });
    }
  }
  return findings;
}

function short(sha: string): string {
  return sha.slice(0, 7);
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1).replace(/\.0$/, '')} KB`;
  return `${bytes} bytes`;
}

function names(paths: string[]): string {
  return list(paths.map(showPath));
}

function list(paths: string[]): string {
  const unique = [...new Set(paths)];
  return unique.length > 5 ? `${unique.slice(0, 5).join(', ')} and ${unique.length - 5} more` : unique.join(', ');
}
