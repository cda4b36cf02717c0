// A real headless Chromium for the web UI tests (Debian's package, installed by
// scripts/setup.sh, driven by puppeteer-core), and where their screenshots are kept.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import { ROOT } from './harness.mjs';

const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = path.join(ROOT, '.wrangler', 'artifacts');
export const UI_TIMEOUT_MS = 60_000;

/** Chromium, headless; screenshots go to ARTIFACTS. */
export async function launchBrowser() {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/setup.sh (apt-get install chromium)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

/** The page's text, once `ok(text)` holds (the UI loads its data after the first paint). */
export async function textWhen(page, what, ok) {
  const until = Date.now() + UI_TIMEOUT_MS;
  for (;;) {
    // biome-ignore lint/performance/useDomNodeTextContent: the rendered text, one line per block, is what is asserted
    const text = await page.evaluate(() => document.body.innerText);
    if (ok(text)) return text;
    if (Date.now() > until) throw new Error(`the page never showed ${what}; it shows:\n${text.slice(0, 3000)}`);
    await page.waitForNetworkIdle({ idleTime: 200, timeout: 5_000 }).catch(() => {});
  }
}
