import { UsageError, oneLine, toError } from '../errors.js';
import { loadRules, type Rules } from '../config/rules.js';
import { agentNamed } from '../exec/agents/index.js';
import { geminiAuthProblem } from '../exec/agents/geminiAuth.js';
import { isAgentName } from '../exec/agents/names.js';
import { findProgram, probeVersion } from '../exec/probe.js';
import { repoRoot } from '../git/git.js';
import { probeGit } from '../git/installed.js';
import { pathsFor } from '../paths.js';
import { canaryProbe } from '../sandbox/canary.js';
import { probeSandbox } from '../sandbox/probe.js';
import { loadTasks } from '../task/store.js';
import type { Output } from './output.js';

export interface DoctorOptions {
  cwd: string;
  /** The environment executors will run with (PATH above all); the daemon passes its own on. */
  env?: NodeJS.ProcessEnv;
}

interface Check {
  /** missing = not there at all; failed = there but unusable (does not start, invalid). */
  state: 'ok' | 'missing' | 'failed' | 'warn';
  what: string;
  detail: string;
}

const LABEL: Record<Check['state'], string> = { ok: 'ok     ', missing: 'MISSING', failed: 'FAILED ', warn: 'WARN   ' };

/**
 * Is this repository ready for the daemon? One line per check: git, rules.md, then every executor the
 * rules can route a task to (default, routes, fallback). Exit 1 when anything they need is missing.
 */
export async function runDoctor(opts: DoctorOptions, io: Output): Promise<number> {
  const env = opts.env ?? process.env;
  const checks: Check[] = [];
  const print = (c: Check) => {
    checks.push(c);
    io.out(`${LABEL[c.state]} ${c.what.padEnd(10)} ${c.detail}\n`);
  };

  const { path: git, version: gitVersion } = await probeGit(env, opts.cwd);
  const root = git ? await repoRoot(opts.cwd).catch(() => undefined) : undefined;
  if (!git || gitVersion?.kind !== 'ok')
    print({
      state: git ? 'failed' : 'missing',
      what: 'git',
      detail: git ? `cannot run: ${gitVersion?.kind === 'failed' ? gitVersion.reason : ''}` : 'not found on PATH; install git',
    });
  else if (!root)
    print({
      state: 'failed',
      what: 'git',
      detail: `${gitVersion.version}, but ${opts.cwd} is not inside a git repository (git init first)`,
    });
  else print({ state: 'ok', what: 'git', detail: `${gitVersion.version}, repository ${root}` });
  if (!root) return 1;

  let rules: Rules;
  try {
    rules = await loadRules(pathsFor(root).rules);
  } catch (err) {
    const detail = err instanceof UsageError ? err.message : oneLine(toError(err).message);
    print({ state: 'failed', what: 'rules.md', detail });
    return 1;
  }
  // Tasks waiting to run may name executors of their own; those must work too.
  const fromTasks = (await loadTasks(pathsFor(root).tasks)).flatMap((e) =>
    e.kind === 'task' && e.task.executor !== undefined && (e.task.status === 'queued' || e.task.status === 'running')
      ? [e.task.executor]
      : [],
  );
  const routed = [...new Set([...routedExecutors(rules), ...fromTasks])];
  print({
    state: 'ok',
    what: 'rules.md',
    detail:
      routed.length > 0
        ? `valid; executors used: ${routed.join(', ')}`
        : 'valid; no executor set (tasks need run: for the shell executor, or executor:)',
  });

  for (const name of routed) print(await checkExecutor(name, rules, env, root));
  print(await checkSandbox(rules, env));
  return checks.every((c) => c.state === 'ok' || c.state === 'warn') ? 0 : 1;
}

/** Whether steps will run sandboxed: the canary probe proves it; `auto` without bubblewrap is a warning. */
async function checkSandbox(rules: Rules, env: NodeJS.ProcessEnv): Promise<Check> {
  const what = 'sandbox';
  if (rules.sandbox === 'none')
    return { state: 'warn', what, detail: 'off (rules.md says sandbox: none): executors run with your full rights' };
  const support = await probeSandbox(env.PATH);
  if (support.kind === 'none') {
    const fix = 'install bubblewrap: apt-get install bubblewrap';
    if (rules.sandbox === 'bwrap') return { state: 'failed', what, detail: `rules.md says sandbox: bwrap, but ${support.why}; ${fix}` };
    return { state: 'warn', what, detail: `none: ${support.why}; steps run unsandboxed; ${fix}` };
  }
  const canary = await canaryProbe({ kind: 'bwrap', program: support.program, network: rules.sandboxNetwork, env: rules.sandboxEnv });
  if (canary.kind === 'failed') return { state: 'failed', what, detail: `bwrap (${support.program}) starts, but ${canary.why}` };
  return { state: 'ok', what, detail: `bwrap (${support.program}): a step wrote its worktree and could not read a file planted in HOME` };
}

/** Every executor rules.md can send work to: the default, each route, each fallback, the reviewer; once each, in that order. */
export function routedExecutors(rules: Rules): string[] {
  const names = [rules.executor, ...Object.values(rules.routes), ...rules.fallback, rules.review?.executor].filter(
    (n): n is string => n !== undefined,
  );
  return [...new Set(names)];
}

async function checkExecutor(name: string, rules: Rules, env: NodeJS.ProcessEnv, cwd: string): Promise<Check> {
  const what = name;
  if (name === 'shell') {
    const sh = await findProgram('sh', env, cwd);
    return sh
      ? { state: 'ok', what, detail: `built in: runs a task's run: command with ${sh}` }
      : { state: 'missing', what, detail: 'sh not found on PATH' };
  }
  const custom = Object.hasOwn(rules.executors, name) ? rules.executors[name] : undefined;
  if (custom) {
    const program = custom.command[0] as string;
    const path = await findProgram(program, env, cwd);
    // A custom command has no known version flag; finding it is all doctor can check without running a task.
    return path
      ? { state: 'ok', what, detail: `command ${program} (${path})` }
      : { state: 'missing', what, detail: `command ${program} not found on PATH` };
  }
  if (!isAgentName(name))
    return { state: 'missing', what, detail: 'not an executor: name a built-in agent, shell, or define it under executors: in rules.md' };
  const adapter = agentNamed(name);
  if (!adapter)
    return {
      state: 'missing',
      what,
      detail: 'built in, but this nightshift version has no adapter for it; define it under executors: with a command',
    };
  const path = await findProgram(adapter.program, env, cwd);
  if (!path)
    return {
      state: 'missing',
      what,
      detail: `${adapter.program} not found on PATH${adapter.installHint ? `; install it: ${adapter.installHint}` : ''}`,
    };
  const probe = await probeVersion(path, adapter.versionArgs, env, cwd);
  if (probe.kind === 'failed') return { state: 'failed', what, detail: `${path} does not start: ${probe.reason}` };
  const authProblem = name === 'gemini' ? await geminiAuthProblem(env, cwd) : undefined;
  if (authProblem) return { state: 'failed', what, detail: `${probe.version} (${path}), but ${authProblem}` };
  return { state: 'ok', what, detail: `${probe.version} (${path})` };
}
