import { describe, expect, it } from 'vitest';
import { serviceManager, type ServiceHost } from '../../src/service/manager.js';
import { serviceName, systemdUnit, type ServiceSpec } from '../../src/service/unit.js';

const host = (platform: NodeJS.Platform): ServiceHost => ({
  platform,
  env: { HOME: '/home/ada', PATH: '/opt/node/bin:/usr/bin' },
  uid: 501,
  username: 'ada',
});
const opts = (user: boolean) => ({
  root: '/work/my app',
  node: '/opt/node/bin/node',
  bin: '/opt/ns/bin/nightshift.js',
  user,
  stopTimeoutSec: 40,
  stateDir: '/work/my app/.nightshift',
});

describe('service definitions', () => {
  it('a user unit for systemd: restart on failure, working directory, environment file, absolute paths', () => {
    const m = serviceManager(host('linux'), opts(true));
    const name = serviceName('/work/my app');
    expect(name).toMatch(/^nightshift-my-app-[0-9a-f]{8}$/);
    expect(m).toMatchObject({
      kind: 'systemd',
      name: `${name}.service`,
      file: `/home/ada/.config/systemd/user/${name}.service`,
      envFile: '/work/my app/.nightshift/service.env',
      enable: [
        ['systemctl', '--user', 'daemon-reload'],
        ['systemctl', '--user', 'enable', '--now', `${name}.service`],
      ],
    });
    const lines = m?.text.split('\n') ?? [];
    for (const line of [
      'WorkingDirectory=/work/my app',
      'EnvironmentFile=-/work/my app/.nightshift/service.env',
      'ExecStart="/opt/node/bin/node" "/opt/ns/bin/nightshift.js" "daemon" "start"',
      'Restart=on-failure',
      'RestartPreventExitStatus=2',
      'KillMode=mixed',
      'TimeoutStopSec=40s',
      'WantedBy=default.target',
    ])
      expect(lines).toContain(line);
    expect(lines.some((l) => l.startsWith('User='))).toBe(false);
    expect(m?.envText).toMatch(/^PATH=\/opt\/node\/bin:\/usr\/bin$/m);
  });

  it('a system unit runs as the installing user, after the network, from multi-user.target', () => {
    const m = serviceManager({ ...host('linux'), env: { HOME: '/home/ada', XDG_CONFIG_HOME: '/x' } }, opts(false));
    expect(m?.file).toBe(`/etc/systemd/system/${serviceName('/work/my app')}.service`);
    expect(m?.enable[1]).toEqual(['systemctl', 'enable', '--now', m?.name]);
    const lines = m?.text.split('\n') ?? [];
    for (const line of ['User=ada', 'After=network-online.target', 'WantedBy=multi-user.target']) expect(lines).toContain(line);
  });

  it("keeps systemd's specifiers, variables and quotes literal in paths", () => {
    const spec: ServiceSpec = {
      name: 'n',
      root: '/w/100%',
      node: '/o/"node"',
      bin: '/b/$HOME\\x',
      envFile: '/w/100%/.nightshift/service.env',
      scope: 'user',
      runAs: 'ada',
      stopTimeoutSec: 40,
      logFile: '/l',
    };
    const text = systemdUnit(spec);
    expect(text).toContain('WorkingDirectory=/w/100%%\n');
    expect(text).toContain('EnvironmentFile=-/w/100%%/.nightshift/service.env\n');
    expect(text).toContain('ExecStart="/o/\\"node\\"" "/b/$$HOME\\\\x" "daemon" "start"\n');
  });

  it('a launchd agent on macOS: restarted when it fails, environment through node --env-file, XML escaped', () => {
    const m = serviceManager(host('darwin'), { ...opts(true), root: '/Users/ada/R&D', stateDir: '/Users/ada/R&D/.nightshift' });
    const label = serviceName('/Users/ada/R&D', 'dev.nightshift.');
    expect(m).toMatchObject({
      kind: 'launchd',
      name: label,
      file: `/home/ada/Library/LaunchAgents/${label}.plist`,
      enable: [['launchctl', 'bootstrap', 'gui/501', `/home/ada/Library/LaunchAgents/${label}.plist`]],
      disable: [['launchctl', 'bootout', `gui/501/${label}`]],
    });
    const text = m?.text ?? '';
    expect(text).toContain(`<key>Label</key><string>${label}</string>`);
    expect(text).toContain('<string>--env-file=/Users/ada/R&amp;D/.nightshift/service.env</string>');
    expect(text).toContain('<key>WorkingDirectory</key><string>/Users/ada/R&amp;D</string>');
    expect(text).toContain('<dict><key>SuccessfulExit</key><false/></dict>');
    expect(text).not.toMatch(/R&D/);
    const system = serviceManager(host('darwin'), opts(false));
    expect(system?.file).toMatch(/^\/Library\/LaunchDaemons\/dev\.nightshift\./);
    expect(system?.text).toContain('<key>UserName</key><string>ada</string>');
  });

  it('no service manager on Windows', () => {
    expect(serviceManager(host('win32'), opts(true))).toBeUndefined();
  });
});
