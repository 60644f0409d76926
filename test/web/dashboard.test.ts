// The dashboard in Debian's chromium (playwright-core) against a real client daemon and six storage peers,
// the health loop on small intervals (P2PBACKUP_HEALTH, repair threshold 5 of n = 5, a repair waiting 4 s so
// "degraded" lasts long enough to be seen and photographed), in order:
// 1. a folder backed up three times from the page: its history shows three snapshots with the bytes each
//    added, and the changes between two of them;
// 2. the peers table: one row per peer, with the balances GET /api/fairness has;
// 3. safety: the folder is "safe"; a holder is SIGKILLed: "degraded", then the loop repairs ("repairing"),
//    then "safe" again, every state seen in the page (a MutationObserver keeps each one it showed);
// 4. a long restore (speed-limited): a moving progress bar and an ETA, still there after a page reload (the
//    daemon is the source of truth), cancelled from the page with the keyboard alone;
// 5. accessibility: axe-core finds no serious or critical violation, on the dashboard, the history and a
//    phone-sized read-only view (which must not scroll sideways).
// Screenshots of each state go to test-artifacts/web/dashboard-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startSwarm, type Swarm } from '../../src/peer/swarm.ts';
import { WEB_ROOT } from '../../src/api/routes/ui.ts';
import type { ApiClient } from '../../src/api/client.ts';
import { apiFor, tempDir } from '../integration/helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/web/', import.meta.url));
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const skip = !existsSync(CHROMIUM)
  ? `${CHROMIUM} is missing (apt-get install chromium)`
  : !existsSync(join(WEB_ROOT, 'main.js'))
    ? 'the web UI is not built (node scripts/build.ts --web-only)'
    : false;
if (skip) console.log(`# skipping the dashboard test: ${skip}`);

const HEALTH = { intervalMs: 1500, repairThreshold: 5, repairAfterMs: 4000, auditsPerRound: 2 };
const BIG_FILES = 48; // the restore's files: 48 × 256 KiB = 12 MiB, at 1 MiB/s about 12 s
const BIG_FILE_BYTES = 256 * 1024;
const RESTORE_LIMIT_KIB = 1024;

let swarm: Swarm;
let tmp: { dir: string; cleanup: () => Promise<void> };
let browser: Browser;
let context: BrowserContext;
let page: Page;
let api: ApiClient;
let src = '';
const t0 = Date.now();
const log = (what: string) => process.stderr.write(`# ${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}\n`);
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
];

before(async () => {
  if (skip) return;
  tmp = await tempDir('p2pb-dash-');
  await mkdir(ARTIFACTS, { recursive: true });
  src = join(tmp.dir, 'docs');
  await mkdir(join(src, 'big'), { recursive: true });
  for (let i = 0; i < BIG_FILES; i++) await writeFile(join(src, 'big', `part-${String(i).padStart(2, '0')}.bin`), randomBytes(BIG_FILE_BYTES));
  await writeFile(join(src, 'notes.txt'), 'first version\n');
  swarm = await startSwarm({ dir: tmp.dir, peers: 6, env: { P2PBACKUP_HEALTH: JSON.stringify(HEALTH) } });
  api = await apiFor(tmp.dir, swarm.info.client.apiUrl);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  page = await context.newPage();
  log('swarm and browser up');
});
after(async () => {
  await browser?.close();
  await swarm?.stop();
  await tmp?.cleanup();
});

const shot = (p: Page, name: string) => p.screenshot({ path: join(ARTIFACTS, `dashboard-${name}.png`), fullPage: true });
async function until<T>(what: string, ms: number, f: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(250);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
async function signIn(p: Page): Promise<void> {
  await p.goto(swarm.info.client.apiUrl + '/');
  await p.getByLabel('API token').fill(api.token);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('heading', { name: 'Swarm' }).waitFor();
}
const folderRow = () => page.locator(`tr[data-path="${src}"]`);
const ops = (kind: string, state: string) => page.locator(`li[data-op-kind="${kind}"][data-op-state="${state}"]`);

/** Serious and critical axe violations on the page as it is now (all of them are logged). */
async function axe(p: Page, where: string): Promise<string[]> {
  if (!(await p.evaluate(() => typeof (globalThis as any).axe === 'object'))) await p.evaluate(await readFile(AXE, 'utf8'));
  const r = await p.evaluate(() =>
    (globalThis as any).axe.run((globalThis as any).document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }
    })
  );
  for (const v of r.violations)
    process.stderr.write(
      `# axe (${where}): ${v.impact} ${v.id}: ${v.help} (${v.nodes.length}) ${v.nodes
        .slice(0, 2)
        .map((n: any) => n.target.join(' '))
        .join(' | ')}\n`
    );
  return r.violations
    .filter((v: any) => v.impact === 'serious' || v.impact === 'critical')
    .map((v: any) => `${v.id}: ${v.help} at ${v.nodes.map((n: any) => n.target.join(' ')).join(', ')}`);
}

test(
  'a folder backed up three times from the page: the timeline has three snapshots with the bytes each added, and the diff between two',
  { skip },
  async () => {
    await signIn(page);
    await page.getByLabel('Folder path').fill(src);
    await page.getByLabel('Watch for changes').uncheck(); // each snapshot comes from "Back up now"
    await page.getByRole('button', { name: 'Add folder' }).click();
    await folderRow().waitFor();
    const snapshots = async () => (await api.json<{ snapshots: unknown[] }>('GET', `/api/snapshots?of=${encodeURIComponent(src)}`)).snapshots.length;
    const backUp = async (n: number) => {
      await page.getByRole('button', { name: `Back up now: ${src}` }).click();
      await until(`snapshot ${n}`, 120_000, async () => (await snapshots()) >= n);
      await ops('backup', 'done').first().waitFor(); // the Activity list shows it ended
    };
    await backUp(1);
    await writeFile(join(src, 'extra.bin'), randomBytes(100_000));
    await backUp(2);
    await writeFile(join(src, 'notes.txt'), 'second version, a little longer\n');
    await writeFile(join(src, 'more.txt'), 'more\n');
    await backUp(3);
    log('three backups');
    assert.equal(await ops('backup', 'failed').count(), 0);

    await page.getByRole('button', { name: `History of ${src}` }).click();
    const chart = page.locator('[data-history] svg.chart');
    await chart.waitFor();
    assert.equal(await chart.getAttribute('data-points'), '3');
    const snaps = (
      await api.json<{ snapshots: { time: number; stats?: { added?: number } }[] }>('GET', `/api/snapshots?of=${encodeURIComponent(src)}&details=1`)
    ).snapshots;
    const added = snaps.map((s) => s.stats?.added);
    assert.ok(
      added.every((a) => typeof a === 'number'),
      `every snapshot records the bytes it added: ${added}`
    );
    assert.ok(added[0]! >= BIG_FILES * BIG_FILE_BYTES, `the first backup stored the 12 MiB of random files: ${added[0]}`);
    assert.ok(added[1]! >= 100_000 && added[1]! < added[0]! / 10 && added[2]! < added[1]!, `then 100 kB, then a few bytes: ${added}`);
    // One bar per snapshot, as tall as what it added: the first is the tallest.
    const heights = await chart.locator('rect.mark').evaluateAll((els) => els.map((el: any) => Number(el.getAttribute('height'))));
    assert.equal(heights.length, 3);
    assert.ok(heights[0] > heights[1] && heights[1] >= heights[2], `bar heights ${heights}`);
    assert.equal(await page.getByRole('table', { name: 'Snapshots' }).locator('tbody tr').count(), 3);

    // The last two: one file added, one changed.
    await page.getByRole('button', { name: 'Show changes' }).click();
    const diff = page.locator('.diff');
    await diff.waitFor();
    assert.deepEqual(await diff.locator('.diff-added li').allTextContents(), ['more.txt']);
    assert.deepEqual(await diff.locator('.diff-changed li').allTextContents(), ['notes.txt']);
    await shot(page, '1-history');
  }
);

test('the peers table: a row per peer, with the balances GET /api/fairness has, how each is reached, its latency; the swarm space', { skip }, async () => {
  const table = page.getByRole('table', { name: 'Peers' });
  await table.waitFor();
  // The page refreshes the table on its own (every 15 s, and when a peer comes or goes); compare until both agree.
  const rows = await until('the peers table to match /api/fairness', 60_000, async () => {
    const f = await api.json<{ peers: { peer: string; theyStoreForMe: number; storedForThem: number }[] }>('GET', '/api/fairness');
    const shown = await table.locator('tbody tr').evaluateAll((trs) =>
      trs.map((tr: any) => {
        const cell = tr.querySelector('[data-for-me]');
        return { peer: tr.dataset.peer, forMe: cell.dataset.forMe, forThem: cell.dataset.forThem, text: tr.textContent };
      })
    );
    const stored = f.peers.filter((p) => p.theyStoreForMe > 0);
    if (stored.length < 5) return undefined; // every share of the folder placed and recorded
    const ok = f.peers.every((p) => shown.some((r) => r.peer === p.peer && Number(r.forMe) === p.theyStoreForMe && Number(r.forThem) === p.storedForThem));
    return ok ? shown : undefined;
  });
  assert.ok(rows.length >= 6, `${rows.length} rows`);
  const storage = rows.filter((r) => swarm.info.peers.some((p) => p.peerId === r.peer));
  assert.equal(storage.length, 6, 'every storage peer has its row');
  for (const r of storage) {
    assert.match(r.text, /direct \(tcp 127\.0\.0\.1:\d+\)/, 'reached directly, over TCP on loopback');
    assert.match(r.text, /connected now; up \d+% of/);
    assert.match(r.text, /\d+ ms/, 'a round trip');
    assert.match(r.text, /used of/, 'the space it offers');
  }
  await until('the swarm space', 20_000, async () => /used of .* offered by 7 of 7 peers/.test((await page.locator('#swarm-space').textContent()) ?? ''));
  await table.scrollIntoViewIfNeeded();
  await shot(page, '2-peers');
});

test('safety: "safe", a holder killed: "degraded", the loop repairs ("repairing"), "safe" again, all seen in the page', { skip }, async () => {
  const safety = folderRow().locator('[data-health]');
  await folderRow().locator('[data-health="safe"]').waitFor({ timeout: 90_000 });
  const sentence = await folderRow().locator('.sentence').textContent();
  assert.match(sentence!, /^Every pack of the latest snapshot \(\d+\) has 5 of 5 shares on 5 distinct peers; 3 are needed\.$/);
  const inputs = await folderRow().locator('.nines').getAttribute('title');
  assert.match(inputs!, /3 of 5 shares needed per pack/);
  assert.match(inputs!, /peer …\w+: up \d+% of rounds, \d+ shares/);
  assert.match((await folderRow().locator('.nines').textContent()) ?? '', /nines/);
  await folderRow().getByText('How safe, in detail').click();
  assert.equal(await folderRow().locator('[data-below]').getAttribute('data-below'), '0');
  await shot(page, '3-safe');

  // Every state the cell shows from now on, however briefly.
  await page.evaluate(() => {
    const g = globalThis as any;
    g.healthStates = [];
    const cell = g.document.querySelector('tr[data-path] .safety-cell');
    const note = () => {
      const s = cell.querySelector('[data-health]')?.getAttribute('data-health');
      if (s && g.healthStates.at(-1) !== s) g.healthStates.push(s);
    };
    note();
    new g.MutationObserver(note).observe(cell, { childList: true, subtree: true, attributes: true });
  });
  const state = await api.json<{ folders: { folder: string; hosts: { peer: string; shares: number }[] }[] }>('GET', '/api/health/state');
  const victim = state.folders.find((f) => f.folder === src)!.hosts[0].peer;
  const i = swarm.info.peers.findIndex((p) => p.peerId === victim);
  assert.ok(i >= 0, 'the holder is a storage peer of the swarm');
  await swarm.kill(i);
  log(`killed peer ${i}`);
  await folderRow().locator('[data-health="degraded"]').waitFor({ timeout: 30_000 });
  assert.match((await folderRow().locator('.sentence').textContent()) ?? '', /on fewer than 5 distinct peers \(the weakest: 4 of 5 shares on 4 peers\)/);
  await shot(page, '4-degraded');
  await folderRow().locator('[data-health="safe"]').waitFor({ timeout: 120_000 });
  log('safe again');
  await shot(page, '5-repaired');
  const seen: string[] = await page.evaluate(() => (globalThis as any).healthStates);
  const [d, r, s] = [seen.indexOf('degraded'), seen.indexOf('repairing'), seen.lastIndexOf('safe')];
  assert.ok(d >= 0 && r > d && s > r, `degraded, then repairing, then safe: ${seen}`);
  assert.notEqual(await folderRow().locator('[data-last-repair]').getAttribute('data-last-repair'), '', 'the last repair is shown');
  assert.ok((await ops('repair', 'done').count()) >= 1, 'the repair is in the Activity list');
  assert.equal(await safety.count(), 1);
});

test('a long restore: a moving progress bar and an ETA, still there after a reload, cancelled from the page by keyboard', { skip }, async () => {
  await page.getByRole('button', { name: `Browse ${src}` }).click();
  await page.getByRole('table', { name: 'Files' }).waitFor();
  const target = join(tmp.dir, 'restored');
  await page.getByLabel('Restore to path').fill(target);
  await page.getByLabel('Speed limit (KiB/s, optional)').fill(String(RESTORE_LIMIT_KIB));
  await page.getByRole('button', { name: 'Restore snapshot' }).click();
  const running = ops('restore', 'running');
  const bar = running.locator('progress');
  const value = () => bar.evaluate((el: any) => (el.hasAttribute('value') ? Number(el.value) : -1));
  const v1 = await until('the restore to show progress', 60_000, async () => {
    const v = await value().catch(() => -1);
    return v > 0 ? v : undefined;
  });
  const v2 = await until('the bar to move', 30_000, async () => {
    const v = await value();
    return v > v1 ? v : undefined;
  });
  const text = await running.locator('.op-text').textContent();
  assert.match(text!, /^\d+ of 51 files, [\d.]+ [KM]iB of 12 MiB, [\d.]+ [KM]iB\/s, about \d+ s left$/, `files and bytes of the totals, rate, ETA: ${text}`);
  assert.ok(Number(await bar.getAttribute('max')) > BIG_FILES * BIG_FILE_BYTES, 'the bar measures bytes of the total');
  await shot(page, '6-restore-progress');

  // The daemon is the source of truth: a reloaded page finds the restore still running, and still moving.
  await page.reload();
  await page.getByRole('heading', { name: 'Activity' }).waitFor();
  await until('the reloaded page to show the restore moving on', 30_000, async () => {
    const v = await value().catch(() => -1);
    return v > v2 ? v : undefined;
  });

  // Keyboard only: Tab to its Cancel button (every stop on the way shows where the focus is), then Enter.
  const title = await running.locator('.op-title').textContent();
  await page.locator('body').focus();
  const stops: { label: string; outline: string }[] = [];
  for (let n = 0; n < 80; n++) {
    await page.keyboard.press('Tab');
    const stop = await page.evaluate(() => {
      const el = (globalThis as any).document.activeElement;
      const st = (globalThis as any).getComputedStyle(el);
      return { label: el.getAttribute('aria-label') ?? el.textContent?.trim().slice(0, 40) ?? el.tagName, outline: `${st.outlineStyle} ${st.outlineWidth}` };
    });
    stops.push(stop);
    if (stop.label === `Cancel ${title}`) break;
  }
  assert.equal(stops.at(-1)!.label, `Cancel ${title}`, `reached by Tab: ${stops.map((s) => s.label).join(' | ')}`);
  for (const s of stops) assert.doesNotMatch(s.outline, /^none|0px$/, `focus visible on "${s.label}" (${s.outline})`);
  assert.equal(stops[0].label, 'Sign out', 'the header comes first');
  await page.keyboard.press('Enter');
  await ops('restore', 'cancelled').waitFor({ timeout: 30_000 });
  await shot(page, '7-restore-cancelled');
  const op = (await api.json<{ operations: { kind: string; state: string; error?: { code: string } }[] }>('GET', '/api/operations')).operations.find(
    (o) => o.kind === 'restore'
  )!;
  assert.deepEqual([op.state, op.error?.code], ['cancelled', 'ERR_ABORTED']);
  const restored = await readdir(join(target, 'big')).catch(() => []);
  assert.ok(restored.length < BIG_FILES, `stopped before the end: ${restored.length} of ${BIG_FILES} files`);
});

test('accessibility: no serious or critical axe violation on the dashboard and the history; a phone-sized read-only view', { skip }, async () => {
  const problems = await axe(page, 'dashboard');
  await page.getByRole('button', { name: `History of ${src}` }).click();
  await page.locator('[data-history] svg.chart').waitFor();
  await page.getByRole('button', { name: 'Show changes' }).click();
  await page.locator('.diff').waitFor();
  problems.push(...(await axe(page, 'history')));

  const rootCap = (await api.json<{ folders: { path: string; rootCap: string }[] }>('GET', '/api/folders')).folders.find((f) => f.path === src)!.rootCap;
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  try {
    const p = await phone.newPage();
    await signIn(p);
    await p.getByLabel('Read cap', { exact: true }).fill(rootCap);
    await p.getByRole('button', { name: 'Open', exact: true }).click();
    await p.getByText('read-only: opened with a read cap').waitFor();
    await p.getByRole('table', { name: 'Files' }).waitFor();
    const overflow = await p.evaluate(() => {
      const d = (globalThis as any).document.documentElement;
      return d.scrollWidth - d.clientWidth;
    });
    assert.ok(overflow <= 0, `no sideways scrolling on a phone (${overflow} px too wide)`);
    await p.locator('#panel').screenshot({ path: join(ARTIFACTS, 'dashboard-8-phone-read-only.png') });
    await p.screenshot({ path: join(ARTIFACTS, 'dashboard-9-phone-top.png') });
    problems.push(...(await axe(p, 'phone')));
  } finally {
    await phone.close();
  }
  assert.deepEqual(problems, []);
});
