import { describe, expect, it } from 'vitest';
import { openGit } from '../../src/git/git.js';
import { guardSecrets } from '../../src/run/secretGuard.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';

const ENV = { GITHUB_TOKEN: 'ghp_m3gFmqJ6fCS3ODl6Vg8zoGWwe47e8fEKFaQO', DB_PASSWORD: 'hunter2hunter2', HOME: '/home/me' };
const OTHER_TOKEN = 'ghp_Li9DWnVwOuQEGfzOHVXCVIEUDJnjixICMMXg';

describe('guardSecrets (real git)', () => {
  const left = cleanUpAfterEach();

  async function staged(files: Record<string, string | Buffer>, base: Record<string, string> = {}): Promise<string[]> {
    const sb = await left.sandbox({ files: base });
    const head = (await sb.git(['rev-parse', 'HEAD'])).trim();
    for (const [path, text] of Object.entries(files)) await sb.write(path, text);
    await sb.git(['add', '--all']);
    return guardSecrets(openGit(sb.repo), head, ENV);
  }

  it('passes an ordinary change', async () => {
    expect(
      await staged({ 'src/a.ts': 'export const a = 1;\n', 'README.md': '# readme\nconnect with postgres://user:password@localhost/db\n' }),
    ).toEqual([]);
  });

  it('names the variables and the files, text or binary, never the values', async () => {
    const dump = `HOME=/home/me\nGITHUB_TOKEN=${ENV.GITHUB_TOKEN}\nDB_PASSWORD=${ENV.DB_PASSWORD}\n`;
    expect(
      await staged({ 'env.txt': dump, 'env.bin': Buffer.from(dump.replace(/\n/g, '\0')), 'one.txt': `pw ${ENV.DB_PASSWORD}\n` }),
    ).toEqual([
      'secrets: the change contains the values of $DB_PASSWORD, $GITHUB_TOKEN in env.bin, env.txt and the value of $DB_PASSWORD in one.txt',
    ]);
  });

  it('finds a value split across two pieces of a large file', async () => {
    // cat-file hands over 64 KiB pieces: the secret sits across the first boundary.
    const big = `${'a'.repeat(65536 - 5)}${ENV.DB_PASSWORD}${'b'.repeat(300_000)}`;
    expect(await staged({ 'big.txt': big })).toEqual(['secrets: the change contains the value of $DB_PASSWORD in big.txt']);
  });

  it('refuses a real-looking token of a known shape, but not a placeholder or one the file already held', async () => {
    const base = { 'docs/aws.md': 'Example: AKIAIOSFODNN7EXAMPLE\n', 'config.txt': `token=${OTHER_TOKEN}\n` };
    expect(
      await staged(
        {
          'docs/aws.md': 'Example: AKIAIOSFODNN7EXAMPLE\nmore\n',
          'config.txt': `token=${OTHER_TOKEN}\nmore\n`,
          'fixture.ts': `const t = 'ghp_${'x'.repeat(36)}';\n`,
        },
        base,
      ),
    ).toEqual([]);
    expect(
      await staged({
        'cfg.txt': `token=${OTHER_TOKEN}\n`,
        'deploy.pem':
          '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n',
      }),
    ).toEqual(['secrets: the change contains a GitHub token in cfg.txt and a private key in deploy.pem']);
  });
});
