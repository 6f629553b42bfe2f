import { markup, type Html } from './html.js';

export interface PageContext {
  /** The repository's folder name, for the title. */
  repo: string;
  csrf: string;
  readOnly: boolean;
}

/** The page around every view: header with the live indicator and the stop button, the flash area. */
export function page(ctx: PageContext, title: string, body: Html): Html {
  return markup`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>${title} · nightshift</title>
        <link rel="stylesheet" href="/assets/app.css" />
        <script src="/assets/htmx.js" defer></script>
        <script src="/assets/app.js" defer></script>
      </head>
      <body>
        <header>
          <h1><a href="/">nightshift</a> · ${ctx.repo}</h1>
          <span id="live" class="live">connecting…</span>
          <span style="flex:1"></span>
          ${ctx.readOnly ? markup`<span class="live">read-only</span>` : actionForm(ctx, '/actions/stop-daemon', 'Stop daemon', 'danger', 'Stop the daemons of this checkout gracefully?')}
        </header>
        <main>
          <div id="flash"></div>
          ${body}
        </main>
      </body>
    </html> `;
}

/** A POST form for one action: works with htmx (answer shown in #flash) and without (a redirect). */
export function actionForm(ctx: PageContext, action: string, label: string, kind = '', confirm?: string): Html {
  if (ctx.readOnly) return markup``;
  return markup`<form
    class="action"
    method="post"
    action="${action}"
    hx-post="${action}"
    hx-target="#flash"
    hx-swap="outerHTML"
    ${confirm ? markup` hx-confirm="${confirm}"` : ''}
  >
    <input type="hidden" name="csrf" value="${ctx.csrf}" /><button class="${kind}" type="submit">${label}</button>
  </form>`;
}
