import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** htmx, served from the installed package (never a CDN: the page must work on a closed network). */
export function htmxSource(): string {
  return readFileSync(createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js'), 'utf8');
}

/** A phone-friendly layout: columns scroll sideways on a narrow screen, panels stack. */
export const CSS = `
:root { color-scheme: light dark; --bg: #f6f7f9; --card: #fff; --fg: #1d2330; --muted: #667085; --line: #d8dce3;
  --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --run: #0969da; }
@media (prefers-color-scheme: dark) { :root { --bg: #0d1117; --card: #161b22; --fg: #e6edf3; --muted: #8b949e; --line: #30363d;
  --ok: #3fb950; --bad: #f85149; --warn: #d29922; --run: #58a6ff; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; background: var(--bg); color: var(--fg); }
a { color: var(--run); text-decoration: none; } a:hover { text-decoration: underline; }
header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; padding: .6rem 1rem; border-bottom: 1px solid var(--line); background: var(--card); }
header h1 { font-size: 1.05rem; margin: 0; }
.live { font-size: .8rem; color: var(--muted); } .live.on { color: var(--ok); }
main { padding: .8rem 1rem; }
.summary { display: flex; flex-wrap: wrap; gap: .3rem .9rem; margin-bottom: .6rem; }
.summary b { font-variant-numeric: tabular-nums; }
#filters { display: flex; gap: .5rem; flex-wrap: wrap; margin-bottom: .6rem; }
#filters input, #filters select { font: inherit; padding: .3rem .5rem; border: 1px solid var(--line); border-radius: 6px; background: var(--card); color: var(--fg); }
#filters input { flex: 1 1 12rem; }
.panels { display: grid; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr)); gap: .8rem; margin-bottom: .8rem; }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .5rem .7rem; min-width: 0; }
.panel h2 { font-size: .9rem; margin: 0 0 .4rem; }
.columns { display: flex; gap: .6rem; overflow-x: auto; padding-bottom: .5rem; scroll-snap-type: x mandatory; }
.column { flex: 1 0 10.5rem; max-width: 22rem; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .4rem; scroll-snap-align: start; }
.column h2 { font-size: .85rem; margin: .1rem .2rem .4rem; text-transform: capitalize; display: flex; justify-content: space-between; }
.card { border: 1px solid var(--line); border-left: 4px solid var(--muted); border-radius: 6px; padding: .35rem .45rem; margin-bottom: .35rem; overflow-wrap: anywhere; }
.card .id { font: 12px ui-monospace, monospace; color: var(--muted); }
.card .why { font-size: 12px; color: var(--muted); }
.card.running { border-left-color: var(--run); } .card.done { border-left-color: var(--ok); }
.card.failed, .card.invalid, .card.blocked { border-left-color: var(--bad); } .card.waiting { border-left-color: var(--warn); }
.more { font-size: 12px; color: var(--muted); padding: .2rem; }
pre { margin: .3rem 0; padding: .4rem; background: var(--bg); border-radius: 6px; overflow: auto; font: 12px/1.4 ui-monospace, monospace; white-space: pre-wrap; overflow-wrap: anywhere; }
pre.output { max-height: 12rem; }
#feed { max-height: 16rem; overflow: auto; margin: 0; padding: 0; list-style: none; font: 12px/1.5 ui-monospace, monospace; }
#feed li { border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
button { font: inherit; font-size: 12px; padding: .15rem .55rem; border-radius: 6px; border: 1px solid var(--line); background: var(--bg); color: var(--fg); cursor: pointer; }
button.danger { color: var(--bad); }
#flash:empty { display: none; } #flash { padding: .4rem .7rem; border-radius: 6px; margin-bottom: .6rem; background: var(--card); border: 1px solid var(--line); }
#flash.bad { border-color: var(--bad); }
table.fm { border-collapse: collapse; font-size: 13px; } table.fm td { padding: .1rem .6rem .1rem 0; vertical-align: top; overflow-wrap: anywhere; } table.fm td:first-child { white-space: nowrap; color: var(--muted); }
.diff .add { color: var(--ok); } .diff .del { color: var(--bad); } .diff .hunk { color: var(--run); } .diff .file { font-weight: bold; }
details { margin: .3rem 0; } summary { cursor: pointer; }
.spec { max-width: 60rem; overflow-wrap: anywhere; }
svg.graph { max-width: 100%; height: auto; margin-top: .4rem; }
svg.graph line { stroke: var(--muted); stroke-width: 1.5; }
svg.graph rect { fill: var(--card); stroke: var(--muted); stroke-width: 2; }
svg.graph rect.done { stroke: var(--ok); } svg.graph rect.running, svg.graph rect.queued { stroke: var(--run); }
svg.graph rect.failed, svg.graph rect.blocked, svg.graph rect.invalid, svg.graph rect.missing { stroke: var(--bad); }
svg.graph text { fill: var(--fg); font: 12px ui-monospace, monospace; text-anchor: middle; }
@media (max-width: 40rem) { main { padding: .5rem; } .column { flex-basis: 80vw; } }
`;

/**
 * The page's own script: one EventSource for the live events (no polling), the elapsed-time counters, and
 * re-fetching the board or task fragment when the server says something changed.
 */
export const CLIENT_JS = `
(() => {
  const $ = (s) => document.querySelector(s);
  const live = $('#live');
  const feed = $('#feed');
  let pending = false;
  let again = false;
  async function refresh() {
    const target = $('[data-refresh]');
    if (!target) return;
    // One fetch at a time; news during it means one more fetch after it, never a lost update.
    if (pending) { again = true; return; }
    pending = true;
    again = false;
    try {
      const filters = $('#filters');
      const query = filters ? '?' + new URLSearchParams(new FormData(filters)).toString() : '';
      const res = await fetch(target.dataset.refresh + query, { credentials: 'same-origin' });
      if (res.ok) {
        const box = document.createElement('div');
        box.innerHTML = await res.text();
        const next = box.firstElementChild;
        if (next) { target.replaceWith(next); tick(); }
      }
    } finally {
      pending = false;
      if (again) refresh();
    }
  }
  function tick() {
    const now = Date.now();
    for (const el of document.querySelectorAll('[data-started]')) {
      const s = Math.max(0, Math.round((now - Date.parse(el.dataset.started)) / 1000));
      const limit = Number(el.dataset.timeout) / 1000;
      const f = (n) => (n >= 3600 ? Math.floor(n / 3600) + 'h ' : '') + Math.floor((n % 3600) / 60) + 'm ' + (n % 60) + 's';
      el.textContent = f(s) + (limit ? ' of ' + f(limit) : '');
    }
  }
  // Actions: one listener for every button, so a re-rendered board needs no per-button set-up.
  const csrf = $('meta[name=csrf]') ? $('meta[name=csrf]').content : '';
  document.addEventListener('click', async (e) => {
    const button = e.target.closest('button[data-post]');
    if (!button || (button.dataset.confirm && !confirm(button.dataset.confirm))) return;
    button.disabled = true;
    try {
      const res = await fetch(button.dataset.post, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'X-CSRF-Token': csrf, 'HX-Request': 'true' },
      });
      const box = document.createElement('div');
      box.innerHTML = await res.text();
      const flash = box.querySelector('#flash');
      if (flash) $('#flash').replaceWith(flash);
      else { $('#flash').textContent = res.status + ' ' + box.textContent; $('#flash').className = 'bad'; }
    } finally { button.disabled = false; }
  });
  setInterval(tick, 1000);
  tick();
  const events = new EventSource('/api/events');
  events.onopen = () => { if (live) { live.textContent = 'live'; live.classList.add('on'); } };
  events.onerror = () => { if (live) { live.textContent = 'reconnecting…'; live.classList.remove('on'); } };
  events.addEventListener('board', refresh);
  events.addEventListener('progress', (e) => {
    if (!feed) return;
    for (const line of JSON.parse(e.data).text.split('\\n').filter(Boolean)) {
      const li = document.createElement('li');
      li.textContent = line;
      feed.prepend(li);
    }
    while (feed.children.length > 200) feed.lastElementChild.remove();
  });
  events.addEventListener('output', (e) => {
    const { id, attempt, text, end } = JSON.parse(e.data);
    for (const pre of document.querySelectorAll('pre[data-output]')) {
      if (pre.dataset.output !== id) continue;
      // Already shown when the box was rendered (the same attempt, up to at least this offset).
      if (Number(pre.dataset.attempt) === attempt && Number(pre.dataset.end) >= end) continue;
      pre.dataset.attempt = attempt;
      pre.dataset.end = end;
      pre.textContent = (pre.textContent + text).slice(-20000);
      pre.scrollTop = pre.scrollHeight;
    }
  });
})();
`;
