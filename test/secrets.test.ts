import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { looksSecret, maskFile, secretMasker, secretValues } from '../src/util/secrets.js';

describe('secret-looking names', () => {
  it.each<[string, boolean]>([
    ['OPENAI_API_KEY', true],
    ['ANTHROPIC_API_KEY', true],
    ['GITHUB_TOKEN', true],
    ['MY_API_TOKEN', true],
    ['CLIENT_SECRET', true],
    ['SECRETS_FILE', true],
    ['DB_PASSWORD', true],
    ['PGPASSWORD', true],
    ['github_token', true],
    ['PATH', false],
    ['HOME', false],
    ['KEYBOARD', false],
    ['TOKENIZER_PATH', false],
    ['KEY_FILE', false],
  ])('%s -> %s', (name, expected) => {
    expect(looksSecret(name)).toBe(expected);
  });
});

describe('secretMasker', () => {
  const env = { MY_API_TOKEN: 'tok-123456789', DB_PASSWORD: 'hunter2hunter2', SHORT_KEY: 'abc', EMPTY_TOKEN: '', PATH: '/usr/bin:/bin', LONG_SECRET: 'tok-123456789-and-more' };

  it('lists values of secret-looking variables, long enough, longest first', () => {
    expect(secretValues(env)).toEqual(['tok-123456789-and-more', 'hunter2hunter2', 'tok-123456789']);
  });

  it('masks every occurrence, a longer secret whole, and leaves the rest', () => {
    const mask = secretMasker(env);
    expect(mask('token tok-123456789 twice tok-123456789; long tok-123456789-and-more; pw=hunter2hunter2; abc /usr/bin:/bin')).toBe(
      'token *** twice ***; long ***; pw=***; abc /usr/bin:/bin',
    );
  });

  it('is the identity without secrets', () => {
    const mask = secretMasker({ PATH: '/bin' });
    expect(mask('nothing tok-123456789')).toBe('nothing tok-123456789');
  });
});

describe('maskFile', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });
  const env = { MY_API_TOKEN: 'tok-123456789' };

  it('rewrites a transcript with secrets masked, keeping every other byte and the final newline', async () => {
    dir = await mkdtemp(join(tmpdir(), 'nightshift-mask-'));
    const file = join(dir, '1.log');
    await writeFile(file, 'first line\r\nthe token is tok-123456789\n\nlast tok-123456789 line\n');
    await maskFile(file, secretMasker(env), secretValues(env));
    expect(await readFile(file, 'utf8')).toBe('first line\nthe token is ***\n\nlast *** line\n');
  });

  it('leaves a file without secrets untouched, and a missing file alone', async () => {
    dir = await mkdtemp(join(tmpdir(), 'nightshift-mask-'));
    const file = join(dir, '1.log');
    await writeFile(file, 'plain\r\nno final newline');
    await maskFile(file, secretMasker(env), secretValues(env));
    expect(await readFile(file, 'utf8')).toBe('plain\r\nno final newline');
    await expect(maskFile(join(dir, 'missing.log'), secretMasker(env), secretValues(env))).resolves.toBeUndefined();
  });
});
