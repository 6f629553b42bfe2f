import MarkdownIt from 'markdown-it';
import type { Task, TaskEntry } from '../../task/task.js';
import type { TaskDetail } from '../taskDetail.js';
import { cardActions, outputBox, type OutputTail } from './board.js';
import { maskSecrets } from '../../util/secrets.js';
import { dependencyGraph } from './graph.js';
import { markup, trusted, type Html } from './html.js';
import type { PageContext } from './layout.js';

// html: false escapes raw HTML in a task body: a spec is text a planner (or an agent) wrote.
const markdown = new MarkdownIt({ html: false, linkify: false });

/** One task: spec, frontmatter, dependencies both ways, every attempt, the diff. Refreshed as a whole. */
export function taskFragment(ctx: PageContext, entry: TaskEntry, detail: TaskDetail | undefined, tail: OutputTail | undefined): Html {
  if (entry.kind === 'invalid') {
    const { id, file, reason } = entry.invalid;
    return markup`<section id="task" data-refresh="/fragments/task/${id}">
      <h2>${id} · invalid</h2>
      <p>${file}</p>
      <pre>${reason}</pre>
    </section>`;
  }
  const t = entry.task;
  return markup`<section id="task" data-refresh="/fragments/task/${t.id}" data-status="${t.status}">
    <h2>${maskSecrets(t.title)}</h2>
    <p><span class="card ${t.status}" data-field="status">${t.status}</span> · ${t.id} ${cardActions(ctx, t)}</p>
    ${
      t.status === 'running'
        ? markup`<section class="panel">
            <h2>Output</h2>
            ${outputBox(t.id, tail)}
          </section>`
        : ''
    }
    <div class="panels">
      <section class="panel">
        <h2>Frontmatter</h2>
        ${frontmatter(t)}
      </section>
      <section class="panel">
        <h2>Dependencies</h2>
        ${deps('Depends on', t.dependsOn)}${deps('Needed by', detail?.neededBy ?? [])}
        ${dependencyGraph(t.id, t.status, t.dependsOn, detail?.neededBy ?? [], detail?.statuses ?? {})}
      </section>
    </div>
    <section class="panel spec">
      <h2>Spec</h2>
      ${trusted(markdown.render(maskSecrets(t.body)))}
    </section>
    <section class="panel">
      <h2>Attempts</h2>
      ${detail && detail.attempts.length > 0 ? detail.attempts.map((a) => attemptView(a)) : markup`<p>No attempt yet.</p>`}
    </section>
    <section class="panel diff" id="diff">
      <h2>Diff</h2>
      ${detail ? diffView(detail.diff) : ''}
    </section>
  </section>`;
}

function frontmatter(t: Task): Html {
  return markup`<table class="fm">
    ${Object.entries(t.frontmatter).map(
      ([k, v]) =>
        markup`<tr>
          <td>${k}</td>
          <td>${maskSecrets(typeof v === 'string' ? v : JSON.stringify(v))}</td>
        </tr>`,
    )}
  </table>`;
}

function deps(label: string, ids: string[]): Html {
  if (ids.length === 0) return markup`<div>${label}: none</div>`;
  return markup`<div>${label}: ${ids.map((d, i) => markup`${i > 0 ? ', ' : ''}<a href="/tasks/${d}">${d}</a>`)}</div>`;
}

function attemptView(a: TaskDetail['attempts'][number]): Html {
  const review = a.review ? `${a.review.result}${a.review.comments ? `: ${a.review.comments}` : ''}` : null;
  return markup`<details${a.failure || a.attempt === 1 ? markup` open` : ''}><summary>Attempt ${a.attempt}${a.failure ? ' · failed' : ''}${
    a.review ? ` · review ${a.review.result}` : ''
  }</summary>
${a.failure ? markup`<p><b>Failure:</b> ${a.failure}</p>` : ''}
${review ? markup`<p><b>Review verdict:</b> ${review}</p>` : ''}
${
  a.prompt !== null
    ? markup`<details>
        <summary>Prompt</summary>
        <pre>${a.prompt}</pre>
      </details>`
    : ''
}
${
  a.transcript !== null
    ? markup`<details open>
        <summary>Transcript${a.cut ? ' (the end)' : ''}</summary>
        <pre>${a.transcript}</pre>
      </details>`
    : ''
}
</details>`;
}

/** Diff lines coloured by their first character: files, hunks, additions, deletions. */
function diffView(diff: TaskDetail['diff']): Html {
  if ('missing' in diff) return markup`<p>${diff.missing}</p>`;
  if (diff.patch.trim() === '') return markup`<p>No change between ${diff.base.slice(0, 12)} and ${diff.tip.slice(0, 12)}.</p>`;
  const lines = diff.patch
    .replace(/\n$/, '')
    .split('\n')
    .map((line) => {
      const cls = diffClass(line);
      return cls ? markup`<span class="${cls}">${line}</span>\n` : markup`${line}\n`;
    });
  const range = `${diff.base.slice(0, 12)}..${diff.tip.slice(0, 12)}`;
  return markup`<p>${range}${diff.cut ? ' (the start; the rest is too long to show)' : ''}</p><pre>${lines}</pre>`;
}

function diffClass(line: string): string {
  if (/^(diff |index |--- |\+\+\+ )/.test(line)) return 'file';
  if (line.startsWith('@@')) return 'hunk';
  if (line.startsWith('+')) return 'add';
  if (line.startsWith('-')) return 'del';
  return '';
}
