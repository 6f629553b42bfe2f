import { describe, expect, it } from 'vitest';
import { asLatin1, envSecrets, looksSecret, maskText, secretMasker, secretValues, unsafeSuffix } from '../../src/util/secrets.js';
import { isPlaceholder } from '../../src/util/tokenShapes.js';

describe('secret-looking names', () => {
  it.each<[string, boolean]>([
    ['OPENAI_API_KEY', true],
    ['ANTHROPIC_API_KEY', true],
    ['GITHUB_TOKEN', true],
    ['MY_API_TOKEN', true],
    ['CLIENT_SECRET', true],
    ['SECRETS_FILE', false],
    ['DB_PASSWORD', true],
    ['PGPASSWORD', true],
    ['github_token', true],
    ['PATH', false],
    ['HOME', false],
    ['KEYBOARD', false],
    ['TOKENIZER_PATH', false],
    ['KEY_FILE', false],
    ['AWS_ACCESS_KEY_ID', true],
    ['AWS_SECRET_ACCESS_KEY', true],
    ['AWS_SESSION_TOKEN', true],
    ['GITHUB_PAT', true],
    ['GH_PAT_CI', true],
    ['NPM_CONFIG__AUTH', true],
    ['BASIC_AUTH', true],
    ['OAUTH_CLIENT', true],
    ['HTTP_AUTHORIZATION', true],
    ['GOOGLE_APPLICATION_CREDENTIALS', true],
    ['MYSQL_PWD', true],
    ['SMTP_PASS', true],
    ['SSH_PASSPHRASE', true],
    ['SENTRY_DSN', true],
    ['NGROK_AUTHTOKEN', true],
    ['OPENAI_APIKEY', true],
    ['AZURE_STORAGE_CONNECTION_STRING', true],
    ['SESSION_COOKIE', true],
    ['PWD', false],
    ['OLDPWD', false],
    ['GIT_AUTHOR_NAME', false],
    ['GIT_AUTHOR_EMAIL', false],
    ['XAUTHORITY', false],
    ['SSH_AUTH_SOCK', false],
    ['GIT_ASKPASS', false],
    ['AUTH_TYPE', false],
    ['TOKEN_URL', false],
    ['MAX_TOKENS', false],
    ['PATH_PATTERN', false],
    ['DATABASE_URL', false],
  ])('%s -> %s', (name, expected) => {
    expect(looksSecret(name)).toBe(expected);
  });
});

describe('secretMasker', () => {
  const env = {
    MY_API_TOKEN: 'tok-123456789',
    DB_PASSWORD: 'hunter2hunter2',
    SHORT_KEY: 'abc',
    EMPTY_TOKEN: '',
    PATH: '/usr/bin:/bin',
    LONG_SECRET: 'tok-123456789-and-more',
  };

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

describe('secrets by value', () => {
  it('masks the password of any URL with credentials, and values shaped like tokens whatever their name', () => {
    const env = {
      DATABASE_URL: 'postgres://app:Pg-s3cret-9f8e7d@db.internal:5432/app',
      REDIS_URL: 'redis://:p%40ssw0rd-long@cache/0',
      GH_ENTERPRISE: 'ghp_m3gFmqJ6fCS3ODl6Vg8zoGWwe47e8fEKFaQO',
      HOME: '/home/me',
    };
    expect(envSecrets(env)).toEqual([
      { name: 'GH_ENTERPRISE', value: 'ghp_m3gFmqJ6fCS3ODl6Vg8zoGWwe47e8fEKFaQO' },
      { name: 'DATABASE_URL', value: 'Pg-s3cret-9f8e7d' },
      { name: 'REDIS_URL', value: 'p%40ssw0rd-long' },
      { name: 'REDIS_URL', value: 'p@ssw0rd-long' },
    ]);
    const mask = secretMasker(env);
    expect(mask('connecting to postgres://app:Pg-s3cret-9f8e7d@db.internal:5432/app (password Pg-s3cret-9f8e7d)')).toBe(
      'connecting to postgres://app:***@db.internal:5432/app (password ***)',
    );
  });

  it('masks each line of a multi-line value but never its armour lines, and the value as JSON escapes it', () => {
    const pem =
      '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oLQ/b4TTOKx9oAoGCCqGSM49\nAwEHoUQDQgAEYmQ==\n-----END EC PRIVATE KEY-----\n';
    const values = secretValues({ TLS_KEY: pem, API_TOKEN: 'say "hi"\tnow' });
    expect(values).toContain('MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oLQ/b4TTOKx9oAoGCCqGSM49');
    expect(values).toContain('AwEHoUQDQgAEYmQ==');
    expect(values).not.toContain('-----BEGIN EC PRIVATE KEY-----');
    expect(values).not.toContain('-----END EC PRIVATE KEY-----');
    expect(values).toContain('say \\"hi\\"\\tnow');
    expect(secretMasker({ API_TOKEN: 'say "hi"\tnow' })('{"msg":"say \\"hi\\"\\tnow"}')).toBe('{"msg":"***"}');
  });
});

describe('token shapes in any output', () => {
  it.each<[string, string, string]>([
    ['GitHub classic', 'push with ghp_m3gFmqJ6fCS3ODl6Vg8zoGWwe47e8fEKFaQO now', 'push with *** now'],
    ['GitHub fine-grained', 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEF', '***'],
    ['GitHub app', 'ghs_Q2w3E4r5T6y7U8i9O0pAsDfGhJkLzXcVbN12', '***'],
    ['Anthropic', 'key=sk-ant-api03-Zx9_Yw8-Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa', 'key=***'],
    ['OpenAI project', 'OPENAI sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0fGh3iJk', 'OPENAI ***'],
    ['AWS key id', 'id AKIAF7JKNDWOFEQ74NPM.', 'id ***.'],
    ['AWS session key id', 'ASIAZ7QW3ER5TY8UI2OP', '***'],
    ['Slack', 'xoxb-1234567890-abcdefABCDEF', '***'],
    ['GitLab', 'glpat-Zx9Yw8Vu7Ts6Rq5Po4Nm', '***'],
    ['Google', 'AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q', '***'],
    ['npm', 'npm_Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa', '***'],
    ['URL credentials', 'git clone https://bot:hunter2@example.com/x.git', 'git clone https://bot:***@example.com/x.git'],
  ])('%s', (_kind, text, expected) => {
    expect(maskText(text, [])).toBe(expected);
  });

  it.each<[string, string]>([
    ['a CSS class', 'sk-loading-indicator-container-main'],
    ['a task slug', 'task-0123456789abcdefghijklmnop'],
    ['a path', '/home/me/.config/gh/hosts.yml'],
    ['a git sha', '3f9c2d1e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e'],
    ['a URL without a password', 'https://github.com/owner/repo.git and ssh://git@host/x'],
    ['an armour line quoted in code', "const HEADER = '-----BEGIN PRIVATE KEY-----';\nconst rest = 1;"],
  ])('leaves %s alone', (_kind, text) => {
    expect(maskText(text, [])).toBe(text);
  });

  it('masks the body of a private key block, across pieces of a stream too, and inside a JSON string', () => {
    const state = { inKey: false };
    const first = maskText('key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1b2c3d4\n', [], state);
    const second = maskText('e5f6g7h8i9j0==\n-----END RSA PRIVATE KEY-----\nafter\n', [], state);
    expect(first + second).toBe('key:\n-----BEGIN RSA PRIVATE KEY-----\n***\n***\n-----END RSA PRIVATE KEY-----\nafter\n');
    expect(maskText('{"private_key":"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBg\\n-----END PRIVATE KEY-----\\n","x":1}', [])).toBe(
      '{"private_key":"-----BEGIN PRIVATE KEY-----***-----END PRIVATE KEY-----\\n","x":1}',
    );
  });

  it('works on bytes read as latin1, leaving every other byte as it was', () => {
    const bytes = Buffer.concat([
      Buffer.from([0xff, 0xfe, 0x00]),
      Buffer.from(' café tok-\u00e9-123456 ghp_m3gFmqJ6fCS3ODl6Vg8zoGWwe47e8fEKFaQO\n'),
    ]);
    const masked = Buffer.from(maskText(bytes.toString('latin1'), [asLatin1('tok-\u00e9-123456')]), 'latin1');
    expect(masked).toEqual(Buffer.concat([Buffer.from([0xff, 0xfe, 0x00]), Buffer.from(' café *** ***\n')]));
  });

  it('treats obvious stand-ins as placeholders for the guard', () => {
    expect(isPlaceholder('AKIAIOSFODNN7EXAMPLE')).toBe(true);
    expect(isPlaceholder(`ghp_${'x'.repeat(36)}`)).toBe(true);
    expect(isPlaceholder('ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab')).toBe(true);
    expect(isPlaceholder('ghp_m3gFmqJ6fCS3ODl6Vg8zoGWwe47e8fEKFaQO')).toBe(false);
    expect(isPlaceholder('AKIAF7JKNDWOFEQ74NPM')).toBe(false);
  });
});

describe('unsafeSuffix: what to hold back where a line is cut', () => {
  it('holds back the start of a secret value, or a trailing run of token characters', () => {
    expect(unsafeSuffix('the value is hunter2hu', ['hunter2hunter2'])).toBe(9);
    expect(unsafeSuffix('x'.repeat(2000), [])).toBe(512);
    expect(unsafeSuffix('ends with a space ', ['hunter2hunter2'])).toBe(0);
    expect(unsafeSuffix('pass: hunter2 h', ['hunter2 hunter2'])).toBe(9);
  });
});
