import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRules } from '../config/rules.js';
import { UsageError, hasCode, toError } from '../errors.js';
import { runControl } from '../service/control.js';
import { realHost, serviceManager, type ServiceHost, type ServiceManager } from '../service/manager.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { Output } from './output.js';
import { openRepo } from './repo.js';

const BIN = fileURLToPath(new URL('../../bin/nightshift.js', import.meta.url));
/** Beyond stop_grace: requeueing what was running and the last notifications. */
const STOP_ROOM_SEC = 30;

export interface ServiceOptions {
  cwd: string;
  user?: boolean;
  host?: ServiceHost;
}

async function managerFor(opts: ServiceOptions, user: boolean): Promise<ServiceManager> {
  const paths = await openRepo(opts.cwd);
  const rules = await loadRules(paths.rules);
  const node = process.execPath;
  for (const [what, p] of [
    ['the checkout', paths.root],
    ['node', node],
    ['nightshift', BIN],
  ] as const) {
    if (/[\r\n]/.test(p))
      throw new UsageError(`the path of ${what} holds a line break: ${JSON.stringify(p)}`, 'a service definition cannot name it; move it');
  }
  const host = opts.host ?? realHost();
  const manager = serviceManager(host, {
    root: paths.root,
    node,
    bin: BIN,
    user,
    stopTimeoutSec: Math.ceil(rules.stopGraceMs / 1000) + STOP_ROOM_SEC,
    stateDir: paths.state,
  });
  if (!manager) {
    throw new UsageError(
      `nightshift service needs systemd (Linux) or launchd (macOS); this is ${host.platform}`,
      "start `nightshift daemon start --detach` from your system's own start-up instead",
    );
  }
  return manager;
}

/**
 * `service install [--user]`: writes the unit (or launchd agent) and an environment file it reads, then
 * loads and starts it. Where the service manager cannot be reached (no systemd in a container, no root for
 * a system unit) it prints the definition and the commands to install it by hand, and exits 1.
 */
export async function installService(opts: ServiceOptions, io: Output): Promise<number> {
  const m = await managerFor(opts, !!opts.user);
  const env = (opts.host ?? realHost()).env;
  await mkdir(dirname(m.envFile), { recursive: true });
  // The user's own file (their API keys) is never replaced.
  const envNew = await writeFile(m.envFile, m.envText, { flag: 'wx', mode: 0o600 }).then(
    () => true,
    (err: unknown) => {
      if (hasCode(err, 'EEXIST')) return false;
      throw err;
    },
  );
  io.out(`environment: ${m.envFile} (${envNew ? 'new: add the API keys your executors need' : 'kept as it is'})\n`);
  try {
    await mkdir(dirname(m.file), { recursive: true });
    await writeFileAtomic(m.file, m.text);
  } catch (err) {
    if (!hasCode(err, 'EACCES') && !hasCode(err, 'EPERM') && !hasCode(err, 'EROFS')) throw err;
    io.err(`nightshift: cannot write ${m.file}: ${toError(err).message}\n`);
    printByHand(m, io, { written: false });
    return 1;
  }
  io.out(`${m.kind === 'systemd' ? 'unit' : 'agent'}: ${m.file}\n`);
  for (const [i, argv] of m.enable.entries()) {
    const r = await runControl(argv, env);
    if (r.ok) continue;
    // The first command only talks to the manager; a later one failing means it answered and refused.
    if (i === 0) io.err(`nightshift: ${m.kind} could not be reached (${argv.join(' ')}: ${r.reason})\n`);
    else io.err(`nightshift: ${argv.join(' ')} failed: ${r.reason}\n`);
    printByHand(m, io, { written: true });
    return 1;
  }
  io.out(`nightshift: ${m.name} installed and started; it starts again after a crash or a reboot\n`);
  if (m.kind === 'systemd') {
    const user = opts.user ? ' --user' : '';
    io.out(`  status: nightshift service status   log: journalctl${user} -u ${m.name}   progress: nightshift tail -f\n`);
    if (opts.user) io.out(`  to start at boot before you log in: loginctl enable-linger ${(opts.host ?? realHost()).username}\n`);
  } else io.out(`  status: nightshift service status   progress: nightshift tail -f\n`);
  return 0;
}

function printByHand(m: ServiceManager, io: Output, state: { written: boolean }): void {
  const save = state.written
    ? `It is written to ${m.file}.`
    : `Save it as ${m.file} (as root if it is a system ${m.kind === 'systemd' ? 'unit' : 'daemon'}).`;
  io.out(`\n${save} The ${m.kind === 'systemd' ? 'unit' : 'launchd agent'}:\n\n${m.text}\n`);
  io.out(`Then, where ${m.kind} runs:\n${m.enable.map((a) => `  ${a.join(' ')}\n`).join('')}`);
}

/** `service uninstall`: stops and disables the service, removes its definition; the environment file stays. */
export async function uninstallService(opts: ServiceOptions, io: Output): Promise<number> {
  const env = (opts.host ?? realHost()).env;
  let found = 0;
  let failed = 0;
  for (const user of [true, false]) {
    const m = await managerFor(opts, user);
    if (!(await exists(m.file))) continue;
    found++;
    // Stopped and disabled while its file is still there; a manager that cannot be reached has nothing running.
    const report = async (argvs: string[][]) => {
      for (const argv of argvs) {
        const r = await runControl(argv, env);
        if (r.ok || /not loaded|does not exist|no such file|not found|could not find/i.test(r.output)) continue;
        failed++;
        io.err(`nightshift: ${argv.join(' ')}: ${r.reason}\n`);
      }
    };
    await report(m.disable);
    try {
      await rm(m.file, { force: true });
    } catch (err) {
      failed++;
      io.err(`nightshift: cannot remove ${m.file}: ${toError(err).message} (a system ${m.kind} service needs root)\n`);
      continue;
    }
    await report(m.afterRemove);
    io.out(`nightshift: removed ${m.file}; ${m.envFile} is kept (delete it by hand if you no longer need it)\n`);
  }
  if (found === 0) io.out('nightshift: no service is installed for this checkout\n');
  return failed > 0 ? 1 : 0;
}

/** `service status`: which definition is installed, and what the service manager says of it. Exit 0 = running. */
export async function serviceStatus(opts: ServiceOptions, io: Output): Promise<number> {
  const env = (opts.host ?? realHost()).env;
  let code = 1;
  let found = false;
  for (const user of [true, false]) {
    const m = await managerFor(opts, user);
    if (
      !(await access(m.file).then(
        () => true,
        () => false,
      ))
    )
      continue;
    found = true;
    io.out(`installed: ${m.file} (${user ? 'user' : 'system'} ${m.kind === 'systemd' ? 'unit' : 'agent'} ${m.name})\n`);
    const r = await runControl(m.status, env);
    if (r.output) io.out(`${r.output}\n`);
    if (r.ok) code = 0;
    else if (r.code === undefined || !r.output) io.out(`${m.kind} could not be reached: ${r.reason}\n`);
  }
  if (!found) io.out('not installed: run nightshift service install --user (or as root without --user)\n');
  return code;
}

function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
