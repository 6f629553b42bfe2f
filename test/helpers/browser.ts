import { existsSync } from 'node:fs';
import { mkdir, stat, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM, HEADLESS_ARGS } from '../../bench/lib/chromium.mjs';
import type { Leftovers } from './cleanup.js';

/** Screenshots the browser tests save and check: kept after the run as artifacts. */
export const ARTIFACTS = resolve(import.meta.dirname, '../browser/artifacts');

/** Headless Chromium (Debian's, which .ci/run installs) with a fresh profile, closed after the test. */
export async function browser(left: Leftovers): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM`);
  const profile = await left.tempDir('nightshift-chromium-');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: HEADLESS_ARGS,
  });
  left.defer(() => context.close());
  return context;
}

/**
 * Saves a screenshot as an artifact and checks it: a real PNG of the viewport's size with content in
 * it, taken while the page showed every one of `texts`.
 */
export async function checkedScreenshot(page: Page, name: string, texts: string[]): Promise<string> {
  const body = (await page.textContent('body')) ?? '';
  for (const text of texts) if (!body.includes(text)) throw new Error(`screenshot ${name}: the page does not show "${text}"`);
  await mkdir(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  const png = await readFile(file);
  if (png.subarray(1, 4).toString('latin1') !== 'PNG') throw new Error(`screenshot ${name} is not a PNG`);
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  if (width < 300 || height < 300) throw new Error(`screenshot ${name} is ${width}x${height}`);
  // A blank page compresses to almost nothing; a rendered board does not.
  if ((await stat(file)).size < 15_000) throw new Error(`screenshot ${name} is nearly empty (${png.length} bytes)`);
  return file;
}
