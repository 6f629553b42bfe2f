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
        <meta name="csrf" content="${ctx.csrf}" />
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
          ${ctx.readOnly ? markup`<span class="live">read-only</span>` : actionButton(ctx, '/actions/stop-daemon', 'Stop daemon', 'danger', 'Stop the daemons of this checkout gracefully?')}
        </header>
        <main>
          <div id="flash"></div>
          ${body}
        </main>
      </body>
    </html> `;
}

/**
 * A button for one action: the page's script posts it with the CSRF token and shows the answer in #flash.
 * Plain buttons, not forms htmx must process: a board of 500 cards is re-rendered on every change.
 */
export function actionButton(ctx: PageContext, action: string, label: string, kind = '', confirm?: string): Html {
  if (ctx.readOnly) return markup``;
  return markup`<button class="${kind}" type="button" data-post="${action}"${confirm ? markup` data-confirm="${confirm}"` : ''}>${label}</button>`;
}
