import { execFile } from 'node:child_process';
import { oneLine } from '../errors.js';

/** How a systemctl or launchctl call went; `output` is its stdout and stderr together. */
export type ControlResult = { ok: true; output: string } | { ok: false; output: string; reason: string; code?: number };

/** systemctl can wait on a unit that is slow to start; the command should not hang on it. */
const CONTROL_TIMEOUT_MS = 30_000;

/** Runs a service-manager command (no shell); never throws. */
export function runControl(argv: string[], env: NodeJS.ProcessEnv): Promise<ControlResult> {
  const [file, ...args] = argv as [string, ...string[]];
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: CONTROL_TIMEOUT_MS, encoding: 'utf8' }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim();
      if (!error) return resolve({ ok: true, output });
      const code = typeof error.code === 'number' ? error.code : undefined;
      const reason =
        error.code === 'ENOENT'
          ? `${file} is not installed`
          : oneLine(stderr.trim().split('\n').at(-1) || error.message, 200) || `exit ${code}`;
      resolve({ ok: false, output, reason, code });
    });
  });
}
