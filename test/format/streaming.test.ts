import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFile, type ShareSink } from '../../src/format/index.ts';

test('encoder stays within two segments of its sink and writes each share sequentially', async () => {
  const SEG = 4096, SEGMENTS = 200, K = 2, N = 3;
  let pulled = 0;
  const input = {
    size: SEG * SEGMENTS,
    async *open() { for (let i = 0; i < SEGMENTS * 4; i++) { pulled += SEG / 4; yield new Uint8Array(SEG / 4).fill(i); } },
  };
  const written = new Array(N).fill(0);
  let maxLead = 0, closed = 0;
  const sink: ShareSink = {
    async write(i, chunk) {
      written[i] += chunk.length;
      // plaintext pulled but not yet delivered to every share, in segments
      const delivered = (Math.min(...written) / Math.ceil((SEG + 16) / K)) * SEG;
      maxLead = Math.max(maxLead, (pulled - delivered) / SEG);
      await new Promise((r) => setImmediate(r)); // a slow peer
    },
    async close() { closed++; },
  };
  const r = await encodeFile(input, { k: K, n: N, segmentSize: SEG, randomKey: true, sink });
  assert.equal(closed, N);
  assert.ok(written.every((w) => w === r.shareSize));
  assert.ok(maxLead <= 2.5, `encoder ran ${maxLead} segments ahead`);
});
