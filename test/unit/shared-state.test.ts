import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { openGit } from '../../src/git/git.js';
import { pathsFor } from '../../src/paths.js';
import type { RunContext } from '../../src/run/context.js';
import { openStepGuard } from '../../src/run/stepGuard.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { cleanMessage } from '../../src/git/commit.js';
import { configChanges } from '../../src/run/configDiff.js';
import { diffShared, stashCommit, type SharedSnapshot } from '../../src/run/sharedState.js';

const CONFIG =
  '[core]\n\trepositoryformatversion = 0\n\tbare = false\n[user]\n\tname = Test User\n\temail = test@example.invalid\n[remote "origin"]\n\turl = /srv/remote.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n';

describe('configChanges', () => {
  it.each([
    ['a changed value', CONFIG.replace('test@example.invalid', 'evil@x'), ['user.email']],
    ['an added key, spelled as written', CONFIG.replace('[core]\n', '[core]\n\thooksPath = /tmp/x\n'), ['core.hooksPath']],
    ['a remote url, subsection kept as written', CONFIG.replace('/srv/remote.git', '/elsewhere'), ['remote.origin.url']],
    ['a new section with a key on the header line', `${CONFIG}[filter "evil"] clean = touch x\n`, ['filter.evil.clean']],
    ['a second value for a key', `${CONFIG}[remote "origin"]\n\tfetch = +refs/tags/*:refs/tags/*\n`, ['remote.origin.fetch']],
    ['a removed key', CONFIG.replace('\tbare = false\n', ''), ['core.bare']],
    ['a comment only', `${CONFIG}# note\n`, []],
    ['a key without a value', CONFIG.replace('[core]\n', '[core]\n\tfsmonitor\n'), ['core.fsmonitor']],
    ['the old [section.sub] spelling', `${CONFIG}[branch.main]\n\tremote = origin\n`, ['branch.main.remote']],
    ['case of a key name only', CONFIG.replace('bare = false', 'Bare = false'), []],
  ])('%s', (_name, after, keys) => {
    expect(configChanges(CONFIG, after)).toEqual(keys);
  });
});

function snapshot(parts: Partial<SharedSnapshot> = {}): SharedSnapshot {
  return { gitFiles: new Map(), hooks: new Map(), stash: { ref: null, log: null }, userFiles: new Map(), ...parts };
}

describe('diffShared', () => {
  const A = 'a'.repeat(40);
  const B = 'b'.repeat(40);
  const C = 'c'.repeat(40);
  const log = (...lines: string[]) => Buffer.from(lines.map((l) => `${l}\n`).join(''));

  it('lists config first, then hooks in name order, the stash and the rules files', () => {
    const before = snapshot({
      gitFiles: new Map([
        ['config', Buffer.from(CONFIG)],
        ['info/attributes', null],
      ]),
      hooks: new Map([['pre-commit', { kind: 'file', mode: 0o755, bytes: Buffer.from('a') }]]),
      stash: { ref: Buffer.from(`${B}\n`), log: log(`${'0'.repeat(40)} ${A} x`, `${A} ${B} y`) },
      userFiles: new Map([['/r/rules.md', Buffer.from('r')]]),
    });
    const after = snapshot({
      gitFiles: new Map([
        ['config', Buffer.from(CONFIG.replace('Test User', 'M'))],
        ['info/attributes', Buffer.from('* filter=x\n')],
      ]),
      hooks: new Map([
        ['pre-commit', { kind: 'file', mode: 0o644, bytes: Buffer.from('a') }],
        ['post-commit', { kind: 'link', target: '/x' }],
      ]),
      stash: { ref: Buffer.from(`${C}\n`), log: log(`${'0'.repeat(40)} ${A} x`, `${A} ${C} z`) },
      userFiles: new Map([['/r/rules.md', Buffer.from('evil')]]),
    });
    expect(diffShared(before, after)).toEqual([
      { kind: 'config', file: 'config', keys: ['user.name'] },
      { kind: 'git-file', file: 'info/attributes' },
      { kind: 'hook', name: 'post-commit', how: 'added' },
      { kind: 'hook', name: 'pre-commit', how: 'changed' },
      { kind: 'stash', dropped: 1, added: 1 },
      { kind: 'user-file', path: '/r/rules.md' },
    ]);
    expect(diffShared(before, before)).toEqual([]);
  });

  it('finds the stash commit in the newest reflog entry, else in the loose ref', () => {
    expect(stashCommit({ ref: null, log: log(`${A} ${B} y`) })).toBe(B);
    expect(stashCommit({ ref: Buffer.from(`${C}\n`), log: null })).toBe(C);
    expect(stashCommit({ ref: null, log: null })).toBeUndefined();
  });
});

describe('cleanMessage', () => {
  it('does what git commit --cleanup=whitespace did', () => {
    expect(cleanMessage('\n\nTitle  \n\n\n\nbody\t\n\nNightshift-Task: x\n\n')).toBe('Title\n\nbody\n\nNightshift-Task: x\n');
  });
});

describe('the shared-state watch with steps that overlap', () => {
  const left = cleanUpAfterEach();

  it('never takes a snapshot while another step runs, so a restore never puts back what a step changed', async () => {
    const sb = await left.sandbox('---\n---\n');
    const paths = pathsFor(sb.repo);
    const ctx = { paths, git: openGit(sb.repo), logger: pino({ level: 'silent' }) } as unknown as RunContext;
    const config = join(sb.repo, '.git', 'config');
    const original = await readFile(config);
    const a = openStepGuard(ctx, { taskId: 'a', attempt: 1 });
    const b = openStepGuard(ctx, { taskId: 'b', attempt: 1 });

    // A's executor changes the config; B starts meanwhile. A ends first: A is blamed, B sees nothing.
    await a.before();
    await sb.git(['config', 'user.email', 'evil@x']);
    await b.before();
    expect(await a.after('the executor')).toEqual(['git config: the executor changed user.email (restored)']);
    expect(await b.after('the executor')).toEqual([]);
    expect(await readFile(config)).toEqual(original);

    // The same, but B ends first: the change is restored (and blamed on B), A then sees nothing.
    await a.before();
    await sb.git(['config', 'user.email', 'evil@x']);
    await b.before();
    expect(await b.after('the executor')).toEqual(['git config: the executor changed user.email (restored)']);
    expect(await a.after('the executor')).toEqual([]);
    expect(await readFile(config)).toEqual(original);

    // With no step running, a change is nobody's: the next step starts from it.
    await sb.git(['config', 'user.name', 'Someone Else']);
    const changed = await readFile(config);
    expect(await a.run('the test command', () => Promise.resolve('ran'))).toEqual(['ran', []]);
    expect(await readFile(config)).toEqual(changed);
  });
});
