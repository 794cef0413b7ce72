// The web page in a real headless browser (Debian's chromium through playwright-core): give the
// token, upload a normal image, an anomalous one and a file that is no image, read each verdict
// (or error) from the page, check the nearest normal thumbnails loaded, and save a screenshot to
// test-output/serve-page.png (kept by CI).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { liveTensors } from '../../src/index.js';
import { createServer } from '../../src/serve/server.js';
import { repoRoot } from '../helpers.js';
import { BLUE, colourSet, encodeImage, RED, tinyDetector } from './tiny-detector.js';
import { notAnImage } from './bad-images.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = join(repoRoot, 'test-output', 'serve-page.png');
const dir = mkdtempSync(join(tmpdir(), 'dm-serve-page-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the page: pick images, read each verdict and the nearest normal thumbnails; screenshot', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install chromium) — the browser test needs it` }, async () => {
  const detector = tinyDetector('knn');
  const base = liveTensors();
  const app = createServer({ detector, token: 'page-token' });
  // A fresh profile in a temporary folder: nothing from another run or user.
  const browser = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM, headless: true, viewport: { width: 1000, height: 640 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
    const files = [join(dir, 'cat-normal.png'), join(dir, 'dog-odd.jpg'), join(dir, 'broken.png')];
    writeFileSync(files[0], await encodeImage(colourSet(1, RED, 21, 'q'), 0));
    writeFileSync(files[1], await encodeImage(colourSet(1, BLUE, 22, 'q'), 0, 'jpeg'));
    writeFileSync(files[2], notAnImage());

    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    // The browser logs the 401 (before the token) and the 415 (the broken file) it was meant to get.
    page.on('console', (m) => { if (m.type() === 'error' && !/401|415/.test(m.text())) problems.push(`console: ${m.text()}`); });
    await page.goto(url);
    // The token is asked for, then used.
    await page.locator('#token-form').waitFor({ state: 'visible' });
    await page.fill('#token', 'page-token');
    await page.click('#token-form button');
    await page.locator('#detector-info', { hasText: 'threshold' }).waitFor();
    assert.equal(await page.locator('#token-form').isVisible(), false, 'the token form hides once the token works');

    await page.setInputFiles('#files', files);
    const normal = page.locator('.result[data-name="cat-normal.png"]');
    const odd = page.locator('.result[data-name="dog-odd.jpg"]');
    await normal.locator('.verdict', { hasText: /^(normal|anomaly)$/ }).waitFor();
    await odd.locator('.verdict', { hasText: /^(normal|anomaly)$/ }).waitFor();
    assert.equal(await normal.locator('.verdict').textContent(), 'normal');
    assert.equal(await odd.locator('.verdict').textContent(), 'anomaly');
    assert.ok(Number(await odd.locator('.score').textContent()) > Number(await normal.locator('.score').textContent()));
    // A file that is no image gets its error on its own card; the others are unaffected.
    const broken = page.locator('.result[data-name="broken.png"]');
    await broken.locator('.verdict', { hasText: 'error' }).waitFor();
    assert.match(await broken.locator('.error').textContent() ?? '', /broken\.png: Expected an image .* but received \d+ bytes of no image format/);
    // Three nearest normal images each, their thumbnails loaded (fetched with the token).
    await page.waitForFunction(() => [...document.querySelectorAll('.neighbours img')].length === 6
      && [...document.querySelectorAll<HTMLImageElement>('.neighbours img')].every((img) => img.complete && img.naturalWidth === 32));
    assert.match(await page.locator('#status').textContent() ?? '', /3 images so far: 1 flagged as anomalies, 1 could not be scored/);
    assert.deepEqual(problems, []);
    mkdirSync(join(repoRoot, 'test-output'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.ok(existsSync(SCREENSHOT));
  } finally {
    await browser.close();
    await app.close();
  }
  assert.equal(liveTensors(), base, 'no tensor leaked');
  detector.dispose();
});
