import { UsageError } from '../errors.js';
import type { Rules } from '../config/types.js';
import { probeSandbox, type SandboxSupport } from './probe.js';

/** What the daemon runs its steps in, decided once at start. */
export type Sandbox = { kind: 'bwrap'; program: string; network: 'on' | 'none'; env: string[] } | { kind: 'none'; why: string };

/**
 * rules.md's `sandbox:` against what this machine can do. `auto` falls back to no sandbox, and the daemon
 * says so (daemon-start line, log, doctor); `bwrap` refuses to start without one.
 */
export async function chooseSandbox(
  rules: Pick<Rules, 'sandbox' | 'sandboxNetwork' | 'sandboxEnv'>,
  probe: () => Promise<SandboxSupport> = () => probeSandbox(),
): Promise<Sandbox> {
  if (rules.sandbox === 'none') return { kind: 'none', why: 'rules.md says sandbox: none' };
  const support = await probe();
  if (support.kind === 'bwrap') return { kind: 'bwrap', program: support.program, network: rules.sandboxNetwork, env: rules.sandboxEnv };
  if (rules.sandbox === 'bwrap') {
    throw new UsageError(
      `rules.md says sandbox: bwrap, but ${support.why}`,
      'install bubblewrap (apt-get install bubblewrap) and check `nightshift doctor`, or set sandbox: auto to run without one',
    );
  }
  return { kind: 'none', why: support.why };
}

/** For the daemon-start line and doctor: `bwrap`, or `none (why)`. */
export function describeSandbox(sandbox: Sandbox): string {
  if (sandbox.kind === 'bwrap') return sandbox.network === 'none' ? 'bwrap, no network for commands' : 'bwrap';
  return `none (${sandbox.why})`;
}

/** What an agent adapter is told it may run: anything inside the sandbox, else rules.md's setup and test. */
export function agentAccess(
  sandbox: Sandbox | undefined,
  rules: Pick<Rules, 'setup' | 'test'>,
): { sandboxed: boolean; allowedCommands: string[] } {
  const allowedCommands = [rules.setup, rules.test].filter((c): c is string => !!c);
  return { sandboxed: sandbox?.kind === 'bwrap', allowedCommands };
}
