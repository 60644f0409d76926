import { test } from 'node:test';
import assert from 'node:assert/strict';
import { happiness } from '../../src/client/happiness.ts';

const pl = (o: Record<number, string[]>) => new Map(Object.entries(o).map(([k, v]) => [Number(k), new Set(v)]));

test('happiness counts distinct servers matched to distinct shares', () => {
  assert.equal(happiness(pl({})), 0);
  assert.equal(happiness(pl({ 0: ['a'], 1: ['b'], 2: ['c'] })), 3);
  // three shares on one server count once
  assert.equal(happiness(pl({ 0: ['a'], 1: ['a'], 2: ['a'] })), 1);
  // a matching needs augmenting paths: greedy 0->a would block 1
  assert.equal(happiness(pl({ 0: ['a', 'b'], 1: ['a'] })), 2);
  assert.equal(happiness(pl({ 0: ['a', 'b'], 1: ['a', 'b'], 2: ['a', 'b'] })), 2);
});

test('an upload that knows fewer candidates than happy looks again (a fresh walk) before failing', async () => {
  const { createHealthGrid } = await import('./grid.ts');
  const { uploadPack, NotHappyError } = await import('../../src/client/index.ts');
  const { randomBytes } = await import('node:crypto');
  const grid = await createHealthGrid(4);
  try {
    // The swarm is still forming: the first look finds two peers; a refreshed one finds all four.
    const asked: { refresh: boolean }[] = [];
    const forming = {
      candidates: async (_si: Uint8Array, _count: number, o?: { refresh?: boolean }) => {
        asked.push({ refresh: o?.refresh === true });
        return asked.length === 1 ? grid.servers.slice(0, 2) : grid.servers;
      }
    };
    const r = await uploadPack(randomBytes(20_000), forming, { k: 2, n: 4, happy: 4, segmentSize: 4096 });
    assert.equal(r.happiness, 4);
    assert.deepEqual(asked, [{ refresh: false }, { refresh: true }]);
    // A swarm that really is too small still fails, after the bounded looks, naming the candidates it had.
    let looks = 0;
    const small = {
      candidates: async () => {
        looks++;
        return grid.servers.slice(0, 2);
      }
    };
    await assert.rejects(
      uploadPack(randomBytes(20_000), small, { k: 2, n: 4, happy: 3, segmentSize: 4096 }),
      (err: unknown) => err instanceof NotHappyError && /2 candidate peers/.test((err as Error).message)
    );
    assert.equal(looks, 3, 'the first look and two more');
  } finally {
    await grid.close();
  }
});
