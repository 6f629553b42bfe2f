import { readFile } from 'node:fs/promises';
import { hasCode } from '../errors.js';
import { splitFrontmatter } from '../task/frontmatter.js';

/** scope.md's body: the project context every executor (and the planner) is given; none when it is missing. */
export async function readScope(file: string): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    const split = splitFrontmatter(text);
    return split.kind === 'ok' ? split.file.body : text.replace(/^\uFEFF/, '');
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return '';
    throw err;
  }
}
