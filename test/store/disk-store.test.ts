import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readdir, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DiskStore, parseSize, formatSize, InvalidSizeError, siToHex, SHARES_DIR, INCOMING_DIR, MIN_SHARE_CHARGE } from '../../src/store/index.ts';
import { storeSuite, put } from './suite.ts';
import { diskHarness } from './harness.ts';

storeSuite('DiskStore', diskHarness());

describe('DiskStore on disk', () => {
  test('layout: shares/<prefix>/<si hex>/<n>; survives reopen', async () => {
    const home = await mkdtemp(join(tmpdir(), 'p2pb-store-'));
    try {
      const si = randomBytes(16);
      const data = randomBytes(30_000);
      let s = await DiskStore.open(home, { offer: '1MiB' });
      await put(s, si, 9, 'owner', data);
      await s.close();
      const hex = siToHex(si);
      assert.deepEqual(await readdir(join(home, SHARES_DIR, hex.slice(0, 2), hex)), ['9']);
      s = await DiskStore.open(home, { offer: '1MiB' });
      assert.deepEqual(s.stats(), { offered: 1024 * 1024, used: 30_000, reserved: 0, free: 1024 * 1024 - 30_000, shares: 1, slots: 0 });
      assert.deepEqual(Buffer.from(await s.read(si, 9, 0, 30_000)), data);
      await s.close();
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  test('crash mid-write: temp file is invisible and removed at reopen; orphan files and dangling index entries reconciled', async () => {
    const home = await mkdtemp(join(tmpdir(), 'p2pb-store-'));
    try {
      const si = randomBytes(16);
      let s = await DiskStore.open(home, { offer: 100_000 });
      await put(s, si, 0, 'owner', randomBytes(100));
      const w = await s.beginWrite(si, 1, 'owner', 1000);
      await w.write(randomBytes(500)); // "crash": never committed nor aborted
      assert.equal((await readdir(join(home, INCOMING_DIR))).length, 1);
      assert.deepEqual(await s.list(si), [{ shareNum: 0, size: 100 }]);
      await s.close();
      // A complete file renamed into place whose index put never happened (crash between the two).
      const hex = siToHex(si);
      await writeFile(join(home, SHARES_DIR, hex.slice(0, 2), hex, '2'), randomBytes(50));
      // A stray non-share file.
      await mkdir(join(home, SHARES_DIR, 'zz', 'junk'), { recursive: true });
      await writeFile(join(home, SHARES_DIR, 'zz', 'junk', 'x'), 'x');
      s = await DiskStore.open(home, { offer: 100_000 });
      assert.deepEqual(await readdir(join(home, INCOMING_DIR)), []);
      assert.deepEqual(await s.list(si), [{ shareNum: 0, size: 100 }]);
      assert.deepEqual(await readdir(join(home, SHARES_DIR, hex.slice(0, 2), hex)), ['0']);
      assert.equal(s.stats().used, MIN_SHARE_CHARGE, 'a 100-byte share is charged MIN_SHARE_CHARGE');
      assert.equal(s.stats().reserved, 0);
      // Now delete the share file behind the index's back: the entry is dropped at reopen.
      await s.close();
      await rm(join(home, SHARES_DIR, hex.slice(0, 2), hex, '0'));
      s = await DiskStore.open(home, { offer: 100_000 });
      assert.deepEqual(await s.list(si), []);
      assert.equal(s.stats().shares, 0);
      await s.close();
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});

test('parseSize / formatSize', () => {
  assert.equal(parseSize('20GiB'), 20 * 1024 ** 3);
  assert.equal(parseSize('500MB'), 500e6);
  assert.equal(parseSize('1.5 KiB'), 1536);
  assert.equal(parseSize('4096'), 4096);
  assert.equal(parseSize('2g'), 2 * 1024 ** 3);
  assert.equal(parseSize(42), 42);
  for (const bad of ['', 'lots', '12 parsecs', '-5MB', '1e3', 'GiB']) assert.throws(() => parseSize(bad), InvalidSizeError, bad);
  assert.throws(() => parseSize(-1), InvalidSizeError);
  assert.equal(formatSize(1536), '1.5 KiB');
  assert.equal(formatSize(10), '10 B');
});

test('per-owner limits on uploads in progress: count and reserved bytes, one large upload always allowed (issue 17 item 5)', async () => {
  const home = await mkdtemp(join(tmpdir(), 'p2pb-store-'));
  const s = await DiskStore.open(home, { offer: '1MiB', limits: { openWrites: 2, reservedBytes: 10_000 } });
  const busy = (e: any) => e.code === 'ERR_SHARE_REFUSED' && e.reason === 'busy';
  try {
    const si = randomBytes(16);
    const big = await s.beginWrite(si, 0, 'slow', 50_000); // alone: allowed although above the byte limit
    await assert.rejects(s.beginWrite(si, 1, 'slow', 10), busy); // 50,000 + 10 (charged 4096) reserved > 10,000
    assert.deepEqual(await s.canAccept(si, 1, 10, 'slow'), { ok: false, reason: 'busy', message: ((await s.canAccept(si, 1, 10, 'slow')) as any).message });
    await big.abort();
    const a = await s.beginWrite(si, 1, 'slow', 4000);
    const b = await s.beginWrite(si, 2, 'slow', 4000);
    await assert.rejects(s.beginWrite(si, 3, 'slow', 1), busy); // two in progress: the most
    const other = await s.beginWrite(si, 3, 'someone-else', 400); // other owners are not held up
    await Promise.all([a.abort(), b.abort(), other.abort()]);
    await (await s.beginWrite(si, 4, 'slow', 1)).abort();
    assert.equal(s.stats().reserved, 0);
  } finally {
    await s.close();
    await rm(home, { recursive: true, force: true });
  }
});
