import { beforeEach, describe, expect, it } from 'vitest';
import { countGitProcesses, currentGitCounter, GitProcessCounter } from '../../src/git/count.js';
import { gitBytes } from '../../src/git/bytes.js';
import { streamBlobs } from '../../src/git/blobs.js';
import { headCommit, openGit } from '../../src/git/git.js';
import { rawRecordsOf } from '../../src/git/inspect.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import type { Sandbox } from '../helpers/repo.js';

describe('git processes counted per run (real git)', () => {
  const left = cleanUpAfterEach();
  let sb: Sandbox;
  beforeEach(async () => {
    sb = await left.sandbox({ files: { 'a.txt': 'a\n' } });
  });

  it('counts every git process a run starts, through each of src/git/ spawns, nested awaits included', async () => {
    const git = openGit(sb.repo);
    const counter = new GitProcessCounter();
    const head = await countGitProcesses(counter, async () => {
      const at = await headCommit(git);
      await Promise.all([git.status(['status', '--porcelain']), gitBytes(git, ['ls-files', '-z'])]);
      const blob = (await git.raw(['rev-parse', `${at}:a.txt`])).trim();
      await streamBlobs(sb.repo, [blob], { chunk: () => undefined, end: () => undefined });
      return at;
    });
    expect(head).toMatch(/^[0-9a-f]{40}$/);
    expect(counter.processes).toBe(5);
    // Outside a run nothing is attributed to it.
    await headCommit(git);
    expect(counter.processes).toBe(5);
    expect(currentGitCounter()).toBeUndefined();
  });

  it('keeps two concurrent runs apart and reports each attempt since the last look', async () => {
    const git = openGit(sb.repo);
    const one = new GitProcessCounter();
    const two = new GitProcessCounter();
    await Promise.all([
      countGitProcesses(one, async () => {
        await headCommit(git);
        await headCommit(git);
      }),
      countGitProcesses(two, () => headCommit(git)),
    ]);
    expect([one.processes, two.processes]).toEqual([2, 1]);
    expect(one.sinceLastLook()).toBe(2);
    await countGitProcesses(one, () => headCommit(git));
    expect(one.sinceLastLook()).toBe(1);
    expect(one.sinceLastLook()).toBe(0);
  });
});

describe('rawRecordsOf', () => {
  it('keeps the --raw records of a --raw --numstat diff, renames with both paths, and drops the numstat part', () => {
    const z = '0'.repeat(40);
    const a = 'a'.repeat(40);
    const b = 'b'.repeat(40);
    const raw = [`:100644 100644 ${a} ${a} R100`, 'old.txt', 'new.txt', `:000000 100644 ${z} ${b} A`, ':odd name.txt'];
    const numstat = ['0\t0\t', 'old.txt', 'new.txt', '1\t0\t:odd name.txt', ''];
    expect(rawRecordsOf([...raw, ...numstat].join('\0'))).toBe(`${raw.join('\0')}\0`);
    expect(rawRecordsOf('')).toBe('');
  });
});
