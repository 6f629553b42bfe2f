import { realpath } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import { checkoutSpellings, resolveProgram } from '../exec/executorEnv.js';
import type { Sandbox } from './choose.js';
import { sandboxEnv, type StepRole } from './env.js';
import { worktreeGit } from './gitDirs.js';
import { preparePrivateHome } from './home.js';
import { bwrapArgs } from './mounts.js';
import { visiblePrograms } from './programs.js';

export interface SandboxStepInput {
  argv: [string, ...string[]];
  /** The executor environment the step would have had (exec/executorEnv.ts). */
  base: NodeJS.ProcessEnv;
  /** What nightshift sets for this step itself (the adapter's env): always passed in. */
  own?: Record<string, string>;
  role: StepRole;
  writable?: string[];
  readOnlyWorktree?: boolean;
}

export interface SandboxPlaces {
  /** The user's checkout: hidden. */
  root: string;
  worktree: string;
  /** Bound read-only (the attempt's prompt and task copies). */
  readOnly: string[];
  /** A host folder for the step's private HOME, emptied here. */
  homeFrom: string;
}

export interface SandboxedStep {
  argv: [string, ...string[]];
  env: NodeJS.ProcessEnv;
  /** After the step: the agent's changed files go back to the real HOME. */
  finish(): Promise<void>;
}

/** The argv and environment that start a step inside bubblewrap instead of on the host. */
export async function sandboxStep(
  sandbox: Extract<Sandbox, { kind: 'bwrap' }>,
  step: SandboxStepInput,
  places: SandboxPlaces,
): Promise<SandboxedStep> {
  const env = sandboxEnv(step.base, step.own, step.role, sandbox.env);
  const home = env.HOME || homedir();
  const worktree = await realpath(places.worktree);
  const privateHome = await preparePrivateHome(places.homeFrom, home, step.role, env);
  const hidden = [...checkoutSpellings(places.root), dirname(worktree), dirname(places.worktree)];
  const [program, ...args] = step.argv;
  // Resolved out here: a CLI found only on the daemon's PATH is started by its path inside too.
  const inner = resolveProgram(program, env.PATH, process.env.PATH);
  const programs = visiblePrograms([inner, ...args], env.PATH, [...hidden, home, '/tmp']);
  const layout = {
    worktree,
    worktreeReadOnly: !!step.readOnlyWorktree,
    hidden,
    git: await worktreeGit(worktree),
    readOnly: [...places.readOnly, ...programs],
    writable: step.writable ?? [],
    home: { at: home, from: places.homeFrom },
    agentDirs: privateHome.dirs,
    // Agents need their model's API; `sandbox_network: none` cuts everything else off.
    network: sandbox.network === 'on' || step.role.kind === 'agent',
  };
  return { argv: [sandbox.program, ...bwrapArgs(layout), '--', inner, ...args], env, finish: () => privateHome.finish() };
}
