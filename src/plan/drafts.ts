import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { hasCode, InternalError } from '../errors.js';
import { parseTaskText } from '../task/parse.js';
import { syncDir } from '../util/atomic.js';
import { maskSecrets } from '../util/secrets.js';
import type { Readiness } from './gate.js';
import { taskBody } from './prompts.js';
import type { PlannedTask } from './schema.js';

/**
 * A planned task's file: `status: draft`, `planned_at` (the base commit, so drift is caught), `plan` (its
 * plan id) and the readiness verdict in nightshift's `readiness:` key. Every value goes through the YAML
 * serializer, so nothing a planner wrote can break the frontmatter. Pure.
 */
export function draftText(planned: PlannedTask, planId: string, baseCommit: string, readiness: Readiness): string {
  const task = masked(planned);
  const fm: Record<string, unknown> = { title: task.title.trim(), status: 'draft' };
  if (task.kind !== null) fm.kind = task.kind;
  if (task.depends_on.length > 0) fm.depends_on = task.depends_on;
  if (task.files.length > 0) fm.files = task.files;
  if (task.skills.length > 0) fm.skills = task.skills;
  fm.planned_at = baseCommit;
  fm.plan = planId;
  fm.estimated_minutes = task.estimated_minutes;
  fm.readiness = { ...readiness, gaps: readiness.gaps.map(maskSecrets), questions: readiness.questions.map(maskSecrets) };
  return `---\n${stringify(fm, { lineWidth: 0 })}---\n${taskBody(task)}`;
}

/** A secret of the environment a planner repeated never reaches a task file (they get committed and pushed). */
function masked(task: PlannedTask): PlannedTask {
  const body = Object.fromEntries(Object.entries(task.body).map(([k, v]) => [k, maskSecrets(v)])) as PlannedTask['body'];
  return { ...task, title: maskSecrets(task.title), body };
}

/**
 * Writes every draft, or none: each is written whole under a temp name, then linked into tasks/ (link
 * fails on a name that exists, so a task someone wrote meanwhile is never replaced). If one cannot be
 * placed, those placed already are taken back: a plan is never half in the queue.
 */
export async function writeDrafts(tasksDir: string, drafts: Array<{ id: string; text: string }>): Promise<'written' | { taken: string }> {
  await mkdir(tasksDir, { recursive: true });
  for (const d of drafts) {
    const check = parseTaskText(d.id, d.id, d.text);
    if (check.kind === 'invalid') throw new InternalError(`planned task ${d.id} would not parse: ${check.reason}`);
  }
  const placed: string[] = [];
  try {
    for (const d of drafts) {
      const file = join(tasksDir, `${d.id}.md`);
      const temp = join(tasksDir, `.${d.id}.md.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      const handle = await open(temp, 'wx', 0o644);
      try {
        await handle.writeFile(d.text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      try {
        await link(temp, file);
      } catch (err) {
        if (hasCode(err, 'EEXIST')) {
          await rm(temp, { force: true });
          await undo(placed);
          return { taken: d.id };
        }
        throw err;
      } finally {
        await rm(temp, { force: true });
      }
      placed.push(file);
    }
  } catch (err) {
    await undo(placed);
    throw err;
  }
  await syncDir(tasksDir);
  return 'written';
}

async function undo(files: string[]): Promise<void> {
  for (const f of files) await rm(f, { force: true });
}
