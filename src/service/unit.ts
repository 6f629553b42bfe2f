import { createHash } from 'node:crypto';
import { basename } from 'node:path';

/** Everything a service definition says, whatever the service manager. */
export interface ServiceSpec {
  /** systemd unit name without `.service`, or the launchd label. */
  name: string;
  /** The checkout the daemon runs in. */
  root: string;
  /** Absolute paths: a service starts with an almost empty PATH, so nothing is looked up. */
  node: string;
  bin: string;
  /** KEY=value lines the daemon starts with (PATH, the executors' API keys); kept by the user. */
  envFile: string;
  /** A user service (`--user`) or a system one, run as `runAs`. */
  scope: 'user' | 'system';
  runAs: string;
  /** How long a stop may take before the service manager kills what is left: rules.md stop_grace plus room to requeue. */
  stopTimeoutSec: number;
  /** launchd has no journal: the daemon's stdout and stderr go here. */
  logFile: string;
}

/** nightshift-<folder>-<hash>: one service per checkout, two checkouts with the same folder name apart. */
export function serviceName(root: string, prefix = 'nightshift-'): string {
  const folder =
    basename(root)
      .replace(/[^A-Za-z0-9_-]+/g, '-')
      .slice(0, 40) || 'repo';
  const hash = createHash('sha256').update(root).digest('hex').slice(0, 8);
  return `${prefix}${folder}-${hash}`;
}

/** One argument of ExecStart=: quoted, with systemd's specifiers (%) and variables ($) kept literal. */
function systemdArg(arg: string): string {
  return `"${arg.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$')}"`;
}

/** A path setting (WorkingDirectory=, EnvironmentFile=): taken whole, only specifiers need escaping. */
function systemdPath(path: string): string {
  return path.replace(/%/g, '%%');
}

/**
 * The systemd unit. Restart=on-failure brings the daemon back after a crash (and recovery then takes back
 * what it was running); exit 2, a configuration error, is not retried: it needs a person. KillMode=mixed
 * sends SIGTERM to the daemon alone, which gives running attempts their grace period and stops their
 * process groups itself; only what is left after TimeoutStopSec is killed by systemd.
 */
export function systemdUnit(s: ServiceSpec): string {
  const system = s.scope === 'system';
  return [
    `# Written by \`nightshift service install${system ? '' : ' --user'}\` for ${s.root}.`,
    '# Remove it with `nightshift service uninstall` in that checkout; edit the environment in the file below.',
    '[Unit]',
    `Description=nightshift queue daemon for ${s.root}`,
    'Documentation=https://github.com/nightshift/nightshift/blob/main/docs/service.md',
    ...(system ? ['Wants=network-online.target', 'After=network-online.target'] : []),
    '',
    '[Service]',
    'Type=simple',
    ...(system ? [`User=${s.runAs}`] : []),
    `WorkingDirectory=${systemdPath(s.root)}`,
    `EnvironmentFile=-${systemdPath(s.envFile)}`,
    `ExecStart=${[s.node, s.bin, 'daemon', 'start'].map(systemdArg).join(' ')}`,
    'Restart=on-failure',
    'RestartSec=10s',
    'RestartPreventExitStatus=2',
    'KillMode=mixed',
    `TimeoutStopSec=${s.stopTimeoutSec}s`,
    '',
    '[Install]',
    `WantedBy=${system ? 'multi-user.target' : 'default.target'}`,
    '',
  ].join('\n');
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * The launchd property list. KeepAlive { SuccessfulExit: false } restarts the daemon only when it exits
 * with an error; node's --env-file reads the same environment file systemd would.
 */
export function launchdPlist(s: ServiceSpec): string {
  const args = [s.node, `--env-file=${s.envFile}`, s.bin, 'daemon', 'start'];
  const str = (v: string) => `<string>${xml(v)}</string>`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    `<!-- Written by nightshift service install for ${xml(s.root).replace(/--/g, '- -')}. -->`,
    '<plist version="1.0">',
    '<dict>',
    `  <key>Label</key>${str(s.name)}`,
    '  <key>ProgramArguments</key>',
    '  <array>',
    ...args.map((a) => `    ${str(a)}`),
    '  </array>',
    `  <key>WorkingDirectory</key>${str(s.root)}`,
    ...(s.scope === 'system' ? [`  <key>UserName</key>${str(s.runAs)}`] : []),
    '  <key>RunAtLoad</key><true/>',
    '  <key>KeepAlive</key>',
    '  <dict><key>SuccessfulExit</key><false/></dict>',
    '  <key>ThrottleInterval</key><integer>10</integer>',
    `  <key>ExitTimeOut</key><integer>${s.stopTimeoutSec}</integer>`,
    `  <key>StandardOutPath</key>${str(s.logFile)}`,
    `  <key>StandardErrorPath</key>${str(s.logFile)}`,
    '</dict>',
    '</plist>',
    '',
  ].join('\n');
}

/** The environment file's first contents: PATH as it is now (where the agent CLIs were found), the rest for the user. */
export function envFileText(root: string, path: string | undefined): string {
  return [
    `# Environment of the nightshift service for ${root}: one KEY=value per line, no quotes needed.`,
    '# The service does not see your shell profile: put here what your executors need, for example',
    '# ANTHROPIC_API_KEY=...   OPENAI_API_KEY=...   GEMINI_API_KEY=...',
    '# This file is only readable by you; nightshift masks these values in its logs.',
    ...(path ? [`PATH=${path.replace(/[\r\n]/g, '')}`] : []),
    '',
  ].join('\n');
}
