import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { parseRules } from '../../src/config/rules.js';
import { claude, deniedCommands } from '../../src/exec/agents/claude.js';
import { codex, interpretCodex } from '../../src/exec/agents/codex.js';
import { buildPrompt } from '../../src/exec/prompt.js';
import { withDenied, noteDenied } from '../../src/run/denied.js';
import type { AttemptReport } from '../../src/run/outcome.js';
import { chooseSandbox, describeSandbox } from '../../src/sandbox/choose.js';
import { sandboxEnv } from '../../src/sandbox/env.js';
import { bwrapArgs, type SandboxLayout } from '../../src/sandbox/mounts.js';
import { visiblePrograms } from '../../src/sandbox/programs.js';
import type { Task } from '../../src/task/task.js';

const LAYOUT: SandboxLayout = {
  worktree: '/home/u/.cache/ns/repo-1/_pool-1',
  worktreeReadOnly: false,
  hidden: ['/home/u/code/app', '/home/u/.cache/ns/repo-1'],
  git: { own: '/home/u/code/app/.git/worktrees/_pool-1', common: '/home/u/code/app/.git' },
  readOnly: ['/home/u/.cache/ns/repo-1/_attempt-files/_pool-1'],
  writable: [],
  home: { at: '/home/u', from: '/home/u/.cache/ns/repo-1/_attempt-files/_pool-1.home' },
  agentDirs: ['/home/u/.claude'],
  network: true,
};

/** The mounts in order, as `op path` (binds: `op from->path` when they differ). */
function mounts(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--tmpfs' || a === '--remount-ro') out.push(`${a} ${args[++i]}`);
    else if (a === '--bind' || a === '--ro-bind') {
      const [from, to] = [args[++i], args[++i]];
      out.push(from === to ? `${a} ${to}` : `${a} ${from}->${to}`);
    }
  }
  return out;
}

describe('bwrapArgs', () => {
  it('hides the checkout and the pool, binds back only the worktree, what git needs, and a private HOME, parents first', () => {
    const args = bwrapArgs(LAYOUT);
    expect(args.slice(0, 7)).toEqual([
      '--die-with-parent',
      '--unshare-pid',
      '--unshare-ipc',
      '--unshare-uts',
      '--cap-drop',
      'ALL',
      '--ro-bind',
    ]);
    expect(args).not.toContain('--unshare-net');
    expect(args.slice(-2)).toEqual(['--chdir', LAYOUT.worktree]);
    expect(mounts(args)).toEqual([
      '--ro-bind /',
      '--tmpfs /tmp',
      `--bind ${LAYOUT.home.from}->/home/u`,
      '--bind /home/u/.claude',
      '--tmpfs /home/u/code/app',
      '--tmpfs /home/u/.cache/ns/repo-1',
      '--ro-bind /home/u/code/app/.git',
      '--tmpfs /home/u/code/app/.git/worktrees',
      '--bind /home/u/code/app/.git/objects',
      '--bind /home/u/code/app/.git/refs',
      '--bind /home/u/code/app/.git/logs',
      '--bind /home/u/.cache/ns/repo-1/_pool-1',
      '--bind /home/u/code/app/.git/worktrees/_pool-1',
      '--ro-bind /home/u/.cache/ns/repo-1/_attempt-files/_pool-1',
      '--remount-ro /home/u/code/app',
      '--remount-ro /home/u/.cache/ns/repo-1',
      '--remount-ro /home/u/code/app/.git/worktrees',
    ]);
  });

  it('cuts the network, binds the worktree read-only and extra paths writable when asked', () => {
    const args = bwrapArgs({ ...LAYOUT, network: false, worktreeReadOnly: true, writable: ['/home/u/out'] });
    expect(args).toContain('--unshare-net');
    expect(mounts(args)).toContain(`--ro-bind ${LAYOUT.worktree}`);
    expect(mounts(args)).toContain('--bind /home/u/out');
  });
});

describe('sandboxEnv', () => {
  const base = {
    PATH: '/bin',
    HOME: '/h',
    AWS_SECRET_ACCESS_KEY: 'x',
    GITHUB_TOKEN: 'y',
    ANTHROPIC_API_KEY: 'k',
    LC_ALL: 'C',
    MY_TOOL_A: '1',
    TMPDIR: '/var/t',
  };

  it('lets in the basics and the agents keys, never cloud or forge tokens; TMPDIR is the private /tmp', () => {
    expect(sandboxEnv(base, { IS_SANDBOX: '1' }, { kind: 'agent', name: 'claude' }, [])).toEqual({
      PATH: '/bin',
      HOME: '/h',
      ANTHROPIC_API_KEY: 'k',
      LC_ALL: 'C',
      TMPDIR: '/tmp',
      IS_SANDBOX: '1',
    });
  });

  it("keeps provider keys from rules.md's setup and test; sandbox_env adds names and prefixes", () => {
    expect(sandboxEnv(base, undefined, { kind: 'check' }, ['GITHUB_TOKEN', 'MY_TOOL_*'])).toEqual({
      PATH: '/bin',
      HOME: '/h',
      LC_ALL: 'C',
      GITHUB_TOKEN: 'y',
      MY_TOOL_A: '1',
      TMPDIR: '/tmp',
    });
  });
});

describe('rules.md sandbox keys', () => {
  it('defaults to auto, network on, no extra variables', () => {
    expect(parseRules('---\nconcurrency: 1\n---\n')).toMatchObject({ sandbox: 'auto', sandboxNetwork: 'on', sandboxEnv: [] });
    expect(parseRules('---\nsandbox: none\nsandbox_network: none\nsandbox_env: [A, B_*]\n---\n')).toMatchObject({
      sandbox: 'none',
      sandboxNetwork: 'none',
      sandboxEnv: ['A', 'B_*'],
    });
  });

  it('says what is wrong with each bad value, all at once', () => {
    expect(() => parseRules('---\nsandbox: docker\nsandbox_network: off-ish\nsandbox_env: ["not a name"]\n---\n')).toThrow(
      /sandbox must be auto, bwrap or none, got "docker"[\s\S]*sandbox_network must be on or none[\s\S]*sandbox_env: "not a name" is not a variable name/,
    );
  });
});

describe('chooseSandbox', () => {
  const rules = { sandbox: 'auto' as const, sandboxNetwork: 'on' as const, sandboxEnv: [] };
  const missing = () => Promise.resolve({ kind: 'none' as const, why: 'bubblewrap (bwrap) is not installed' });

  it('auto falls back to none and says why; bwrap refuses to start; none never probes', async () => {
    const none = await chooseSandbox(rules, missing);
    expect(describeSandbox(none)).toBe('none (bubblewrap (bwrap) is not installed)');
    await expect(chooseSandbox({ ...rules, sandbox: 'bwrap' }, missing)).rejects.toThrow(
      /rules.md says sandbox: bwrap, but bubblewrap \(bwrap\) is not installed/,
    );
    const off = await chooseSandbox({ ...rules, sandbox: 'none' }, () => Promise.reject(new Error('probed')));
    expect(off).toEqual({ kind: 'none', why: 'rules.md says sandbox: none' });
  });

  it('auto with a working bwrap runs it', async () => {
    const sb = await chooseSandbox({ ...rules, sandboxNetwork: 'none' }, () =>
      Promise.resolve({ kind: 'bwrap' as const, program: '/usr/bin/bwrap' }),
    );
    expect(describeSandbox(sb)).toBe('bwrap, no network for commands');
  });
});

describe('agent adapters and the sandbox', () => {
  const input = { promptFile: '/p', promptBytes: 1, worktree: '/w', options: { args: [] } };

  it('claude: bypassed permissions and IS_SANDBOX inside; outside, exactly the allowed commands', () => {
    const inside = claude.invocation({ ...input, sandboxed: true, allowedCommands: ['npm test'] });
    expect(inside.argv.slice(5)).toEqual(['--permission-mode', 'bypassPermissions']);
    expect(inside.env?.IS_SANDBOX).toBe('1');
    const outside = claude.invocation({ ...input, sandboxed: false, allowedCommands: ['npm ci', 'npm test'] });
    expect(outside.argv.slice(5)).toEqual(['--allowedTools', 'Bash(npm ci)', 'Bash(npm test)', '--permission-mode', 'acceptEdits']);
    expect(outside.env?.IS_SANDBOX).toBeUndefined();
  });

  it("claude: the result's permission_denials become the denied commands", () => {
    const result = {
      type: 'result',
      subtype: 'success',
      is_error: false,
      result: 'ok',
      permission_denials: [
        { tool_name: 'Bash', tool_input: { command: 'npm test' } },
        { tool_name: 'WebFetch', tool_input: { url: 'x' } },
        { tool_name: 'Bash', tool_input: { command: 'npm test' } },
      ],
    };
    expect(deniedCommands(JSON.stringify(result))).toEqual(['npm test', 'WebFetch']);
  });

  it('codex: bypasses its own sandbox inside ours, keeps workspace-write outside', () => {
    expect(codex.invocation({ ...input, sandboxed: true }).argv).toContain('--dangerously-bypass-approvals-and-sandbox');
    expect(codex.invocation({ ...input, sandboxed: true }).argv).not.toContain('workspace-write');
    expect(codex.invocation({ ...input, sandboxed: false }).argv).toContain('workspace-write');
  });

  it('codex: every command failing in its own sandbox is an infra failure naming the cause', () => {
    const failed = (output: string, exit_code = 1) =>
      JSON.stringify({
        type: 'item.completed',
        item: { type: 'command_execution', command: 'ls', aggregated_output: output, exit_code, status: 'failed' },
      });
    const done = JSON.stringify({ type: 'turn.completed', usage: { input_tokens: 1, output_tokens: 1 } });
    const out = [failed('bwrap: execvp codex-linux-sandbox: No such file or directory\n'), done].join('\n');
    expect(interpretCodex(out, { code: 0 })).toMatchObject({
      kind: 'infra-failure',
      cause: 'other',
      reason: expect.stringContaining('bwrap: execvp codex-linux-sandbox: No such file or directory'),
    });
    // One command that worked: its sandbox runs, a failing command is the task's business.
    expect(interpretCodex([failed('bwrap: oops'), failed('fine', 0), done].join('\n'), { code: 0 })).toMatchObject({ kind: 'success' });
  });
});

describe('denied commands in the attempt', () => {
  it("are appended to a failure's reason and to the next prompt's detail", () => {
    const report: AttemptReport = { runs: [] };
    noteDenied(report, ['npm test']);
    noteDenied(report, ['npm test', 'node -e 1']);
    const failed = withDenied({ kind: 'failure', reason: 'no changes', detail: 'no changes', retry: true }, report);
    expect(failed).toMatchObject({ reason: 'no changes; the agent was refused these commands: `npm test`, `node -e 1`' });
    expect(failed.kind === 'failure' && failed.detail).toContain('Note: the agent was refused these commands');
    expect(withDenied({ kind: 'interrupted' }, report)).toEqual({ kind: 'interrupted' });
  });
});

describe('the prompt says which commands the agent may run', () => {
  const task = { id: '001-x', title: 'X', body: 'Do X.' } as Task;
  const base = { task, attempt: 1, rulesBody: '', scopeBody: '' };
  it('inside the sandbox: anything, and the tests to run; outside: only these, or none', () => {
    expect(buildPrompt({ ...base, commands: { sandboxed: true, allowedCommands: ['npm test'] } })).toContain(
      'You run in a sandbox: you may run any command',
    );
    expect(buildPrompt({ ...base, commands: { sandboxed: false, allowedCommands: ['npm test'] } })).toContain(
      'The only shell commands you may run are these, exactly as written:\n\n- `npm test`',
    );
    expect(buildPrompt({ ...base, commands: { sandboxed: false, allowedCommands: [] } })).toContain('Shell commands are not allowed here');
  });
});

describe('visiblePrograms', () => {
  const left = cleanUpAfterEach();

  it('brings back PATH entries, the installed package and script arguments from hidden places, nothing more', async () => {
    const home = await left.tempDir('ns-home-');
    const modules = join(home, '.nvm', 'lib', 'node_modules');
    const pkg = join(modules, '@acme', 'agent');
    await mkdir(join(pkg, 'dist'), { recursive: true });
    await writeFile(join(pkg, 'dist', 'cli.js'), '', { mode: 0o755 });
    const bin = join(home, '.nvm', 'bin');
    await mkdir(bin);
    await symlink(join(pkg, 'dist', 'cli.js'), join(bin, 'agent'));
    await writeFile(join(home, 'agent.sh'), '');
    const seen = visiblePrograms([join(bin, 'agent'), join(home, 'agent.sh'), '/usr/bin/env'], `${bin}:/usr/bin:${home}`, [home]);
    // HOME itself on PATH is not brought back: that would be all of it.
    // The package's node_modules folder comes whole: its dependencies and platform binaries are siblings.
    expect(seen.sort()).toEqual([bin, join(bin, 'agent'), modules, join(home, 'agent.sh')].sort());
    // A bare name is found on PATH first.
    expect(visiblePrograms(['agent', '--flag'], `/usr/bin:${bin}`, [home]).sort()).toEqual([bin, join(bin, 'agent'), modules].sort());
  });
});
