// A storage server receives a share's DATA frames into one scratch buffer, reused frame after frame and share after
// share (src/net/server.ts receiveShare), not into fresh memory per block: the writer sees the same memory each
// time, and what it stored is the share, whole, for two shares written one after the other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePeer, removeHome, testPack } from './helpers.ts';
import type { ShareWriter } from '../../src/store/index.ts';

test('DATA payloads land in one reused scratch buffer; the stored shares are whole', async () => {
  const [a, b] = [await makePeer(), await makePeer()];
  try {
    const buffers: ArrayBufferLike[] = [];
    const begin = b.store.beginWrite.bind(b.store);
    b.store.beginWrite = async (...args: Parameters<typeof begin>) => {
      const w = await begin(...args);
      const write = w.write.bind(w);
      return Object.assign(Object.create(w) as ShareWriter, {
        write: (chunk: Uint8Array) => (buffers.push(chunk.buffer), write(chunk)),
        commit: () => w.commit(),
        abort: () => w.abort()
      });
    };
    const client = a.node.storage(b.node.multiaddrs()[0]);
    for (const size of [3 * 1024 * 1024 + 123, 2 * 1024 * 1024]) {
      const { si, ueb, shares } = testPack(size);
      const before = buffers.length;
      async function* pieces() {
        for (let at = 0; at < shares[1].length; at += 300_000) yield shares[1].subarray(at, at + 300_000);
      }
      assert.equal((await client.writeShare(si, 1, pieces(), shares[1].length, { ueb })).status, 'written');
      assert.ok(buffers.length - before >= 4, `the share came in ${buffers.length - before} pieces`);
      const [whole] = await client.read(si, 1, [[0, shares[1].length]]);
      assert.ok(Buffer.from(whole).equals(shares[1]), 'stored whole');
    }
    assert.equal(new Set(buffers).size, 1, `every piece of both shares in the same memory (${new Set(buffers).size} buffers for ${buffers.length} pieces)`);
    assert.ok(buffers[0].byteLength >= 1 << 20, 'a scratch of a whole payload');
  } finally {
    await a.stop();
    await b.stop();
    await removeHome(a);
    await removeHome(b);
  }
});
