// Compatibility with the reference (Rust reed-solomon-erasure via @digitaldefiance/reed-solomon-erasure.wasm).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCodec } from '../../src/index.ts';
import { referenceEncode, referenceReconstructData } from '../../bench/reference.ts';
import { randomShards, rng } from './helpers.ts';

test('parity is byte-identical to the reference for many (k, m)', () => {
  const codes: [number, number][] = [];
  for (let k = 1; k <= 12; k++) for (let m = 1; m <= 6; m++) codes.push([k, m]);
  codes.push([17, 3], [20, 20], [32, 8], [64, 64], [100, 50], [128, 128], [200, 56], [255, 1], [1, 255]);
  for (const [k, m] of codes) {
    const codec = createCodec({ dataShards: k, parityShards: m });
    for (const len of k + m > 64 ? [5] : [1, 17, 100]) {
      const data = randomShards(k, len, k * 7919 + m * 31 + len);
      assert.deepEqual(codec.encode(data), referenceEncode(data, m), `${k}+${m} len ${len}`);
    }
  }
});

test('reconstructed data equals the reference on a few cases', () => {
  for (const [k, m, len] of [
    [4, 2, 1000],
    [10, 4, 4097],
    [3, 7, 17],
    [17, 3, 65]
  ] as const) {
    const codec = createCodec({ dataShards: k, parityShards: m });
    const data = randomShards(k, len, k + m + len);
    const all = [...data, ...codec.encode(data)];
    const r = rng(len);
    const shards: (Uint8Array | null)[] = [...all];
    let lost = 0;
    while (lost < Math.min(m, 4)) {
      const i = r() % (k + m);
      if (shards[i]) {
        shards[i] = null;
        lost++;
      }
    }
    const ours = codec.reconstructData(shards);
    assert.deepEqual(ours, referenceReconstructData(shards, k));
    assert.deepEqual(ours, data);
  }
});
