import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { envFileText, launchdPlist, serviceName, systemdUnit, type ServiceSpec } from './unit.js';

/** Where this machine's service manager keeps definitions, and the commands that load and unload one. */
export interface ServiceManager {
  kind: 'systemd' | 'launchd';
  /** What `status` and the messages call the service. */
  name: string;
  file: string;
  text: string;
  envFile: string;
  envText: string;
  /** Run in order after the file is written; the first that fails stops the rest. */
  enable: string[][];
  /** Run before the file is removed; failures are reported, the removal goes on. */
  disable: string[][];
  status: string[];
  /** Run after the file is gone (systemd forgets it). */
  afterRemove: string[][];
}

/** The machine, as far as installing a service goes; the CLI passes the real one, tests their sandbox's. */
export interface ServiceHost {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  uid: number;
  username: string;
}

export function realHost(): ServiceHost {
  return { platform: process.platform, env: process.env, uid: process.getuid?.() ?? -1, username: userInfo().username };
}

/** The service for one checkout on this host, or undefined where neither systemd nor launchd exists (Windows). */
export function serviceManager(
  host: ServiceHost,
  opts: { root: string; node: string; bin: string; user: boolean; stopTimeoutSec: number; stateDir: string },
): ServiceManager | undefined {
  const home = host.env.HOME || homedir();
  const scope = opts.user ? 'user' : 'system';
  const envFile = join(opts.stateDir, 'service.env');
  const spec = (name: string): ServiceSpec => ({
    name,
    root: opts.root,
    node: opts.node,
    bin: opts.bin,
    envFile,
    scope,
    runAs: host.username,
    stopTimeoutSec: opts.stopTimeoutSec,
    logFile: join(opts.stateDir, 'service.log'),
  });
  const envText = envFileText(opts.root, host.env.PATH);
  if (host.platform === 'darwin') {
    const label = serviceName(opts.root, 'dev.nightshift.');
    const domain = opts.user ? `gui/${host.uid}` : 'system';
    const file = opts.user ? join(home, 'Library', 'LaunchAgents', `${label}.plist`) : join('/Library/LaunchDaemons', `${label}.plist`);
    return {
      kind: 'launchd',
      name: label,
      file,
      text: launchdPlist(spec(label)),
      envFile,
      envText,
      enable: [['launchctl', 'bootstrap', domain, file]],
      disable: [['launchctl', 'bootout', `${domain}/${label}`]],
      status: ['launchctl', 'print', `${domain}/${label}`],
      afterRemove: [],
    };
  }
  if (host.platform === 'win32') return undefined;
  const name = serviceName(opts.root);
  const unit = `${name}.service`;
  const configHome = host.env.XDG_CONFIG_HOME || join(home, '.config');
  const systemctl = opts.user ? ['systemctl', '--user'] : ['systemctl'];
  return {
    kind: 'systemd',
    name: unit,
    file: opts.user ? join(configHome, 'systemd', 'user', unit) : join('/etc/systemd/system', unit),
    text: systemdUnit(spec(name)),
    envFile,
    envText,
    enable: [
      [...systemctl, 'daemon-reload'],
      [...systemctl, 'enable', '--now', unit],
    ],
    disable: [[...systemctl, 'disable', '--now', unit]],
    status: [...systemctl, 'status', '--no-pager', '--lines=5', unit],
    afterRemove: [[...systemctl, 'daemon-reload']],
  };
}
