import { formatDuration } from '../../util/duration.js';
import { secretMasker, type Masker } from '../../util/secrets.js';
import type { Board, BoardFilter, Card } from '../board.js';
import { COLUMNS } from '../board.js';
import { markup, type Html } from './html.js';
import { actionButton, type PageContext } from './layout.js';

/** Output already in a running task's transcript, shown before streaming takes over from byte `end`. */
export interface OutputTail {
  text: string;
  attempt: number;
  end: number;
}
export type OutputTails = Map<string, OutputTail>;

/** The live transcript box the page's script appends streamed output to. */
export function outputBox(id: string, tail: OutputTail | undefined): Html {
  return markup`<pre class="output" data-output="${id}" data-attempt="${tail?.attempt ?? 0}" data-end="${tail?.end ?? 0}">${tail?.text ?? ''}</pre>`;
}

/** The board page: filters, the live fragment, the progress feed. */
export function boardPage(ctx: PageContext, board: Board, filter: BoardFilter, tails: OutputTails, feed: string[]): Html {
  return markup`<form
      id="filters"
      hx-get="/fragments/board"
      hx-trigger="input delay:250ms, submit"
      hx-target="#board"
      hx-swap="outerHTML"
      action="/"
      method="get"
      role="search"
    >
      <input type="search" name="q" value="${filter.q ?? ''}" placeholder="search id, title, executor, kind" aria-label="search" />
      <select name="column" aria-label="column">
        <option value="">all columns</option>
        ${COLUMNS.map((c) => markup`<option value="${c}" ${filter.column === c ? markup` selected` : ''}>${c}</option>`)}
      </select>
    </form>
    ${boardFragment(ctx, board, tails)}
    <section class="panel">
      <h2>Progress</h2>
      <ul id="feed">
        ${[...feed].reverse().map((l) => markup`<li>${l}</li>`)}
      </ul>
    </section>`;
}

/** Everything that changes with the files: counts, running tasks, parked executors, the columns. */
export function boardFragment(ctx: PageContext, board: Board, tails: OutputTails): Html {
  // One masker for the whole board: titles and errors are text a planner or an executor wrote.
  const mask = secretMasker();
  const daemons = board.daemons.length === 0 ? 'no daemon running' : board.daemons.map((d) => `daemon ${d.pid} ${d.state}`).join(', ');
  return markup`<section id="board" data-refresh="/fragments/board">
    <div class="summary">
      <span><b>${board.total}</b> tasks</span>${COLUMNS.filter((c) => board.counts[c] > 0).map(
        (c) => markup`<span data-count="${c}"><b>${board.counts[c]}</b> ${c}</span>`,
      )}<span
        >spend <b>$${board.spend.costUsd.toFixed(2)}</b>${board.spend.tokens > 0 ? markup`, <b>${board.spend.tokens}</b> tokens` : ''}</span
      ><span>${daemons}</span>
    </div>
    <div class="panels">
      ${
        board.running.length > 0
          ? markup`<section class="panel" id="running">
              <h2>Running</h2>
              ${board.running.map(
                (r) =>
                  markup`<div class="run" data-task="${r.id}">
                    <a href="/tasks/${r.id}">${r.id}</a> · ${r.executor ?? 'default executor'} · attempt ${r.attempt} ·
                    <span data-started="${r.startedAt}" data-timeout="${r.timeoutMs}"
                      >${formatDuration(Date.now() - Date.parse(r.startedAt))}</span
                    >
                    ${outputBox(r.id, tails.get(r.id))}
                  </div>`,
              )}
            </section>`
          : ''
      }
      ${
        board.parked.length > 0
          ? markup`<section class="panel" id="parked">
              <h2>Parked executors</h2>
              ${board.parked.map((p) => markup`<div><b>${p.executor}</b> ${p.cause}: ${p.reason}<br /><span class="why">${p.until ? `returns ${p.until.replace(/\.\d{3}Z$/, 'Z')}` : 'returns when the daemon restarts'}</span></div>`)}
            </section>`
          : ''
      }
    </div>
    <div class="columns">
      ${board.columns.map(
        (col) =>
          markup`<section class="column" data-column="${col.name}">
            <h2><span>${col.name}</span><span>${col.total}</span></h2>
            ${col.cards.map((card) => cardView(ctx, card, mask))}${col.total > col.cards.length ? markup`<div class="more">${col.total - col.cards.length} more: search to narrow</div>` : ''}
          </section>`,
      )}
    </div>
  </section>`;
}

function cardView(ctx: PageContext, card: Card, mask: Masker): Html {
  const why = card.waitingOn ?? (card.column === 'failed' || card.column === 'blocked' || card.column === 'invalid' ? card.error : null);
  return markup`<article class="card ${card.column}" data-task="${card.id}">
    <div class="id">${card.id}${card.attempts > 0 ? ` · try ${card.attempts}` : ''}${card.executor ? ` · ${card.executor}` : ''}</div>
    <a href="/tasks/${card.id}">${mask(card.title ?? card.file)}</a>
    ${why ? markup`<div class="why">${mask(why)}</div>` : ''}
    ${card.depends_on.length > 0 ? markup`<div class="why">after ${card.depends_on.map((d, i) => markup`${i > 0 ? ', ' : ''}<a href="/tasks/${d}">${d}</a>`)}</div>` : ''}
    <div>${cardActions(ctx, card)}</div>
  </article>`;
}

/** The actions a task's status allows (the verb refuses the rest anyway, with its own message). */
export function cardActions(ctx: PageContext, card: Pick<Card, 'id' | 'status'>): Html[] {
  const out: Html[] = [];
  if (card.status === 'draft') out.push(actionButton(ctx, `/actions/approve/${card.id}`, 'Approve'));
  if (['failed', 'blocked', 'cancelled', 'done'].includes(card.status))
    out.push(actionButton(ctx, `/actions/requeue/${card.id}`, 'Requeue'));
  if (['queued', 'running', 'draft', 'failed', 'blocked'].includes(card.status))
    out.push(actionButton(ctx, `/actions/cancel/${card.id}`, 'Cancel', 'danger', `Cancel ${card.id}?`));
  return out;
}
