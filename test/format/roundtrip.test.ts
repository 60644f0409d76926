import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBytes, encodePack, NotEnoughSharesError, InvalidParamsError, DEFAULT_SEGMENT_SIZE, MAX_PACK_BYTES } from '../../src/format/index.ts';
import { formatCap, parseCap, storageIndexOf, packStorageIndex } from '../../src/caps/index.ts';
import { prng, pickSubset, keep } from './helpers.ts';

test('round trips over boundary sizes; any k of n shares suffice, k - 1 do not', async () => {
  const seg = 256;
  const sizes = [1, 2, 55, 56, seg - 1, seg, seg + 1, 5 * seg + 17];
  let rs = 12345;
  const rnd = () => (rs = (rs * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (const size of sizes) {
    const data = prng(size, size + 1);
    const r = encodePack(data, { k: 3, n: 5, segmentSize: seg });
    assert.equal(r.shares.length, 5);
    assert.ok(r.shares.every((s) => s.length === r.geometry.shareSize));
    for (let t = 0; t < 3; t++) {
      const subset = pickSubset(5, 3, rnd);
      assert.deepEqual(await decodeBytes(r.cap, keep(r.shares, subset)), data, `size ${size} subset ${subset}`);
    }
    await assert.rejects(
      decodeBytes(r.cap, keep(r.shares, [0, 4])),
      (e: NotEnoughSharesError) => e.code === 'ERR_NOT_ENOUGH_SHARES' && e.details.needed === 3 && e.details.found === 2
    );
  }
});

test('default segment size ±1 and random (k, n)', async () => {
  for (const size of [DEFAULT_SEGMENT_SIZE - 1, DEFAULT_SEGMENT_SIZE + 1]) {
    const data = prng(size, 3);
    const r = encodePack(data, { k: 2, n: 4 });
    assert.deepEqual(await decodeBytes(r.cap, keep(r.shares, [1, 3])), data);
  }
  let rs = 99;
  const rnd = () => (rs = (rs * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let t = 0; t < 5; t++) {
    const n = 1 + Math.floor(rnd() * 12),
      k = 1 + Math.floor(rnd() * n);
    const data = prng(100 + Math.floor(rnd() * 3000), t + 10);
    const r = encodePack(data, { k, n, segmentSize: 64 + Math.floor(rnd() * 900) });
    const subset = pickSubset(n, k, rnd);
    assert.deepEqual(await decodeBytes(formatCap(r.cap), keep(r.shares, subset)), data, `k=${k} n=${n} subset ${subset}`);
  }
});

test('a pack is content-addressed: same bytes -> same shares and storage index (a tagged hash of its UEB hash); other bytes -> other', () => {
  const data = prng(2000, 5);
  const a = encodePack(data, { k: 2, n: 3, segmentSize: 512 });
  const b = encodePack(data, { k: 2, n: 3, segmentSize: 512 });
  const c = encodePack(prng(2000, 6), { k: 2, n: 3, segmentSize: 512 });
  const d = encodePack(data, { k: 2, n: 4, segmentSize: 512 });
  assert.deepEqual(a.storageIndex, b.storageIndex);
  assert.deepEqual(a.shares, b.shares);
  assert.deepEqual(a.storageIndex, packStorageIndex(a.cap.uebHash));
  assert.deepEqual(storageIndexOf(a.cap), a.storageIndex);
  for (const other of [c, d]) assert.notDeepEqual(a.storageIndex, other.storageIndex);
  assert.deepEqual(parseCap(formatCap(a.cap)), a.cap);
  // The pack is stored as it is (its blobs are sealed already): share 0 of a k=2 code holds the first half.
  assert.deepEqual(a.shares[0].subarray(64, 64 + 256), data.subarray(0, 256));
});

test('bad params, an empty or oversized pack, and abort are refused', async () => {
  assert.throws(() => encodePack(prng(100), { k: 4, n: 3 }), InvalidParamsError);
  assert.throws(() => encodePack(prng(100), { k: 1, n: 2, segmentSize: 10 }), InvalidParamsError);
  assert.throws(() => encodePack(new Uint8Array(0), { k: 1, n: 2 }), InvalidParamsError);
  assert.throws(() => encodePack({ length: MAX_PACK_BYTES + 1 } as Uint8Array, { k: 1, n: 2 }), InvalidParamsError);
  const ac = new AbortController();
  ac.abort();
  assert.throws(() => encodePack(prng(1000), { k: 1, n: 2, signal: ac.signal }), { name: 'AbortError' });
  const r = encodePack(prng(1000), { k: 1, n: 2, segmentSize: 100 });
  await assert.rejects(decodeBytes(r.cap, r.shares, { signal: ac.signal }), { name: 'AbortError' });
});
