import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCodec } from '../../src/index.ts';
import { gfDiv, gfMul, matrixIdentity, matrixInvert, matrixMul } from '../../src/erasure/gf.ts';
import { buildEncodingMatrix, vandermonde } from '../../src/erasure/matrix.ts';
import { randomShards, rng, subsets } from './helpers.ts';

test('GF(2^8) arithmetic: known products, inverses, matrix inversion', () => {
  assert.equal(gfMul(2, 0x80), 0x1d); // x * x^7 = x^8 = 0x1D mod 0x11D
  assert.equal(gfMul(3, 7), 9);
  for (let a = 1; a < 256; a++) assert.equal(gfMul(a, gfDiv(1, a)), 1);
  const v = vandermonde(5, 5);
  assert.deepEqual(matrixMul(v, matrixInvert(v)).data, matrixIdentity(5).data);
  const e = buildEncodingMatrix(4, 6);
  assert.deepEqual(e.data.subarray(0, 16), matrixIdentity(4).data);
});

const CODES: [number, number][] = [
  [1, 1],
  [2, 1],
  [3, 7],
  [4, 2],
  [10, 4],
  [17, 3],
  [20, 20],
  [128, 128],
  [255, 1]
];

for (const [k, m] of CODES) {
  test(`round trip ${k}+${m}: encode, verify, lose m shards, reconstruct`, () => {
    const codec = createCodec({ dataShards: k, parityShards: m });
    assert.equal(codec.totalShards, k + m);
    const len = k + m > 100 ? 33 : 1000;
    const data = randomShards(k, len, k * 1000 + m);
    const parity = codec.encode(data);
    assert.equal(parity.length, m);
    const all = [...data, ...parity];
    assert.ok(codec.verify(all));
    const r = rng(k + m);
    const shards: (Uint8Array | null)[] = [...all];
    const lost = new Set<number>();
    while (lost.size < m) lost.add(r() % (k + m));
    for (const i of lost) shards[i] = null;
    const rec = codec.reconstruct(shards);
    assert.equal(rec.length, k + m);
    rec.forEach((s, i) => {
      assert.deepEqual(s, all[i], `shard ${i}`);
      if (!lost.has(i)) assert.equal(s, all[i], 'present shards are returned as given');
    });
    const recData = codec.reconstructData(shards);
    assert.equal(recData.length, k);
    recData.forEach((s, i) => assert.deepEqual(s, data[i]));
    codec.close();
  });
}

for (const [k, m] of [
  [4, 2],
  [3, 3]
] as const) {
  test(`every erasure pattern for ${k}+${m}`, () => {
    const codec = createCodec({ dataShards: k, parityShards: m });
    const data = randomShards(k, 37, 7);
    const all = [...data, ...codec.encode(data)];
    for (let lose = 0; lose <= m; lose++) {
      for (const lost of subsets(k + m, lose)) {
        const shards = all.map((s, i) => (lost.includes(i) ? null : s));
        assert.deepEqual(codec.reconstruct(shards), all, `lost ${lost}`);
        assert.deepEqual(codec.reconstructData(shards), data, `lost ${lost} (data only)`);
        const set = codec.allocShards(37);
        all.forEach((s, i) => set.shards[i].set(lost.includes(i) ? new Uint8Array(37).fill(0xee) : s));
        codec.reconstructShardSet(
          set,
          all.map((_, i) => !lost.includes(i))
        );
        set.shards.forEach((s, i) => assert.deepEqual(s, all[i]));
        set.release();
      }
    }
  });
}

test('odd shard lengths 1, 15, 17, 4097 and both kernels agree', () => {
  const simd = createCodec({ dataShards: 5, parityShards: 3, kernel: 'simd' });
  const relaxed = createCodec({ dataShards: 5, parityShards: 3, kernel: 'relaxed' });
  assert.equal(simd.kernel, 'simd');
  assert.equal(relaxed.kernel, 'relaxed');
  for (const len of [1, 15, 16, 17, 63, 64, 65, 4097, 3 * 8192 + 5]) {
    const data = randomShards(5, len, len);
    const a = simd.encode(data);
    const b = relaxed.encode(data);
    assert.deepEqual(a, b, `len ${len}`);
    const shards = [null, data[1], null, data[3], data[4], a[0], null, a[2]];
    const ra = simd.reconstruct(shards);
    assert.deepEqual(ra, relaxed.reconstruct(shards));
    assert.deepEqual(ra, [...data, ...a]);
  }
});

test('verify() detects a flipped byte in data or parity', () => {
  const codec = createCodec({ dataShards: 10, parityShards: 4 });
  const data = randomShards(10, 4097, 3);
  const all = [...data, ...codec.encode(data)];
  assert.equal(codec.verify(all), true);
  for (const [shard, byte] of [
    [0, 0],
    [5, 4096],
    [11, 2000],
    [13, 17]
  ]) {
    const copy = all.map((s) => s.slice());
    copy[shard][byte] ^= 0x01;
    assert.equal(codec.verify(copy), false, `shard ${shard} byte ${byte}`);
  }
});

test('zero-copy ShardSet path equals the convenience path', () => {
  const codec = createCodec({ dataShards: 10, parityShards: 4 });
  const len = 65536 + 3;
  const data = randomShards(10, len, 11);
  const parity = codec.encode(data);
  const set = codec.allocShards(len);
  assert.equal(set.shards.length, 14);
  assert.equal(set.shardLength, len);
  data.forEach((d, i) => set.shards[i].set(d));
  codec.encodeShardSet(set);
  for (let j = 0; j < 4; j++) assert.deepEqual(set.shards[10 + j], parity[j]);
  // Convenience calls with bigger shards grow the codec's own memory, never the set's.
  codec.encode(randomShards(10, 4 * len, 12));
  for (let j = 0; j < 4; j++) assert.deepEqual(set.shards[10 + j], parity[j]);
  const present = Array.from({ length: 14 }, (_, i) => ![0, 3, 9, 12].includes(i));
  for (const i of [0, 3, 9, 12]) set.shards[i].fill(0);
  codec.reconstructShardSet(set, present, { dataOnly: true });
  assert.deepEqual(set.shards[0], data[0]);
  assert.deepEqual(set.shards[9], data[9]);
  assert.ok(
    set.shards[12].every((b) => b === 0),
    'dataOnly leaves missing parity alone'
  );
  codec.reconstructShardSet(set, present);
  assert.deepEqual(set.shards[12], parity[2]);
  const out = parity.map((p) => new Uint8Array(p.length));
  codec.encodeInto(data, out);
  assert.deepEqual(out, parity);
  set.release();
  assert.equal(set.released, true);
});
