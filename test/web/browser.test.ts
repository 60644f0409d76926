// The web UI in Debian's chromium (driven by playwright-core) against a real client daemon and four
// storage peers: sign in, add a folder and watch it reach "in sync", restore a file, open the root
// cap's QR code, open the cap in read-only mode and download a file. Screenshots go to
// test-artifacts/web/. The QR check: no QR decoder is installed, so the SVG the page shows is
// compared byte for byte with what `qrcode` draws for the cap with the API's options.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import QRCode from 'qrcode';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startSwarm, type Swarm } from '../../src/peer/swarm.ts';
import { QR_OPTIONS } from '../../src/api/routes/caps.ts';
import { WEB_ROOT } from '../../src/api/routes/ui.ts';
import { apiFor, tempDir } from '../integration/helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/web/', import.meta.url));
const skip = !existsSync(CHROMIUM)
  ? `${CHROMIUM} is missing (apt-get install chromium)`
  : !existsSync(join(WEB_ROOT, 'main.js'))
    ? 'the web UI is not built (node scripts/build.ts --web-only)'
    : false;
if (skip) console.log(`# skipping the browser test: ${skip}`);

let swarm: Swarm;
let tmp: { dir: string; cleanup: () => Promise<void> };
let browser: Browser;
let page: Page;
let token: string;
let source: string;

before(async () => {
  if (skip) return;
  tmp = await tempDir('p2pb-web-');
  await mkdir(ARTIFACTS, { recursive: true });
  swarm = await startSwarm({ dir: tmp.dir, peers: 4 });
  token = (await apiFor(tmp.dir, swarm.info.client.apiUrl)).token;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
  });
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 900 } });
  page = await context.newPage();
});
after(async () => {
  await browser?.close();
  await swarm?.stop();
  await tmp?.cleanup();
});

const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

test('sign in (a wrong token is refused with a clear message)', { skip }, async () => {
  await page.goto(swarm.info.client.apiUrl + '/');
  await page.getByLabel('API token').fill('not-the-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Wrong or missing token' }).waitFor();
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Swarm' }).waitFor();
  await page.getByText('No folders yet').waitFor();
  assert.equal(await page.evaluate(() => (globalThis as any).localStorage.length), 0, 'the token is kept in the session only');
  await shot('1-dashboard');
});

test('add a folder and watch it reach "in sync"; restore one file to a path', { skip }, async () => {
  source = join(tmp.dir, 'docs');
  await mkdir(join(source, 'sub'), { recursive: true });
  await writeFile(join(source, 'note.txt'), 'hello from the browser test\n');
  await writeFile(join(source, 'sub', 'data.bin'), Buffer.alloc(50_000, 9));
  await page.getByLabel('Folder path').fill(source);
  await page.getByRole('button', { name: 'Add folder' }).click();
  const row = page.getByRole('row').filter({ hasText: source });
  await row.waitFor();
  await row.locator('[data-state="in-sync"]').waitFor({ timeout: 120_000 });
  assert.equal(await row.locator('[data-state]').textContent(), 'in sync');
  await shot('2-folder-in-sync');

  await page.getByRole('button', { name: `Browse ${source}` }).click();
  await page.getByRole('table', { name: 'Files' }).waitFor();
  const target = join(tmp.dir, 'restored');
  await page.getByLabel('Restore to path').fill(target);
  await page.getByRole('button', { name: 'Restore note.txt' }).click();
  await page.getByRole('status').filter({ hasText: 'Restored 1 files' }).waitFor({ timeout: 60_000 });
  assert.equal(await readFile(join(target, 'note.txt'), 'utf8'), 'hello from the browser test\n');
  await shot('3-restored');
});

let rootCap: string;
test("the root cap as text and QR code, with its warning; the QR is exactly the cap's", { skip }, async () => {
  await page.getByRole('button', { name: `Root cap of ${source}` }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  await dialog.getByText('grants read access').waitFor();
  rootCap = await dialog.getByLabel('Root cap').inputValue();
  assert.match(rootCap, /^p2pb:mr:/);
  const img = dialog.getByRole('img', { name: /QR code of the root cap/ });
  // (Page functions run in the browser; this file is type-checked without the DOM library.)
  // A function, not a string: the page's CSP forbids eval.
  await page.waitForFunction(() => {
    const qr = (globalThis as any).document.querySelector('.qr img');
    return qr?.complete && qr.naturalWidth > 0;
  });
  const shown = await img.evaluate(async (el: any) => (await fetch(el.src)).text());
  assert.equal(shown, await QRCode.toString(rootCap, { ...QR_OPTIONS, type: 'svg' }), 'the QR shown encodes exactly the root cap');
  await dialog.getByRole('button', { name: 'Copy' }).click();
  await dialog
    .getByRole('status')
    .filter({ hasText: /Copied|Select the text/ })
    .waitFor();
  await shot('4-root-cap-qr');
  await dialog.getByRole('button', { name: 'Close' }).click();
});

test('a read cap opened in read-only mode: browse and download one file; a wrong cap says so', { skip }, async () => {
  await page.getByLabel('Read cap', { exact: true }).fill(rootCap.slice(0, -4) + 'aaaa');
  await page.getByRole('button', { name: 'Open' }).click();
  await page.getByText('That is not a valid cap').waitFor();
  await page.getByLabel('Read cap', { exact: true }).fill(rootCap);
  await page.getByRole('button', { name: 'Open' }).click();
  await page.getByText('read-only: opened with a read cap').waitFor();
  await page.getByRole('button', { name: 'Open sub' }).click();
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), page.getByRole('button', { name: 'Download data.bin' }).click()]);
  assert.equal(download.suggestedFilename(), 'data.bin');
  const saved = join(tmp.dir, 'downloaded.bin');
  await download.saveAs(saved);
  assert.deepEqual(await readFile(saved), Buffer.alloc(50_000, 9));
  await shot('5-read-only-download');
});
