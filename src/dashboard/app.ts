import { basename, join } from 'node:path';
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { listed } from '../commands/list.js';
import { idProblem } from '../task/id.js';
import type { TaskEntry } from '../task/task.js';
import { taskLogDir } from '../paths.js';
import { maskSecrets } from '../util/secrets.js';
import { ACTIONS, runTaskAction, stopDaemon, type ActionResult, type TaskAction } from './actions.js';
import { csrfFor, guard } from './auth.js';
import type { BoardFilter } from './board.js';
import type { Hub, LiveEvent } from './hub.js';
import type { Snapshot } from './snapshot.js';
import { readTail, taskDetail } from './taskDetail.js';
import { CLIENT_JS, CSS, htmxSource } from './views/assets.js';
import { boardFragment, boardPage, type OutputTail, type OutputTails } from './views/board.js';
import { markup } from './views/html.js';
import { page, type PageContext } from './views/layout.js';
import { taskFragment } from './views/task.js';

export interface AppOptions {
  snapshot: Snapshot;
  hub: Hub;
  token: string;
  readOnly: boolean;
  loopbackOnly: boolean;
}

/** Lines of a running task's transcript shown under its card, and of progress.txt in the feed. */
const TAIL_BYTES = 4096;
const FEED_BYTES = 16 * 1024;
/** SSE comment lines keep proxies and tunnels from closing a quiet stream. */
const KEEPALIVE_MS = 20_000;

/** The dashboard's routes: pages, fragments the page re-fetches, the JSON API, the event stream, actions. */
export function dashboardApp(opts: AppOptions): Hono {
  const { snapshot, hub } = opts;
  const { paths } = snapshot;
  const ctx: PageContext = { repo: basename(paths.root), csrf: csrfFor(opts.token), readOnly: opts.readOnly };
  const app = new Hono();
  app.use('*', async (c, next) => {
    await next();
    // Nothing here may be framed by another site, sniffed into a script, or cached by a shared proxy.
    c.header('X-Frame-Options', 'DENY');
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Cache-Control', 'no-store');
    c.header(
      'Content-Security-Policy',
      "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
    );
  });
  app.use('*', guard({ token: opts.token, loopbackOnly: opts.loopbackOnly }));

  const htmx = htmxSource();
  app.get('/assets/htmx.js', (c) => c.body(htmx, 200, { 'Content-Type': 'text/javascript; charset=utf-8' }));
  app.get('/assets/app.js', (c) => c.body(CLIENT_JS, 200, { 'Content-Type': 'text/javascript; charset=utf-8' }));
  app.get('/assets/app.css', (c) => c.body(CSS, 200, { 'Content-Type': 'text/css; charset=utf-8' }));

  const tails = async (ids: string[]): Promise<OutputTails> => {
    const out: OutputTails = new Map();
    for (const id of ids) out.set(id, await latestTail(id));
    return out;
  };
  /** The end of the running attempt's transcript (`attempts` counts the one running). */
  const latestTail = async (id: string): Promise<OutputTail> => {
    const entry = findEntry(await snapshot.entries(), id);
    const attempt = entry?.kind === 'task' ? Math.max(1, entry.task.attempts) : 1;
    const tail = await readTail(join(taskLogDir(paths, id), `${attempt}.log`), TAIL_BYTES);
    return { text: tail ? maskSecrets(tail.text) : '', attempt, end: tail?.end ?? 0 };
  };

  app.get('/', async (c) => {
    const filter = filterOf(c);
    const board = await snapshot.board(filter);
    const feed = (await readTail(paths.progress, FEED_BYTES))?.text.split('\n').filter(Boolean) ?? [];
    const body = boardPage(ctx, board, filter, await tails(board.running.map((r) => r.id)), feed.map(maskSecrets));
    return c.html(page(ctx, 'board', body).text);
  });
  app.get('/fragments/board', async (c) => {
    const board = await snapshot.board(filterOf(c));
    return c.html(boardFragment(ctx, board, await tails(board.running.map((r) => r.id))).text);
  });
  const taskView = async (id: string) => {
    const entries = await snapshot.entries();
    const entry = findEntry(entries, id);
    if (!entry) return undefined;
    const detail = entry.kind === 'task' ? await taskDetail(paths, entry.task, entries) : undefined;
    const tail = entry.kind === 'task' && entry.task.status === 'running' ? await latestTail(id) : undefined;
    return { entry, html: taskFragment(ctx, entry, detail, tail) };
  };
  app.get('/tasks/:id', async (c) => {
    const view = await taskView(c.req.param('id'));
    if (!view) return c.html(page(ctx, 'not found', markup`<p>No task "${c.req.param('id')}" in tasks/.</p>`).text, 404);
    return c.html(page(ctx, c.req.param('id'), view.html).text);
  });
  app.get('/fragments/task/:id', async (c) => {
    const view = await taskView(c.req.param('id'));
    return view ? c.html(view.html.text) : c.text('not found', 404);
  });

  // The JSON API: `list --json` and `show --json` shapes, for scripts.
  app.get('/api/tasks', async (c) => c.json((await snapshot.entries()).map((e) => listed(paths, e))));
  app.get('/api/tasks/:id', async (c) => {
    const entry = findEntry(await snapshot.entries(), c.req.param('id'));
    if (!entry) return c.json({ error: `no task "${c.req.param('id')}" in tasks/` }, 404);
    const base = listed(paths, entry);
    return c.json(entry.kind === 'task' ? { ...entry.task.frontmatter, ...base, status: entry.task.status } : base);
  });
  app.get('/api/status', async (c) => c.json(await snapshot.status()));
  app.get('/api/events', (c) =>
    streamSSE(c, async (stream) => {
      const send = (e: LiveEvent) => {
        const { kind, ...data } = e;
        void stream.writeSSE({ event: kind, data: JSON.stringify(data) }).catch(() => undefined);
      };
      hub.on('event', send);
      const keepalive = setInterval(() => void stream.write(': keepalive\n\n').catch(() => undefined), KEEPALIVE_MS);
      await stream.writeSSE({ event: 'hello', data: '{}' });
      await new Promise<void>((resolve) => {
        stream.onAbort(resolve);
        hub.once('closed', resolve);
      });
      clearInterval(keepalive);
      hub.off('event', send);
    }),
  );

  app.post('/actions/:action/:id', async (c) => {
    const action = c.req.param('action');
    const id = c.req.param('id');
    if (opts.readOnly) return answer(c, { ok: false, message: 'the dashboard is read-only (--read-only)' }, 403);
    if (!(ACTIONS as readonly string[]).includes(action)) return c.text('unknown action', 404);
    const problem = idProblem(id);
    if (problem) return answer(c, { ok: false, message: `bad task id: ${problem}` }, 400);
    const result = await runTaskAction(paths.root, action as TaskAction, id);
    snapshot.invalidate(`${id}.md`); // the next read must see the file the verb just wrote, whenever its watch event comes
    return answer(c, result, undefined, `/tasks/${id}`);
  });
  app.post('/actions/stop-daemon', async (c) => {
    if (opts.readOnly) return answer(c, { ok: false, message: 'the dashboard is read-only (--read-only)' }, 403);
    // `daemon stop` waits for the daemons to exit; the page only needs to know they were asked.
    const asked = stopDaemon(paths.root);
    const early = new Promise<ActionResult>((resolve) =>
      setTimeout(() => resolve({ ok: true, message: 'nightshift: stopping the daemons' }), 1500).unref(),
    );
    return answer(c, await Promise.race([asked, early]));
  });
  return app;
}

/** An action's outcome: the flash fragment for htmx, else back to the page (a form posted without script). */
function answer(c: Context, result: ActionResult, status?: 400 | 403, back = '/'): Response {
  if (c.req.header('hx-request') !== 'true' && !c.req.header('accept')?.includes('application/json') && result.ok)
    return c.redirect(back, 303);
  if (c.req.header('accept')?.includes('application/json')) return c.json(result, status ?? (result.ok ? 200 : 409));
  return c.html(
    markup`<div id="flash" class="${result.ok ? 'ok' : 'bad'}" role="status">${result.message}</div>`.text,
    status ?? (result.ok ? 200 : 409),
  );
}

function filterOf(c: Context): BoardFilter {
  return { q: c.req.query('q') || undefined, column: c.req.query('column') || undefined };
}

function findEntry(entries: TaskEntry[], id: string): TaskEntry | undefined {
  return entries.find((e) => (e.kind === 'task' ? e.task.id : e.invalid.id) === id);
}
