import { writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { csrfFor } from '../../src/dashboard/auth.js';
import { main } from '../../src/cli/main.js';
import { listTasks } from '../../src/commands/list.js';
import { showTask } from '../../src/commands/show.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { cookieOf, dashboardFor, http } from '../helpers/dashboard.js';
import { progressEvents, taskText } from '../helpers/repo.js';
import { readTask } from '../helpers/task.js';
import { spawnCli, waitFor } from '../helpers/wait.js';

const left = cleanUpAfterEach();

async function seeded() {
  const sb = await left.sandbox('---\n---\n');
  await sb.write('tasks/001-done.md', taskText({ title: 'Done one', status: 'done', attempts: 1 }));
  await sb.write('tasks/002-failed.md', taskText({ title: 'Failed one', status: 'failed', attempts: 3, error: 'tests failed' }));
  await sb.write('tasks/003-draft.md', taskText({ title: 'Draft one', status: 'draft', depends_on: ['001-done'] }));
  await sb.write('tasks/004-broken.md', '---\ntitle: [unclosed\n---\n');
  return sb;
}

function captured() {
  let out = '';
  return { io: { out: (t: string) => void (out += t), err: () => undefined }, text: () => out };
}

describe('dashboard: token, Host, Origin and CSRF', () => {
  it('answers 401 without the token, trades the token in the address for a cookie, and refuses other Host names', async () => {
    const sb = await seeded();
    const d = await dashboardFor(left, sb.repo);
    for (const path of ['/', '/api/tasks', '/api/events', '/tasks/001-done', '/assets/htmx.js']) {
      expect((await http(d.port, path)).status, path).toBe(401);
    }
    expect((await http(d.port, '/?token=wrong')).status).toBe(401);
    expect((await http(d.port, '/', { headers: { cookie: 'nightshift_dashboard=wrong' } })).status).toBe(401);

    const opened = await http(d.port, `/tasks/001-done?token=${d.token}`);
    expect(opened.status).toBe(303);
    expect(opened.headers.location).toBe('/tasks/001-done'); // the token leaves the address bar
    const cookie = String(opened.headers['set-cookie']);
    expect(cookie).toContain(cookieOf(d));
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);

    const page = await http(d.port, '/', { headers: { cookie: cookieOf(d) } });
    expect(page.status).toBe(200);
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.body).toContain('Failed one');
    // DNS rebinding: a page of another site resolved to 127.0.0.1 sends its own name.
    const rebound = await http(d.port, '/api/tasks', { headers: { cookie: cookieOf(d), host: `evil.example:${d.port}` } });
    expect(rebound.status).toBe(403);
    // A tunnel may forward another local port: loopback names pass whatever the port.
    expect((await http(d.port, '/api/tasks', { headers: { cookie: cookieOf(d), host: 'localhost:9999' } })).status).toBe(200);
    expect((await http(d.port, '/api/tasks', { method: 'PUT', headers: { cookie: cookieOf(d) } })).status).toBe(405);
  });

  it('runs a POST only with the CSRF token from the same origin, through the requeue verb', async () => {
    const sb = await seeded();
    const d = await dashboardFor(left, sb.repo);
    const form = (csrf: string) => `csrf=${encodeURIComponent(csrf)}`;
    const post = (headers: Record<string, string>, body: string) =>
      http(d.port, '/actions/requeue/002-failed', {
        method: 'POST',
        headers: { cookie: cookieOf(d), 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body,
      });
    const origin = `http://127.0.0.1:${d.port}`;
    expect((await post({ origin }, '')).status).toBe(403);
    expect((await post({ origin }, form('forged'))).status).toBe(403);
    expect((await post({ origin: 'http://evil.example' }, form(csrfFor(d.token)))).status).toBe(403);
    expect((await post({ origin, 'sec-fetch-site': 'cross-site' }, form(csrfFor(d.token)))).status).toBe(403);
    expect((await readTask(sb, '002-failed')).fm.status).toBe('failed');

    const ok = await post({ origin, 'hx-request': 'true' }, form(csrfFor(d.token)));
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('002-failed: failed -&#62; queued');
    expect((await readTask(sb, '002-failed')).fm.status).toBe('queued');
    expect(progressEvents(await sb.read('progress.txt')).map((e) => `${e.id} ${e.event}`)).toEqual(['002-failed requeued']);

    // The verb's refusal comes back as the verb words it.
    const again = await post({ origin, 'hx-request': 'true' }, form(csrfFor(d.token)));
    expect(again.body).toContain('002-failed is already queued');
    // Approve: a draft becomes queued; cancel: queued becomes cancelled.
    const act = (path: string) =>
      http(d.port, path, {
        method: 'POST',
        headers: { cookie: cookieOf(d), origin, accept: 'application/json', 'x-csrf-token': csrfFor(d.token) },
      });
    expect(JSON.parse((await act('/actions/approve/003-draft')).body)).toEqual({ ok: true, message: '003-draft: draft -> queued' });
    expect(JSON.parse((await act('/actions/cancel/003-draft')).body)).toEqual({ ok: true, message: '003-draft: queued -> cancelled' });
    expect((await act('/actions/cancel/..%2Fetc')).status).toBe(400);
  });

  it('turns every action off with --read-only', async () => {
    const sb = await seeded();
    const d = await dashboardFor(left, sb.repo, { readOnly: true });
    const page = await http(d.port, '/', { headers: { cookie: cookieOf(d) } });
    expect(page.body).not.toContain('/actions/');
    const res = await http(d.port, '/actions/requeue/002-failed', {
      method: 'POST',
      headers: { cookie: cookieOf(d), origin: `http://127.0.0.1:${d.port}`, 'x-csrf-token': csrfFor(d.token) },
    });
    expect(res.status).toBe(403);
    expect((await readTask(sb, '002-failed')).fm.status).toBe('failed');
  });
});

describe('dashboard: no secret on the page', () => {
  it('masks a token in the transcript, the prompt, the frontmatter, the spec and the progress feed', async () => {
    const sb = await seeded();
    const token = `ghp_${'a1B2c3D4e5'.repeat(4)}`;
    await sb.write(
      'tasks/006-leaky.md',
      taskText({ title: `Leaky ${token}`, status: 'failed', attempts: 1, note: token }, `Use ${token} here.\n`),
    );
    await sb.write('.nightshift/logs/006-leaky/1.log', `==> attempt 1\nauth with ${token}\n`);
    await sb.write('.nightshift/logs/006-leaky/1.prompt.md', `prompt ${token}\n`);
    await sb.write('progress.txt', `2026-12-01T00:00:00Z 006-leaky failed reason="saw ${token}"\n`);
    const d = await dashboardFor(left, sb.repo);
    for (const path of ['/tasks/006-leaky', '/']) {
      const page = await http(d.port, path, { headers: { cookie: cookieOf(d) } });
      expect(page.status).toBe(200);
      expect(page.body).not.toContain(token);
      expect(page.body).toContain('***');
    }
  });
});

describe('dashboard: JSON API', () => {
  it('serves list --json and show --json shapes', async () => {
    const sb = await seeded();
    const d = await dashboardFor(left, sb.repo);
    const auth = { authorization: `Bearer ${d.token}` };
    const list = captured();
    await listTasks({ cwd: sb.repo, json: true }, list.io);
    expect(JSON.parse((await http(d.port, '/api/tasks', { headers: auth })).body)).toEqual(JSON.parse(list.text()));
    for (const id of ['002-failed', '004-broken']) {
      const show = captured();
      await showTask({ cwd: sb.repo, id, json: true }, show.io);
      expect(JSON.parse((await http(d.port, `/api/tasks/${id}`, { headers: auth })).body)).toEqual(JSON.parse(show.text()));
    }
    expect((await http(d.port, '/api/tasks/nope', { headers: auth })).status).toBe(404);
    const status = JSON.parse((await http(d.port, '/api/status', { headers: auth })).body) as {
      running: boolean;
      tasks: Record<string, number>;
    };
    expect(status.running).toBe(false);
    expect(status.tasks).toMatchObject({ done: 1, failed: 1, draft: 1, invalid: 1 });
  });

  it('pushes a board event on /api/events when a task file is dropped into tasks/', async () => {
    const sb = await seeded();
    const d = await dashboardFor(left, sb.repo);
    const events: string[] = [];
    const req = request({ host: '127.0.0.1', port: d.port, path: '/api/events', headers: { authorization: `Bearer ${d.token}` } });
    left.defer(() => req.destroy());
    const hello = new Promise<void>((resolve) => {
      req.on('response', (res) => {
        expect(res.headers['content-type']).toMatch(/text\/event-stream/);
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          events.push(...[...chunk.matchAll(/^event: (\S+)/gm)].map((m) => m[1] as string));
          if (events.includes('hello')) resolve();
        });
      });
    });
    req.end();
    await hello;
    await writeFile(join(sb.repo, 'tasks', '005-new.md'), taskText({ title: 'New' }));
    await expect.poll(() => events.includes('board'), { timeout: 10_000 }).toBe(true);
  });
});

describe('dashboard command', () => {
  it('refuses --host 0.0.0.0 without a token, and a bad port, with a hint', async () => {
    const sb = await left.sandbox();
    let err = '';
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = (t: string) => ((err += t), true);
    try {
      expect(await main(['node', 'nightshift', 'dashboard', '--host', '0.0.0.0', '--port', '0'], sb.repo)).toBe(2);
      expect(await main(['node', 'nightshift', 'dashboard', '--port', '70000'], sb.repo)).toBe(2);
      expect(await main(['node', 'nightshift', 'dashboard', '--token', 'short', '--port', '0'], sb.repo)).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    expect(err).toContain('--host 0.0.0.0 makes the dashboard reachable from other machines');
    expect(err).toContain('hint: give --token');
    expect(err).toContain('must be a port number');
    expect(err).toContain('at least 16 characters');
  });

  it('serves until SIGTERM as its own process, and inside `daemon start --dashboard`', async () => {
    const sb = await left.sandbox('---\n---\n');
    const bg = spawnCli(sb, ['dashboard', '--port', '0', '--read-only']);
    left.pids.push(bg.child.pid as number);
    let out = '';
    bg.child.stdout?.on('data', (s: string) => (out += s));
    const url = await waitFor(
      'the printed address',
      () => /dashboard on (http:\/\/127\.0\.0\.1:(\d+)\/\?token=\S+) \(read-only\)/.exec(out) ?? undefined,
    );
    const port = Number(url[2]);
    expect((await http(port, '/api/tasks')).status).toBe(401);
    expect((await http(port, new URL(url[1] as string).pathname + new URL(url[1] as string).search)).status).toBe(303);
    bg.child.kill('SIGTERM');
    expect((await bg.exited).code).toBe(0);

    const run = await sb.cli(['daemon', 'start', '--once', '--dashboard', '0']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/nightshift: dashboard on http:\/\/127\.0\.0\.1:\d+\/\?token=/);
    expect(run.stdout).toContain('nightshift: 0 done, 0 failed, 0 blocked');
  });
});
