// Shared behaviour suite for any ShareStore (like restic's backend tests). Call it from a *.test.ts file.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { ShareStore } from '../../src/store/index.ts';
import {
  InvalidArgumentError, NotOwnerError, OutOfRangeError, ShareNotFoundError, ShareRefusedError, SizeMismatchError,
} from '../../src/store/index.ts';

export interface SuiteHarness {
  /** A fresh, empty store offering `offer` bytes; `now` is the store clock. */
  make(offer: number, now: () => number): Promise<ShareStore>;
  cleanup(): Promise<void>;
}

const A = '12D3KooWAlice';
const C = '12D3KooWCarol';

export async function put(store: ShareStore, si: Uint8Array, n: number, owner: string, data: Uint8Array, leaseUntil?: number) {
  const w = await store.beginWrite(si, n, owner, data.byteLength, { leaseUntil });
  for (let i = 0; i < data.byteLength; i += 1000) await w.write(data.subarray(i, i + 1000));
  return w.commit();
}

export function storeSuite(name: string, h: SuiteHarness): void {
  describe(`ShareStore suite: ${name}`, () => {
    let clock = 1_700_000_000_000;
    const now = () => clock;
    let store: ShareStore;
    before(async () => { store = await h.make(100_000, now); });
    after(async () => { await store.close(); await h.cleanup(); });

    test('empty store: stats, list, read missing', async () => {
      const si = randomBytes(16);
      assert.deepEqual(store.stats(), { offered: 100_000, used: 0, reserved: 0, free: 100_000, shares: 0, slots: 0 });
      assert.deepEqual(await store.list(si), []);
      await assert.rejects(store.read(si, 0, 0, 1), ShareNotFoundError);
    });

    test('write, list, read ranges byte-identical', async () => {
      const si = randomBytes(16);
      const data = randomBytes(5000);
      assert.deepEqual(await store.canAccept(si, 3, data.length, A), { ok: true });
      const rec = await put(store, si, 3, A, data);
      assert.equal(rec.size, 5000);
      assert.equal(rec.owner, A);
      assert.deepEqual(await store.list(si), [{ shareNum: 3, size: 5000 }]);
      assert.deepEqual(Buffer.from(await store.read(si, 3, 0, 5000)), data);
      assert.deepEqual(Buffer.from(await store.read(si, 3, 1234, 100)), data.subarray(1234, 1334));
      assert.equal((await store.read(si, 3, 5000, 0)).byteLength, 0);
      await assert.rejects(store.read(si, 3, 4999, 2), OutOfRangeError);
      await assert.rejects(store.read(si, 3, -1, 1), OutOfRangeError);
      await assert.rejects(store.read(si, 3, 0.5, 1), OutOfRangeError);
      await assert.rejects(store.read(si, 4, 0, 1), ShareNotFoundError);
    });

    test('re-upload by the same owner is "exists"; by another owner is "conflict"', async () => {
      const si = randomBytes(16);
      const data = randomBytes(100);
      await put(store, si, 0, A, data);
      assert.equal((await store.canAccept(si, 0, 100, A) as { reason: string }).reason, 'exists');
      assert.equal((await store.canAccept(si, 0, 100, C) as { reason: string }).reason, 'conflict');
      await assert.rejects(store.beginWrite(si, 0, A, 100), (e: unknown) => e instanceof ShareRefusedError && e.reason === 'exists');
      await assert.rejects(store.beginWrite(si, 0, C, 100), (e: unknown) => e instanceof ShareRefusedError && e.reason === 'conflict');
      assert.deepEqual(Buffer.from(await store.read(si, 0, 0, 100)), data);
    });

    test('quota: refuses what does not fit, counts uploads in progress', async () => {
      const si = randomBytes(16);
      const free = store.stats().free;
      assert.equal((await store.canAccept(si, 0, free + 1, A) as { reason: string }).reason, 'quota');
      const w = await store.beginWrite(si, 0, A, free - 10);
      assert.equal(store.stats().reserved, free - 10);
      assert.equal((await store.canAccept(si, 1, 11, A) as { reason: string }).reason, 'quota');
      assert.equal((await store.canAccept(si, 0, 5, A) as { reason: string }).reason, 'busy');
      await w.abort();
      assert.equal(store.stats().reserved, 0);
      assert.deepEqual(await store.canAccept(si, 1, 11, A), { ok: true });
    });

    test('invalid arguments', async () => {
      const si = randomBytes(16);
      assert.equal((await store.canAccept(randomBytes(15), 0, 1, A) as { reason: string }).reason, 'invalid');
      assert.equal((await store.canAccept(si, 256, 1, A) as { reason: string }).reason, 'invalid');
      assert.equal((await store.canAccept(si, 0, -1, A) as { reason: string }).reason, 'invalid');
      assert.equal((await store.canAccept(si, 0, 1, '') as { reason: string }).reason, 'invalid');
      await assert.rejects(store.beginWrite(si, -1, A, 1), InvalidArgumentError);
      await assert.rejects(store.list(new Uint8Array(3)), InvalidArgumentError);
    });

    test('size must match: short commit and overlong write fail and leave nothing', async () => {
      const si = randomBytes(16);
      const w = await store.beginWrite(si, 0, A, 10);
      await w.write(randomBytes(5));
      await assert.rejects(w.commit(), SizeMismatchError);
      const w2 = await store.beginWrite(si, 0, A, 10);
      await assert.rejects(w2.write(randomBytes(11)), SizeMismatchError);
      assert.deepEqual(await store.list(si), []);
      assert.equal(store.stats().reserved, 0);
    });

    test('aborted write leaves nothing visible', async () => {
      const si = randomBytes(16);
      const before = store.stats();
      const w = await store.beginWrite(si, 7, A, 2000);
      await w.write(randomBytes(1000));
      assert.deepEqual(await store.list(si), []);
      await assert.rejects(store.read(si, 7, 0, 1), ShareNotFoundError);
      await w.abort();
      await w.abort();
      assert.deepEqual(await store.list(si), []);
      assert.deepEqual(store.stats(), before);
    });

    test('delete only by the owner', async () => {
      const si = randomBytes(16);
      await put(store, si, 1, A, randomBytes(300));
      const used = store.stats().used;
      await assert.rejects(store.delete(si, 1, C), NotOwnerError);
      await assert.rejects(store.delete(si, 2, A), ShareNotFoundError);
      await store.delete(si, 1, A);
      assert.deepEqual(await store.list(si), []);
      assert.equal(store.stats().used, used - 300);
      await put(store, si, 1, C, randomBytes(10));
      assert.equal((await store.get(si, 1))?.owner, C);
    });

    test('leases: renew extends (owner only), gc removes expired after grace', async () => {
      const si = randomBytes(16);
      const day = 24 * 3600 * 1000;
      await put(store, si, 0, A, randomBytes(400), clock + day);
      await put(store, si, 1, A, randomBytes(500), clock + day);
      await put(store, si, 2, C, randomBytes(600), clock + day);
      await assert.rejects(store.renewLease(si, 0, C, clock + 10 * day), NotOwnerError);
      assert.equal(await store.renewLease(si, 0, A, clock + 10 * day), 1);
      assert.equal(await store.renewLease(si, 'all', C, clock + 5 * day), 1);
      assert.equal(await store.renewLease(si, 0, A, clock + 2 * day), 1); // never shortens
      assert.equal((await store.get(si, 0))?.leaseExpiry, clock + 10 * day);
      const usedBefore = store.stats().used;
      // share 1 expired at +1d; not collected inside the grace period.
      assert.deepEqual(await store.gc(clock + day + 1), { removedShares: 0, reclaimedBytes: 0, removedSlots: 0 });
      const r = await store.gc(clock + 3 * day);
      assert.deepEqual(r, { removedShares: 1, reclaimedBytes: 500, removedSlots: 0 });
      assert.deepEqual((await store.list(si)).map((s) => s.shareNum), [0, 2]);
      assert.equal(store.stats().used, usedBefore - 500);
    });

    test('concurrent uploads of distinct shares all land', async () => {
      const si = randomBytes(16);
      const datas = [0, 1, 2, 3].map(() => randomBytes(777));
      await Promise.all(datas.map((d, i) => put(store, si, i, A, d)));
      assert.deepEqual((await store.list(si)).map((s) => s.shareNum), [0, 1, 2, 3]);
      for (let i = 0; i < 4; i++) assert.deepEqual(Buffer.from(await store.read(si, i, 0, 777)), datas[i]);
    });
  });
}
