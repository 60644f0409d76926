// The multi-core codec: shared-memory ShardSets split by columns over the calling thread and its workers,
// checked byte for byte against the single-thread codec. minParallelBytes: 0 and chunkBytes: 64 force the
// split on small shards so every range shape runs (whole 64-byte lines, fewer lines than threads, a tail).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCodec, createParallelCodec } from '../../src/index.ts';
import { RegionHeap } from '../../src/erasure/heap.ts';
import { randomShards } from './helpers.ts';

test('parallel codec gives results identical to the single-thread codec', async () => {
  const codec = createCodec({ dataShards: 10, parityShards: 4 });
  const p = createParallelCodec({ dataShards: 10, parityShards: 4, threads: 2, minParallelBytes: 0, chunkBytes: 1024 });
  try {
    assert.equal(p.threads, 2);
    const stripes = Array.from({ length: 6 }, (_, i) => randomShards(10, 4097 + i, 100 + i));
    const batch = await p.encodeBatch(stripes);
    batch.forEach((parity, i) => assert.deepEqual(parity, codec.encode(stripes[i])));
    assert.deepEqual(await p.encode(stripes[0]), batch[0]);
    const all = [...stripes[1], ...batch[1]];
    const shards = all.map((s, i) => ([0, 5, 10, 13].includes(i) ? null : s));
    const rec = await p.reconstruct(shards);
    assert.deepEqual(rec, all);
    assert.equal(rec[1], all[1], 'present shards are returned as given');
    assert.deepEqual(await p.reconstructData(shards), stripes[1]);
    const recs = await p.reconstructBatch([shards, shards]);
    assert.deepEqual(recs[1], all);
  } finally {
    await p.close();
    codec.close();
  }
});

test('parallel ShardSets: every column split (lengths below, at and above the thread count) equals one thread', async () => {
  for (const threads of [2, 3]) {
    for (const [k, m] of [
      [3, 7],
      [10, 4],
      [1, 1],
      [5, 2]
    ] as const) {
      const codec = createCodec({ dataShards: k, parityShards: m });
      const p = createParallelCodec({ dataShards: k, parityShards: m, threads, minParallelBytes: 0, chunkBytes: 64 });
      try {
        for (const len of [1, 2, 63, 64, 65, 127, 129, 191, 4097, 3 * 4096 + 5]) {
          const data = randomShards(k, len, len * 17 + k + threads);
          const parity = codec.encode(data);
          const set = p.allocShards(len);
          data.forEach((d, i) => set.shards[i].set(d));
          await p.encodeShardSet(set);
          parity.forEach((q, j) => assert.deepEqual(set.shards[k + j], q, `${threads} threads ${k}+${m} len ${len} parity ${j}`));
          const lost = Array.from({ length: Math.min(m, 7) }, (_, i) => (i * 3) % (k + m));
          const present = set.shards.map((_, i) => !lost.includes(i));
          if (present.filter(Boolean).length >= k) {
            for (const i of lost) set.shards[i].fill(0x5a);
            await p.reconstructShardSet(set, present);
            [...data, ...parity].forEach((s, i) => assert.deepEqual(set.shards[i], s, `${threads} threads ${k}+${m} len ${len} shard ${i}`));
          }
          set.release();
        }
      } finally {
        await p.close();
        codec.close();
      }
    }
  }
});

test('parallel ShardSets: memory grown after the workers started, released regions reused, other sets intact', async () => {
  const codec = createCodec({ dataShards: 4, parityShards: 2 });
  const p = createParallelCodec({ dataShards: 4, parityShards: 2, threads: 2 });
  try {
    const small = p.allocShards(1000);
    const smallData = randomShards(4, 1000, 1);
    smallData.forEach((d, i) => small.shards[i].set(d));
    await p.encodeShardSet(small);
    const len = 700_000; // 4 x 700 kB of data: above PARALLEL_MIN_BYTES, so the default split runs
    const data = randomShards(4, len, 2);
    const parity = codec.encode(data);
    for (let round = 0; round < 3; round++) {
      const big = p.allocShards(len);
      data.forEach((d, i) => big.shards[i].set(d));
      await p.encodeShardSet(big);
      assert.deepEqual(big.shards.slice(4), parity, `round ${round}`);
      big.release();
      assert.equal(big.released, true);
      await assert.rejects(p.encodeShardSet(big), { name: 'CodecClosedError' });
    }
    assert.deepEqual(small.shards.slice(4), codec.encode(smallData));
    await assert.rejects(p.encodeShardSet(codec.allocShards(8)), { name: 'InvalidShardError' });
    await assert.rejects(p.reconstructShardSet(small, [true, false, false, false, true, true]), { name: 'TooFewShardsError' });
  } finally {
    await p.close();
    codec.close();
  }
  await assert.rejects(p.encode(randomShards(4, 8, 3)), { name: 'CodecClosedError' });
  assert.throws(() => p.allocShards(8), { name: 'CodecClosedError' });
});

test('parallel codec with threads: 1 codes on the calling thread alone', async () => {
  const codec = createCodec({ dataShards: 2, parityShards: 3 });
  const p = createParallelCodec({ dataShards: 2, parityShards: 3, threads: 1, minParallelBytes: 0 });
  try {
    const data = randomShards(2, 333, 4);
    assert.deepEqual(await p.encode(data), codec.encode(data));
  } finally {
    await p.close();
  }
});

test('region heap: first fit, coalescing, top lowered by frees at the end', () => {
  const h = new RegionHeap(100, 64);
  const a = h.alloc(10);
  const b = h.alloc(100);
  const c = h.alloc(64);
  assert.deepEqual([a, b, c], [128, 192, 320]);
  assert.equal(h.top, 384);
  h.free(a, 10);
  assert.equal(h.alloc(64), 128, 'reuses the freed first region');
  h.free(128, 64);
  h.free(b, 100);
  assert.equal(h.alloc(192), 128, 'two freed neighbours coalesce');
  h.free(128, 192);
  h.free(c, 64);
  assert.equal(h.top, 128, 'everything free: top back at the base');
});
