import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCodec, createParallelCodec } from '../../src/index.ts';
import { randomShards } from './helpers.ts';

test('parallel codec gives results identical to the single-thread codec', async () => {
  const codec = createCodec({ dataShards: 10, parityShards: 4 });
  const p = createParallelCodec({ dataShards: 10, parityShards: 4, threads: 2 });
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
  }
});
