import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';

export const COOKIE = 'nightshift_dashboard';
export const CSRF_FIELD = 'csrf';
export const CSRF_HEADER = 'x-csrf-token';

/** A fresh access token for one start of the dashboard: 32 random bytes, URL-safe. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The CSRF token pages embed in their forms: derived from the access token, so nothing more is stored. */
export function csrfFor(token: string): string {
  return createHmac('sha256', token).update('nightshift dashboard csrf').digest('base64url');
}

function same(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface AuthOptions {
  token: string;
  /** Only loopback names in the Host header (a bind to loopback); false accepts any (a bind beyond it). */
  loopbackOnly: boolean;
}

/**
 * The loopback names, whatever the port: an SSH tunnel may forward another local port to this one. A
 * page on another site rebound by DNS to 127.0.0.1 still sends its own name, and is refused.
 */
const LOOPBACK_HOST = /^(?:127\.0\.0\.1|localhost|\[::1\])(?::\d+)?$/i;

/**
 * Every request: a Host header this server answers to (a page on another site, rebound by DNS to
 * 127.0.0.1, sends its own name), then the token (query once, then the cookie; or a Bearer header for
 * scripts), then for a POST the same origin and the CSRF token. Other methods change nothing and are refused.
 */
export function guard(opts: AuthOptions): MiddlewareHandler {
  const csrf = csrfFor(opts.token);
  return async (c, next) => {
    const host = c.req.header('host') ?? '';
    if (opts.loopbackOnly && !LOOPBACK_HOST.test(host)) return c.text('403: this dashboard does not answer to that Host name\n', 403);
    const url = new URL(c.req.url);
    const given = url.searchParams.get('token');
    if (given !== null && c.req.method === 'GET') {
      if (!same(given, opts.token)) return unauthorized(c);
      // The token leaves the address bar at once: it must not stay in history or go out in a Referer.
      setCookie(c, COOKIE, opts.token, { httpOnly: true, sameSite: 'Strict', path: '/' });
      url.searchParams.delete('token');
      return c.redirect(`${url.pathname}${url.search}`, 303);
    }
    const bearer = /^Bearer (\S+)$/.exec(c.req.header('authorization') ?? '')?.[1];
    if (!same(getCookie(c, COOKIE), opts.token) && !same(bearer, opts.token)) return unauthorized(c);
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    if (c.req.method !== 'POST') return c.text('405: only GET and POST\n', 405);
    const origin = c.req.header('origin');
    if (c.req.header('sec-fetch-site') === 'cross-site' || (origin !== undefined && origin !== `${url.protocol}//${host}`)) {
      return c.text('403: cross-origin request refused\n', 403);
    }
    const form = c.req.header('content-type')?.includes('form') ? await c.req.parseBody() : {};
    const sent = c.req.header(CSRF_HEADER) ?? (typeof form[CSRF_FIELD] === 'string' ? form[CSRF_FIELD] : undefined);
    if (!same(sent, csrf) && !same(bearer, opts.token)) return c.text('403: missing or wrong CSRF token; reload the page\n', 403);
    return next();
  };
}

function unauthorized(c: Context): Response {
  return c.text('401: a token is needed; open the URL `nightshift dashboard` printed (it carries the token once)\n', 401);
}
