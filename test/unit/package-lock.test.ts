import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface LockEntry {
  version?: string;
  optionalDependencies?: Record<string, string>;
}

/**
 * `npm ci` (what CI runs) refuses a lock file that lacks an entry for any optional dependency, even one
 * for another platform. The registry this project is built against does not serve every platform build
 * of the agent CLIs (opencode-ai's darwin and windows binaries return 404), and `npm install` then drops
 * them from the lock without a word: the next CI run fails in three seconds. This catches it first.
 */
describe('package-lock.json', () => {
  it('lists every optional dependency of every locked package, so `npm ci` accepts it', () => {
    const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8')) as {
      packages: Record<string, LockEntry>;
    };
    const missing: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      for (const name of Object.keys(entry.optionalDependencies ?? {})) {
        const nested = `${path}/node_modules/${name}`;
        if (!lock.packages[nested] && !lock.packages[`node_modules/${name}`]) missing.push(`${name} (for ${path})`);
      }
    }
    expect(missing, 'add the missing entries (version, os, cpu, optional: true) to package-lock.json by hand').toEqual([]);
  });
});
