import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExecutorHealth } from '../../src/exec/health.js';
import { loadSkills } from '../../src/exec/skills.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';

describe('ExecutorHealth', () => {
  const t = (s: number) => new Date(Date.UTC(2026, 10, 21, 10, 0, s));

  it('parks until a time, then lets the executor go again', () => {
    const h = new ExecutorHealth();
    expect(h.park({ executor: 'claude', cause: 'usage-limit', reason: 'quota', until: t(30) })).toBe(true);
    expect(h.parkedNow('claude', t(29))?.cause).toBe('usage-limit');
    expect(h.parkedNow('codex', t(29))).toBeUndefined();
    expect(h.nextResume()).toEqual(t(30));
    expect(h.expire(t(29))).toEqual([]);
    expect(h.parkedNow('claude', t(30))).toBeUndefined();
    expect(h.expire(t(30)).map((p) => p.executor)).toEqual(['claude']);
    expect(h.nextResume()).toBeUndefined();
  });

  it('keeps the longer parking and says when nothing changed', () => {
    const h = new ExecutorHealth();
    h.park({ executor: 'a', cause: 'rate-limit', reason: 'r', until: t(30) });
    expect(h.park({ executor: 'a', cause: 'rate-limit', reason: 'r', until: t(20) })).toBe(false);
    expect(h.park({ executor: 'a', cause: 'usage-limit', reason: 'u', until: t(50) })).toBe(true);
    expect(h.parkedNow('a', t(40))?.cause).toBe('usage-limit');
    // Until the daemon restarts: nothing is longer, and it never expires.
    expect(h.park({ executor: 'a', cause: 'auth', reason: 'logged out' })).toBe(true);
    expect(h.park({ executor: 'a', cause: 'rate-limit', reason: 'r', until: t(59) })).toBe(false);
    expect(h.expire(new Date(Date.UTC(2030, 0, 1)))).toEqual([]);
    expect(h.nextResume()).toBeUndefined();
  });
});

describe('loadSkills', () => {
  const { tempDir } = cleanUpAfterEach();

  it('reads .claude/skills first, then .agents/skills, strips frontmatter, and refuses path tricks', async () => {
    const dir = await tempDir('nightshift-skills-');
    await mkdir(join(dir, '.claude/skills/both'), { recursive: true });
    await mkdir(join(dir, '.agents/skills/both'), { recursive: true });
    await mkdir(join(dir, '.agents/skills/only-agents'), { recursive: true });
    await writeFile(join(dir, '.claude/skills/both/SKILL.md'), '---\r\nname: both\r\n---\r\nfrom claude\r\n');
    await writeFile(join(dir, '.agents/skills/both/SKILL.md'), 'from agents\n');
    await writeFile(join(dir, '.agents/skills/only-agents/SKILL.md'), '\uFEFFno frontmatter\n');
    expect(await loadSkills(['both', 'only-agents'], dir)).toEqual({
      kind: 'ok',
      skills: [
        { name: 'both', body: 'from claude\r\n' },
        { name: 'only-agents', body: 'no frontmatter\n' },
      ],
    });
    for (const bad of ['../both', '.', 'Both', 'a/b', '']) {
      expect(await loadSkills([bad], dir)).toEqual({ kind: 'missing', reason: `skill ${JSON.stringify(bad)} is not a skill name` });
    }
    expect(await loadSkills([], dir)).toEqual({ kind: 'ok', skills: [] });
  });
});
