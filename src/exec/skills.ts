import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasCode } from '../errors.js';
import { splitFrontmatter } from '../task/frontmatter.js';

export interface Skill {
  name: string;
  /** SKILL.md without its frontmatter (name/description are for the agent's own skill loader). */
  body: string;
}

export type SkillsResult = { kind: 'ok'; skills: Skill[] } | { kind: 'missing'; reason: string };

/** Where a skill lives, relative to the worktree: Claude Code's folder first, then the cross-agent one. */
export const SKILL_DIRS = ['.claude/skills', '.agents/skills'] as const;

/** The same rule task files are validated with; checked again here because the name becomes a path. */
const SKILL_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/**
 * Reads the task's skills from its worktree (which holds the base commit, so a skill added on the base
 * branch is seen). A missing or unreadable skill is a reason to block the task, naming every path tried.
 */
export async function loadSkills(names: readonly string[], worktree: string): Promise<SkillsResult> {
  const skills: Skill[] = [];
  for (const name of names) {
    if (!SKILL_NAME.test(name)) return { kind: 'missing', reason: `skill ${JSON.stringify(name)} is not a skill name` };
    const tried = SKILL_DIRS.map((dir) => `${dir}/${name}/SKILL.md`);
    let text: string | undefined;
    for (const path of tried) {
      try {
        text = await readFile(join(worktree, path), 'utf8');
        break;
      } catch (err) {
        if (!hasCode(err, 'ENOENT') && !hasCode(err, 'ENOTDIR')) throw err;
      }
    }
    if (text === undefined) {
      return {
        kind: 'missing',
        reason: `skill "${name}" not found: looked for ${tried.join(' and ')} in the task's base commit; add one of them or remove the skill from the task`,
      };
    }
    const split = splitFrontmatter(text);
    skills.push({ name, body: split.kind === 'ok' ? split.file.body : text.replace(/^\uFEFF/, '') });
  }
  return { kind: 'ok', skills };
}
