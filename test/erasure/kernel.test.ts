// The fused multi-row kernel (wasm/rs.ts matMul): output rows in groups of 4 with a 1..3-row last group, 32-byte
// column blocks, strips of STRIP_BYTES and a byte-wise tail. Checked against a scalar GF(2^8) product of the
// encoding matrix (independent of the kernel) and against the reference for lengths around every boundary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCodec } from '../../src/index.ts';
import { STRIP_BYTES } from '../../src/erasure/constants.ts';
import { gfMul } from '../../src/erasure/gf.ts';
import { slotStride } from '../../src/erasure/kernel.ts';
import { buildEncodingMatrix } from '../../src/erasure/matrix.ts';
import { referenceEncode } from '../../bench/reference.ts';
import { randomShards } from './helpers.ts';

function scalarParity(data: readonly Uint8Array[], m: number): Uint8Array[] {
  const k = data.length;
  const enc = buildEncodingMatrix(k, k + m);
  return Array.from({ length: m }, (_, j) => {
    const out = new Uint8Array(data[0].length);
    for (let i = 0; i < k; i++) {
      const c = enc.data[(k + j) * k + i];
      const d = data[i];
      for (let b = 0; b < out.length; b++) out[b] ^= gfMul(c, d[b]);
    }
    return out;
  });
}

// Around the 32-byte column block, the strip and the 4 KiB slot-stagger threshold.
const LENGTHS = [1, 31, 32, 33, 63, 95, STRIP_BYTES - 1, STRIP_BYTES + 32 + 5, 2 * STRIP_BYTES + 31, 4095, 4096, 4096 + 1088 + 3];

test('multi-row kernel: every row-group shape (m = 1..9) and boundary length equals a scalar product', () => {
  for (const [k, m] of [
    [1, 1],
    [3, 2],
    [5, 3],
    [2, 4],
    [4, 5],
    [3, 6],
    [6, 7],
    [1, 8],
    [7, 9]
  ] as const) {
    const codec = createCodec({ dataShards: k, parityShards: m });
    for (const len of LENGTHS) {
      const data = randomShards(k, len, k * 131 + m * 7 + len);
      assert.deepEqual(codec.encode(data), scalarParity(data, m), `${k}+${m} len ${len}`);
    }
    codec.close();
  }
});

test('multi-row kernel: parity equals the reference across strip boundaries', () => {
  for (const [k, m] of [
    [10, 4],
    [17, 3],
    [3, 7],
    [20, 20]
  ] as const) {
    const codec = createCodec({ dataShards: k, parityShards: m });
    for (const len of [STRIP_BYTES + 33, 3 * STRIP_BYTES + 17]) {
      const data = randomShards(k, len, k + m + len);
      assert.deepEqual(codec.encode(data), referenceEncode(data, m), `${k}+${m} len ${len}`);
    }
    codec.close();
  }
});

test('multi-row kernel: reconstruct with 7 outputs (two row groups) in a staggered ShardSet', () => {
  const codec = createCodec({ dataShards: 3, parityShards: 7 });
  const len = 4096 + 1088 + 3;
  const data = randomShards(3, len, 99);
  const all = [...data, ...codec.encode(data)];
  const set = codec.allocShards(len);
  const lost = [0, 2, 3, 5, 6, 8, 9];
  all.forEach((s, i) => set.shards[i].set(lost.includes(i) ? new Uint8Array(len).fill(0xa5) : s));
  codec.reconstructShardSet(
    set,
    all.map((_, i) => !lost.includes(i))
  );
  set.shards.forEach((s, i) => assert.deepEqual(s, all[i], `shard ${i}`));
  set.release();
  codec.close();
});

test('slot stride: 64-byte aligned, staggered modulo 4 KiB from 4 KiB shards up', () => {
  for (const len of [1, 64, 65, 4095, 4096, 1 << 20, (1 << 20) + 1]) {
    const s = slotStride(len);
    assert.ok(s >= len && s % 64 === 0, `len ${len}`);
    if (len >= 4096) assert.notEqual(s % 4096, 0, `len ${len}`);
  }
});
