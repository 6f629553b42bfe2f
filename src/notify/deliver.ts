import { spawn } from 'node:child_process';
import { oneLine, toError } from '../errors.js';
import { signalGroup } from '../exec/spawn.js';
import type { NotifyTarget } from '../config/notifyRules.js';
import { fillArgv, messageEnv, messageJson, slackBody, type Message } from './message.js';

/** How one try went; `reason` is a short line for logs (never the URL: a Slack webhook's path is its secret). */
export type Delivery = { ok: true; ms: number } | { ok: false; reason: string; ms: number };

/** Enough of a failing command's stderr to say why, not its whole output. */
const STDERR_KEEP = 2000;

/** One try at delivering a message; never throws, never takes longer than timeoutMs (plus a kill). */
export async function deliver(
  target: NotifyTarget,
  m: Message,
  opts: { timeoutMs: number; cwd: string; signal?: AbortSignal },
): Promise<Delivery> {
  const started = Date.now();
  const result = target.kind === 'webhook' ? await postWebhook(target, m, opts) : await runCommand(target.argv, m, opts);
  const ms = Date.now() - started;
  return result === undefined ? { ok: true, ms } : { ok: false, reason: oneLine(result, 300), ms };
}

/** undefined = delivered; otherwise why not. */
async function postWebhook(
  target: Extract<NotifyTarget, { kind: 'webhook' }>,
  m: Message,
  { timeoutMs, signal }: { timeoutMs: number; signal?: AbortSignal },
): Promise<string | undefined> {
  const body = JSON.stringify(target.format === 'slack' ? slackBody(m) : messageJson(m));
  // fetch refuses a URL with user:password@ in it; such a URL means basic authentication.
  const url = new URL(target.url);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'nightshift' };
  if (url.username || url.password) {
    const user = decodeURIComponent(url.username);
    headers.authorization = `Basic ${Buffer.from(`${user}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  // One controller for both ends, and our own timer: with AbortSignal.any over AbortSignal.timeout, a
  // request to a hung webhook once outlived its timeout on Node 20.20 (until the daemon stopped).
  const abort = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, timeoutMs);
  const stop = () => abort.abort();
  signal?.addEventListener('abort', stop, { once: true });
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body,
      // A redirect could carry the body to a host the user never named.
      redirect: 'manual',
      signal: abort.signal,
    });
    // Read (and drop) the answer, so the connection can be reused or closed rather than held.
    await res.arrayBuffer().catch(() => undefined);
    return res.ok ? undefined : `HTTP ${res.status}`;
  } catch (err) {
    if (timedOut) return `no answer within ${timeoutMs} ms`;
    if (signal?.aborted) return 'stopped waiting: the daemon stopped';
    const e = toError(err);
    const code = (e.cause as { code?: unknown } | undefined)?.code;
    return typeof code === 'string' ? `${e.message} (${code})` : e.message;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', stop);
  }
}

/** Runs the command without a shell: the message as JSON on stdin, its fields in NIGHTSHIFT_EVENT_* variables. */
function runCommand(
  argv: readonly string[],
  m: Message,
  opts: { timeoutMs: number; cwd: string; signal?: AbortSignal },
): Promise<string | undefined> {
  const [file, ...args] = fillArgv(argv, m) as [string, ...string[]];
  return new Promise((resolve) => {
    let stderr = '';
    let timedOut = false;
    let settled = false;
    const finish = (why: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', kill);
      resolve(why);
    };
    // Its own process group: a timeout stops what it started too (a notify-send that spawned a helper).
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...messageEnv(m) },
      stdio: ['pipe', 'ignore', 'pipe'],
      detached: true,
    });
    const kill = () => {
      if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, opts.timeoutMs);
    opts.signal?.addEventListener('abort', kill, { once: true });
    child.stderr?.setEncoding('utf8').on('data', (s: string) => {
      if (stderr.length < STDERR_KEEP) stderr += s.slice(0, STDERR_KEEP - stderr.length);
    });
    child.once('error', (err) => {
      finish((err as NodeJS.ErrnoException).code === 'ENOENT' ? `${file}: command not found` : `${file}: ${err.message}`);
    });
    child.once('close', (code, signal) => {
      if (timedOut) return finish(`${file}: no exit within ${opts.timeoutMs} ms`);
      if (code === 0) return finish(undefined);
      const last = stderr.trim().split('\n').at(-1) ?? '';
      finish(`${file} exited ${code ?? signal}${last ? `: ${last}` : ''}`);
    });
    // A command that exits without reading its stdin is no error of ours.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(`${JSON.stringify(messageJson(m))}\n`);
  });
}
