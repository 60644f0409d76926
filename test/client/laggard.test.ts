// A peer that takes a share's bytes far more slowly than the others is dropped from the upload and its share
// placed elsewhere, instead of holding every share to its pace (issue 17 item 6, the backup side).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { uploadPack, type ServerFinder, type ShareServer } from '../../src/client/index.ts';
import { createHealthGrid } from './grid.ts';

test('a peer reading a share a chunk per minute is dropped; the upload finishes on the others', async () => {
  const grid = await createHealthGrid(6);
  try {
    const honest = grid.servers.slice(0, 5);
    // First in line, so it gets share 0: accepts, then takes one chunk a minute (each just inside an idle timeout).
    const slow: ShareServer = {
      ...grid.servers[5],
      id: 'slow-reader',
      async writeShare(_si, _n, source, _size, o) {
        for await (const _chunk of source) await sleep(60_000, undefined, { signal: o?.signal });
        return { status: 'written' };
      }
    };
    const finder: ServerFinder = { candidates: async () => [slow, ...honest] };
    const r = await uploadPack(randomBytes(3 << 20), finder, { k: 3, n: 5, happy: 5, laggardMs: 300 });
    assert.equal(r.happiness, 5);
    assert.ok(!Object.values(r.placements).flat().includes('slow-reader'));
    assert.deepEqual(Object.keys(r.placements).sort(), ['0', '1', '2', '3', '4']);
  } finally {
    await grid.close();
  }
});

test('with no other peer left to take it, a slow peer keeps its share: the upload waits rather than fails', async () => {
  const grid = await createHealthGrid(5);
  try {
    const honest = grid.servers.slice(0, 4);
    // Slow but steady: each chunk 1.5 s (a 1 MiB share is one chunk), far past the 300 ms laggard time.
    const slow: ShareServer = {
      ...grid.servers[4],
      id: 'slow-but-only',
      async writeShare(si, n, source, size, o) {
        const chunks: Uint8Array[] = [];
        for await (const chunk of source) {
          await sleep(1_500, undefined, { signal: o?.signal });
          chunks.push(chunk);
        }
        return grid.servers[4].writeShare(
          si,
          n,
          (async function* () {
            yield* chunks;
          })(),
          size,
          o
        );
      }
    };
    const finder: ServerFinder = { candidates: async () => [slow, ...honest] };
    const r = await uploadPack(randomBytes(3 << 20), finder, { k: 3, n: 5, happy: 5, laggardMs: 300 });
    assert.equal(r.happiness, 5);
    assert.deepEqual(r.placements['0'], ['slow-but-only']);
  } finally {
    await grid.close();
  }
});
