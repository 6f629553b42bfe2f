import type { FrontmatterFields } from './fields.js';
import type { Rules } from './types.js';

/** An environment variable's name, or a prefix ending in `*` (`MY_TOOL_*`). */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*\*?$/;

/**
 * rules.md's `sandbox:` (auto | bwrap | none), `sandbox_network:` (on | none) and `sandbox_env:` (more
 * variable names let into the sandbox). See docs/sandbox.md.
 */
export function readSandbox(fields: FrontmatterFields, rules: Rules, problems: string[]): void {
  const { fm } = fields;
  if (fields.has('sandbox')) {
    const mode = fm.sandbox === false ? 'none' : fm.sandbox;
    if (mode === 'auto' || mode === 'bwrap' || mode === 'none') rules.sandbox = mode;
    else problems.push(`sandbox must be auto, bwrap or none, got ${JSON.stringify(fm.sandbox)} (auto uses bubblewrap where it works)`);
  }
  if (fields.has('sandbox_network')) {
    const net = fm.sandbox_network === false ? 'none' : fm.sandbox_network === true ? 'on' : fm.sandbox_network;
    if (net === 'on' || net === 'none') rules.sandboxNetwork = net;
    else problems.push(`sandbox_network must be on or none, got ${JSON.stringify(fm.sandbox_network)}`);
  }
  const names = fields.names('sandbox_env');
  if (names) {
    const bad = names.filter((n) => !ENV_NAME.test(n));
    if (bad.length > 0) {
      problems.push(
        `sandbox_env: ${bad.map((b) => JSON.stringify(b)).join(', ')} is not a variable name; write names like [MY_TOKEN, MY_TOOL_*]`,
      );
    } else rules.sandboxEnv = names;
  }
}
