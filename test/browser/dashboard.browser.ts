import { createServer } from 'node:http';
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startDaemon } from '../../src/daemon/start.js';
import { csrfFor } from '../../src/dashboard/auth.js';
import { browser, checkedScreenshot } from '../helpers/browser.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { dashboardFor } from '../helpers/dashboard.js';
import { taskText } from '../helpers/repo.js';
import { readTask } from '../helpers/task.js';

const left = cleanUpAfterEach();

/** Card ids in one column of the board, in order. */
const column = (name: string) => `[data-column="${name}"] article[data-task]`;

describe('dashboard in a real browser', () => {
  it('shows a seeded queue in the right columns, with counts, invalid files and their reasons', async () => {
    const sb = await left.sandbox('---\n---\n');
    const seed: Record<string, Record<string, unknown>> = {
      '001-draft': { title: 'Plan the migration', status: 'draft' },
      '002-queued': { title: 'Add a health endpoint' },
      '003-waiting': { title: 'Document the endpoint', depends_on: ['002-queued'] },
      '004-done': { title: 'Fix the login redirect', status: 'done', attempts: 1, cost_usd: 0.42 },
      '005-failed': { title: 'Upgrade the ORM', status: 'failed', attempts: 3, error: 'tests failed: 3 of 120' },
      '006-blocked': { title: 'Remove the old ORM', status: 'blocked', error: 'dependency 005-failed failed' },
      '007-cancelled': { title: 'Try another cache', status: 'cancelled' },
    };
    for (const [id, fields] of Object.entries(seed)) await sb.write(`tasks/${id}.md`, taskText(fields));
    await sb.write('tasks/008-broken.md', '---\ntitle: [unclosed\n---\n');
    const d = await dashboardFor(left, sb.repo);
    const page = await (await browser(left)).newPage();
    await page.goto(d.url);
    expect(page.url()).not.toContain('token='); // traded for the cookie
    const ids = async (name: string) => Promise.all((await page.locator(column(name)).all()).map((card) => card.getAttribute('data-task')));
    expect(await ids('draft')).toEqual(['001-draft']);
    expect(await ids('queued')).toEqual(['002-queued']);
    expect(await ids('waiting')).toEqual(['003-waiting']);
    expect(await ids('running')).toEqual([]);
    expect(await ids('done')).toEqual(['004-done']);
    expect(await ids('failed')).toEqual(['005-failed']);
    expect(await ids('blocked')).toEqual(['006-blocked']);
    expect(await ids('cancelled')).toEqual(['007-cancelled']);
    expect(await ids('invalid')).toEqual(['008-broken']);
    await expect.poll(() => page.textContent('[data-column="invalid"]')).toMatch(/unclosed|flow sequence|YAML|frontmatter/i);
    expect(await page.textContent('.summary')).toContain('$0.42');
    await expect.poll(() => page.textContent('#live')).toBe('live');

    // Search narrows the board without a reload.
    await page.fill('input[name=q]', 'orm');
    await expect.poll(() => page.locator('article[data-task]').count()).toBe(2);
    await page.fill('input[name=q]', '');
    await expect.poll(() => page.locator('article[data-task]').count()).toBe(8);
    await checkedScreenshot(page, 'board-seeded', ['Plan the migration', 'Upgrade the ORM', 'tests failed: 3 of 120']);

    // A phone-sized screen: the columns scroll sideways, the page does not overflow.
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(1);

    // Dependencies both ways, as links and as a graph.
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`http://127.0.0.1:${d.port}/tasks/002-queued`);
    expect(await page.textContent('#task')).toMatch(/Needed by: 003-waiting/);
    await page.locator('svg.graph a[href="/tasks/003-waiting"]').click();
    await page.waitForURL(/\/tasks\/003-waiting$/);
    expect(await page.locator('svg.graph rect.queued').count()).toBe(2); // 002-queued above, itself
    expect(await page.textContent('#task')).toMatch(/Depends on: 002-queued/);
    await checkedScreenshot(page, 'task-graph', ['Document the endpoint', 'Depends on: 002-queued']);
  });

  it('shows a dropped task appear, run with its output streaming, and end done, with no reload; its page shows the diff', async () => {
    // The executor waits on gate files outside its worktree, which the sandbox would hide: unsandboxed.
    const sb = await left.sandbox('---\nsandbox: none\n---\n');
    const gate = (n: number) => join(sb.dir, `release-${n}`);
    // Neighbours the daemon leaves alone, so the screenshot (docs/dashboard.png) shows a night in progress.
    await sb.write('tasks/002-plan.md', taskText({ title: 'Plan the cache layer', status: 'draft' }));
    await sb.write('tasks/003-cache.md', taskText({ title: 'Add the cache layer', depends_on: ['002-plan'] }));
    await sb.write('tasks/004-login.md', taskText({ title: 'Fix the login redirect', status: 'done', attempts: 1, cost_usd: 0.31 }));
    await sb.write(
      'tasks/005-orm.md',
      taskText({ title: 'Upgrade the ORM', status: 'failed', attempts: 3, error: 'tests failed: 3 of 120' }),
    );
    await sb.write('tasks/006-old.md', taskText({ title: 'Try another cache', status: 'cancelled' }));
    const handle = left.daemon(await startDaemon({ cwd: sb.repo, worktreeRoot: join(sb.dir, 'wt'), rescanMs: 500 }));
    const d = await dashboardFor(left, sb.repo);
    const page = await (await browser(left)).newPage();
    await page.goto(d.url);
    await expect.poll(() => page.textContent('#live')).toBe('live');
    // A reload would lose this.
    await page.evaluate('window.loadedOnce = true');

    const wait = (n: number) => `while [ ! -f '${gate(n)}' ]; do sleep 0.05; done`;
    const run = `echo first-line-out; ${wait(1)}; echo second-line-out; ${wait(2)}; printf 'hello from the agent\\n' > greeting.txt`;
    await writeFile(join(sb.repo, 'tasks', '001-greet.md'), taskText({ title: 'Write a greeting', run }));

    await page.locator(`${column('running')}[data-task="001-greet"]`).waitFor({ timeout: 30_000 });
    const output = page.locator('pre[data-output="001-greet"]');
    await expect.poll(() => output.textContent(), { timeout: 30_000 }).toContain('first-line-out');
    await expect.poll(() => page.textContent('#running [data-started]')).toMatch(/\d+m \d+s of \d+/);
    await writeFile(gate(1), '');
    await expect.poll(() => output.textContent(), { timeout: 30_000 }).toContain('second-line-out');
    await checkedScreenshot(page, 'board-running', ['Write a greeting', 'second-line-out']);
    await writeFile(gate(2), '');
    await page.locator(`${column('done')}[data-task="001-greet"]`).waitFor({ timeout: 60_000 });
    await expect.poll(() => page.textContent('#feed'), { timeout: 10_000 }).toMatch(/001-greet done/);
    expect(await page.evaluate<boolean>('window.loadedOnce === true')).toBe(true);
    await handle.stop();

    await page.click('a[href="/tasks/001-greet"]');
    await page.locator('#diff .add', { hasText: '+hello from the agent' }).waitFor();
    expect(await page.textContent('#diff')).toContain('greeting.txt');
    expect(await page.textContent('#task')).toContain('Attempt 1');
    await checkedScreenshot(page, 'task-diff', ['Write a greeting', '+hello from the agent', 'Transcript']);
  });

  it('requeues and cancels from the page, through the CLI verbs', async () => {
    const sb = await left.sandbox('---\n---\n');
    await sb.write('tasks/001-failed.md', taskText({ title: 'Flaky migration', status: 'failed', attempts: 3, error: 'tests failed' }));
    await sb.write('tasks/002-queued.md', taskText({ title: 'Unwanted task' }));
    const d = await dashboardFor(left, sb.repo);
    const page = await (await browser(left)).newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(d.url);
    await expect.poll(() => page.textContent('#live')).toBe('live');

    await page.locator(`${column('failed')}[data-task="001-failed"] button`, { hasText: 'Requeue' }).click();
    await page.locator(`${column('queued')}[data-task="001-failed"]`).waitFor();
    await expect.poll(() => page.textContent('#flash')).toContain('001-failed: failed -> queued');
    expect((await readTask(sb, '001-failed')).fm).toMatchObject({ status: 'queued', attempts: 0 });

    await page.locator(`${column('queued')}[data-task="002-queued"] button`, { hasText: 'Cancel' }).click();
    await page.locator(`${column('cancelled')}[data-task="002-queued"]`).waitFor();
    expect((await readTask(sb, '002-queued')).fm.status).toBe('cancelled');
    await expect.poll(() => page.textContent('#feed')).toMatch(/002-queued cancelled/);
  });

  it('answers 401 without the token, and refuses a cross-origin POST even with the right CSRF token', async () => {
    const sb = await left.sandbox('---\n---\n');
    await sb.write('tasks/001-queued.md', taskText({ title: 'Keep me' }));
    const d = await dashboardFor(left, sb.repo);
    const context = await browser(left);
    const page = await context.newPage();
    const bare = await page.goto(`http://127.0.0.1:${d.port}/`);
    expect(bare?.status()).toBe(401);
    expect(await page.textContent('body')).toContain('a token is needed');

    // The browser now holds the cookie; another site on this machine (same site, other port) posts a form.
    await page.goto(d.url);
    const evil = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<form id="f" method="post" action="http://127.0.0.1:${d.port}/actions/cancel/001-queued">
        <input name="csrf" value="${csrfFor(d.token)}"></form><script>document.getElementById('f').submit()</script>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    left.defer(() => {
      evil.closeAllConnections();
      return new Promise((resolve) => evil.close(resolve));
    });
    const refused = page.waitForResponse((r) => r.url().includes('/actions/cancel/001-queued'));
    await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
    expect((await refused).status()).toBe(403);
    expect((await readTask(sb, '001-queued')).fm.status).toBeUndefined();
  });
});
