import { BASE_FLAGS } from './probe.js';

/** Where a git worktree's git data lives: its own dir (index, HEAD) and the repository's common dir. */
export interface WorktreeGit {
  own: string;
  common: string;
}

/** Everything one step's sandbox is made of, as host paths (the same paths inside). */
export interface SandboxLayout {
  worktree: string;
  worktreeReadOnly: boolean;
  /** Folders replaced by an empty tmpfs: the user's checkout, the pool's other slots. */
  hidden: string[];
  git?: WorktreeGit;
  /** Folders bound read-only on top (the attempt's prompt and task copies). */
  readOnly: string[];
  /** Paths the step may write besides the worktree (a planner's output file). */
  writable: string[];
  /** The step's private HOME: `from` (a host folder emptied per step) is bound at `at`. */
  home: { at: string; from: string };
  /** The agent's own folders in the real HOME, bound writable at the same place in the private one. */
  agentDirs: string[];
  network: boolean;
}

type Mount = { op: '--tmpfs'; path: string } | { op: '--bind' | '--ro-bind'; from: string; path: string };

/**
 * bwrap's arguments for a layout. bwrap mounts in argument order, so a folder must be mounted before what
 * goes inside it: mounts are sorted by depth, and at equal depth a mask comes before a bind. The system is
 * read-only (BASE_FLAGS), /tmp a fresh tmpfs, HOME the private folder; the checkout and the pool are
 * hidden, and only the worktree and what git needs in the common dir come back writable. The guards still
 * check refs and shared git state after the step, as without a sandbox.
 */
export function bwrapArgs(layout: SandboxLayout): string[] {
  const mounts: Mount[] = [];
  const home = layout.home.at;
  for (const path of new Set(layout.hidden)) if (path !== home && path !== '/') mounts.push({ op: '--tmpfs', path });
  mounts.push({ op: '--bind', from: layout.home.from, path: home });
  for (const dir of layout.agentDirs) mounts.push({ op: '--bind', from: dir, path: dir });
  if (layout.git) mounts.push(...gitMounts(layout.git));
  for (const path of layout.readOnly) mounts.push({ op: '--ro-bind', from: path, path });
  mounts.push({ op: layout.worktreeReadOnly ? '--ro-bind' : '--bind', from: layout.worktree, path: layout.worktree });
  for (const path of layout.writable) mounts.push({ op: '--bind', from: path, path });

  const order = (m: Mount) => depth(m.path) * 2 + (m.op === '--tmpfs' ? 0 : 1);
  const sorted = mounts.map((m, i) => ({ m, i })).sort((a, b) => order(a.m) - order(b.m) || a.i - b.i);
  const args = [...BASE_FLAGS];
  if (!layout.network) args.push('--unshare-net');
  for (const { m } of sorted) {
    if (m.op === '--tmpfs') args.push('--tmpfs', m.path);
    else args.push(m.op, m.from, m.path);
  }
  // A hiding tmpfs is read-only once what goes inside is mounted: writing there fails instead of
  // seeming to work and vanishing (the binds inside keep their own mode).
  for (const { m } of sorted) if (m.op === '--tmpfs') args.push('--remount-ro', m.path);
  args.push('--chdir', layout.worktree);
  return args;
}

/**
 * A linked worktree's git needs its own dir (index, HEAD) and, in the common dir, objects, refs and logs
 * writable (git add writes objects, git commit moves the branch and its reflog); config, packed-refs and
 * hooks only readable. The other worktrees' dirs are hidden. A worktree that is a plain clone gets its
 * .git writable whole.
 */
function gitMounts(git: WorktreeGit): Mount[] {
  if (git.own === git.common) return [{ op: '--bind', from: git.common, path: git.common }];
  return [
    { op: '--ro-bind', from: git.common, path: git.common },
    { op: '--tmpfs', path: `${git.common}/worktrees` },
    { op: '--bind', from: git.own, path: git.own },
    ...['objects', 'refs', 'logs'].map((name): Mount => ({ op: '--bind', from: `${git.common}/${name}`, path: `${git.common}/${name}` })),
  ];
}

function depth(path: string): number {
  return path.split('/').filter(Boolean).length;
}
