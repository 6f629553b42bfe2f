import { describe, expect, it } from 'vitest';
import { fastYamlMap } from '../../src/task/fastYaml.js';
import { loadYamlMap, loadYamlMapWithLibrary } from '../../src/task/parse.js';

/** Whenever the fast path answers, the YAML library must give exactly the same object. */
function agrees(yaml: string): 'fast' | 'library' {
  const fast = fastYamlMap(yaml);
  const library = loadYamlMapWithLibrary(yaml, 2);
  if (fast === undefined) {
    expect(loadYamlMap(yaml, 2), yaml).toEqual(library);
    return 'library';
  }
  expect(library, yaml).toEqual({ kind: 'ok', value: fast });
  expect(Object.keys(fast), yaml).toEqual(Object.keys((library as { value: object }).value));
  return 'fast';
}

const ROUNDS = Number(process.env.FAST_YAML_ROUNDS ?? 4000);

describe('fastYamlMap', () => {
  it('takes the frontmatter nightshift and planners write', () => {
    const typical = [
      'title: Add login form',
      'status: done',
      'priority: -2',
      'depends_on: [001-setup-db, "002-schema"]',
      'files: ["src/login/**", \'test/**\']',
      'timeout: 30m',
      'attempts: 1',
      'claimed_by: host:4242',
      'started_at: 2026-11-21T03:10:00Z',
      'base_commit: 0123456789abcdef0123456789abcdef01234567',
      'error: "tests failed (exit 1): 3 failing"',
      'cost_usd: 0.42',
      'tokens: 18342',
      'run:',
      'skills: []',
    ].join('\n');
    expect(agrees(typical)).toBe('fast');
    expect(fastYamlMap(typical)).toMatchObject({
      priority: -2,
      depends_on: ['001-setup-db', '002-schema'],
      cost_usd: 0.42,
      run: null,
      skills: [],
    });
  });

  it('leaves to the library what it is not sure about', () => {
    for (const yaml of [
      'title: a # comment',
      'title: a\n  continued',
      'title: "a\\"b"',
      "title: 'it''s'",
      'list:\n  - a',
      'title: &a x\nother: *a',
      'title: a\ntitle: b',
      'true: x',
      '__proto__: x',
      'title: {a: 1}',
      'title: |\n  text',
      'title: a: b',
      'title:\tx',
      'title: x ',
      'deps: [a, [b]]',
      'deps: [a,]',
      '# only a comment',
      'title: x\r',
    ]) {
      expect(agrees(yaml), yaml).toBe('library');
    }
  });

  it('agrees with the YAML library on thousands of generated frontmatters', () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)] as T;
    const keys = [
      'title',
      'status',
      'priority',
      'depends_on',
      'a-b',
      '_x',
      'True',
      'null',
      'Null_x',
      'constructor',
      'toString',
      'y',
      'on',
      'key',
    ];
    const atoms = [
      '',
      'x',
      'a b',
      '0',
      '-0',
      '+1',
      '007',
      '1_000',
      '0o17',
      '0o8',
      '0x1F',
      '0xg',
      '1.5',
      '.5',
      '5.',
      '-.5',
      '1e3',
      '1E-3',
      '.1e+2',
      '.inf',
      '-.Inf',
      '.NaN',
      '.nan',
      'nan',
      'inf',
      '~',
      'null',
      'NULL',
      'nULL',
      'true',
      'True',
      'tRUE',
      'false',
      'yes',
      'no',
      'on',
      'off',
      '2026-11-21',
      '2026-11-21T03:10:00Z',
      '12:30',
      '1:2:3',
      'http://x.y/z?q=1',
      'a:b',
      'a :b',
      'a# b',
      'a #b',
      'a%b',
      '%a',
      '@a',
      '`a',
      '-a',
      '--',
      '---',
      '...',
      '?a',
      '? a',
      ':a',
      'a:',
      '!a',
      '&a',
      '*a',
      '|',
      '>',
      '"a"',
      "'a'",
      '"a',
      "a'",
      '"a\\"',
      "'a''b'",
      '"a # b"',
      '"a: b"',
      "'a: b'",
      '[]',
      '[ ]',
      '[a]',
      '[a, b]',
      '[a,b]',
      '[ a , b ]',
      '[a, "b, c"]',
      "['a', 'b']",
      '[1, 2.5, true, null, ~]',
      '[a:b]',
      '[a, [b]]',
      '[a, {b: c}]',
      '[a,]',
      '[,a]',
      '[a,,b]',
      '["a" b]',
      '[a b]',
      '[a"b]',
      "[a'b]",
      '[-a]',
      '[- a]',
      '[a #b]',
      '[a\tb]',
      '{a: 1}',
      'a[0]',
      'a{b}',
      'a,b',
      'a ,b',
      'é',
      'naïve café',
      '日本語',
      '😀',
      'a\u00a0b',
      '\u00a0',
      'a\u3000',
      '\u2028',
      'a\u0085b',
      '\ufeffa',
      'a\u200bb',
      '\ud800',
      'a\\b',
      'a"b"',
      "a'b",
      ' a',
      'a ',
      'a  b',
      '\t',
      'a\tb',
    ];
    const seps = [': ', ':', ':  ', ': \t', ' : ', ':\t'];
    let fast = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const lines: string[] = [];
      const n = 1 + rand(5);
      for (let j = 0; j < n; j++) {
        const roll = rand(20);
        if (roll === 0) lines.push('');
        else if (roll === 1) lines.push(pick(['# note', '  # indented note', '#', ' ', '- a', '  x: 1', '---', '%YAML 1.2']));
        else {
          let value = pick(atoms);
          if (rand(4) === 0) value += pick(atoms);
          lines.push(`${pick(keys)}${rand(3) === 0 ? '' : j}${rand(6) === 0 ? pick(seps) : ': '}${value}`);
        }
      }
      if (agrees(lines.join('\n')) === 'fast') fast++;
    }
    // The generator must exercise the fast path, not only the fallback.
    expect(fast).toBeGreaterThan(ROUNDS / 5);
  });
});
