import { execFile, spawn } from 'node:child_process';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { installService, serviceStatus, uninstallService } from '../../src/commands/service.js';
import { realHost } from '../../src/service/manager.js';
import { serviceName } from '../../src/service/unit.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { progressEvents, taskText, type CliResult, type Sandbox } from '../helpers/repo.js';
import { readTask } from '../helpers/task.js';
import { waitFor } from '../helpers/wait.js';

const left = cleanUpAfterEach();
const execFileP = promisify(execFile);

/** The settings of a unit file, by key (a key given twice keeps its last value). */
function unitSettings(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) out[m[1] as string] = m[2] as string;
  }
  return out;
}

/** ExecStart= split the way systemd splits it: double-quoted words, \\ and \" escapes, $$ and %% undoubled. */
function execStartArgv(value: string): string[] {
  return [...value.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) =>
    (m[1] ?? m[2] ?? '').replace(/\\(.)/g, '$1').replace(/\$\$/g, '$').replace(/%%/g, '%'),
  );
}

/** A systemctl that records its arguments and succeeds: stands in where the test machine has no systemd. */
async function recordingSystemctl(sb: Sandbox): Promise<{ env: NodeJS.ProcessEnv; calls: () => Promise<string[]> }> {
  const bin = join(sb.dir, 'bin');
  const log = join(sb.dir, 'systemctl.log');
  await mkdir(bin);
  await writeFile(join(bin, 'systemctl'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\n`);
  await chmod(join(bin, 'systemctl'), 0o755);
  return {
    env: { ...sb.env, PATH: `${bin}:${sb.env.PATH ?? ''}` },
    calls: async () => (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean),
  };
}

/** Whether this machine's user systemd answers (it does not in most containers). */
async function userSystemdRuns(): Promise<boolean> {
  try {
    const { stdout } = await execFileP('systemctl', ['--user', 'is-system-running'], { timeout: 10_000 });
    return /running|degraded/.test(stdout);
  } catch (err) {
    return /running|degraded/.test(String((err as { stdout?: string }).stdout ?? ''));
  }
}

describe('nightshift service', () => {
  it('install --user writes a unit whose command really runs the daemon, enables it; status and uninstall', async () => {
    const sb = await left.sandbox('---\nstop_grace: 5s\n---\n');
    const systemctl = await recordingSystemctl(sb);
    const name = `${serviceName(sb.repo)}.service`;
    const unitFile = join(sb.dir, 'home', '.config', 'systemd', 'user', name);

    const r = await sb.cli(['service', 'install', '--user'], { env: systemctl.env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`unit: ${unitFile}\n`);
    expect(r.stdout).toContain(`nightshift: ${name} installed and started`);
    expect(r.stdout).toContain('loginctl enable-linger');
    expect(await systemctl.calls()).toEqual(['--user daemon-reload', `--user enable --now ${name}`]);

    const unit = unitSettings(await readFile(unitFile, 'utf8'));
    const envFile = join(sb.repo, '.nightshift', 'service.env');
    expect(unit).toMatchObject({
      Type: 'simple',
      WorkingDirectory: sb.repo,
      EnvironmentFile: `-${envFile}`,
      Restart: 'on-failure',
      KillMode: 'mixed',
      TimeoutStopSec: '35s',
      WantedBy: 'default.target',
    });
    // Only the user may read the environment file: API keys go there.
    expect((await stat(envFile)).mode & 0o777).toBe(0o600);
    const envLines = (await readFile(envFile, 'utf8')).split('\n').filter((l) => /^[A-Z_]+=/.test(l));
    expect(envLines).toEqual([`PATH=${systemctl.env.PATH}`]);

    // What systemd would run: ExecStart= in WorkingDirectory= with EnvironmentFile='s variables, then SIGTERM to stop.
    const argv = execStartArgv(unit.ExecStart ?? '');
    expect(argv.slice(0, 1)).toEqual([process.execPath]);
    expect(argv.slice(2)).toEqual(['daemon', 'start']);
    await sb.write('tasks/001-hello.md', taskText({ title: 'Hello', run: 'echo hi > hi.txt' }));
    const env = {
      HOME: sb.env.HOME,
      XDG_CACHE_HOME: sb.env.XDG_CACHE_HOME,
      ...Object.fromEntries(envLines.map((l) => l.split(/=(.*)/s, 2))),
    };
    const daemon = spawn(argv[0] as string, argv.slice(1), { cwd: unit.WorkingDirectory, env, stdio: 'ignore' });
    left.pids.push(daemon.pid as number);
    const exited = new Promise<number | null>((resolve) => daemon.on('exit', (code) => resolve(code)));
    await waitFor('the task done by the service', async () => (await readTask(sb, '001-hello')).fm.status === 'done', 60_000);
    daemon.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(progressEvents(await sb.read('progress.txt')).map((e) => e.event)).toContain('daemon-stop');

    // The rest in-process (the same functions the CLI calls), with the sandbox's environment as the host's.
    const host = { ...realHost(), env: systemctl.env };
    const cmd = async (fn: typeof serviceStatus) => {
      let stdout = '';
      const code = await fn({ cwd: sb.repo, user: true, host }, { out: (t) => void (stdout += t), err: (t) => void (stdout += t) });
      return { code, stdout };
    };
    const status = await cmd(serviceStatus);
    expect(status.stdout).toContain(`installed: ${unitFile} (user unit ${name})`);
    expect(status.code).toBe(0);

    // The environment file is the user's: a second install keeps what they wrote.
    await writeFile(envFile, 'PATH=/usr/bin\nANTHROPIC_API_KEY=mine\n');
    expect((await cmd(installService)).stdout).toContain('(kept as it is)');
    expect(await readFile(envFile, 'utf8')).toBe('PATH=/usr/bin\nANTHROPIC_API_KEY=mine\n');

    const un = await cmd(uninstallService);
    expect(un.code).toBe(0);
    expect(un.stdout).toContain(`removed ${unitFile}`);
    await expect(stat(unitFile)).rejects.toThrow(/ENOENT/);
    expect(await readFile(envFile, 'utf8')).toContain('ANTHROPIC_API_KEY=mine');
    expect((await systemctl.calls()).slice(-3)).toEqual([
      `--user enable --now ${name}`,
      `--user disable --now ${name}`,
      '--user daemon-reload',
    ]);
    expect((await cmd(serviceStatus)).stdout).toContain('not installed');
  });

  it("with this machine's own systemd: started where it runs, printed with the steps by hand where it cannot be reached", async () => {
    const sb = await left.sandbox('---\n---\n');
    if (await userSystemdRuns()) {
      // The user manager reads units from the real user's folders: install there, and take it away after.
      const env = { ...process.env, XDG_CACHE_HOME: sb.env.XDG_CACHE_HOME };
      left.defer(() => sb.cli(['service', 'uninstall'], { env }));
      const r = await sb.cli(['service', 'install', '--user'], { env });
      expect(r.code).toBe(0);
      const name = `${serviceName(sb.repo)}.service`;
      await waitFor(
        'the service active',
        async () => (await execFileP('systemctl', ['--user', 'is-active', name]).catch(() => ({ stdout: '' }))).stdout.trim() === 'active',
        30_000,
      );
      await waitFor(
        'daemon-start in progress.txt',
        async () => (await sb.read('progress.txt').catch(() => '')).includes('daemon-start'),
        30_000,
      );
      return;
    }
    const r: CliResult = await sb.cli(['service', 'install', '--user']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/nightshift: systemd could not be reached \(systemctl --user daemon-reload: .+\)/);
    const name = `${serviceName(sb.repo)}.service`;
    const unitFile = join(sb.dir, 'home', '.config', 'systemd', 'user', name);
    expect(r.stdout).toContain(`It is written to ${unitFile}. The unit:`);
    expect(r.stdout).toContain(await readFile(unitFile, 'utf8'));
    expect(r.stdout).toContain(`Then, where systemd runs:\n  systemctl --user daemon-reload\n  systemctl --user enable --now ${name}\n`);
  });
});
