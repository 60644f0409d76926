import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesInput, encodeBytes, encodeFile, type ShareSink } from '../../src/format/index.ts';
import { prng } from './helpers.ts';

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

// A sink that says it releases chunks is handed the encoder's reused buffers: it must get the same bytes as a
// sink that keeps every chunk, and no chunk may change while its write is pending.
test('a sink that releases chunks gets the same shares, and no chunk changes while its write is pending', async () => {
  for (const [k, n, size] of [[3, 5, 10_000], [2, 2, 5_000], [4, 6, 4096 * 3]] as const) {
    const bytes = prng(size, k * 100 + n);
    const secret = new Uint8Array(32).fill(9);
    const want = await encodeBytes(bytes, { k, n, segmentSize: 1024, convergenceSecret: secret });
    const parts: Uint8Array[][] = Array.from({ length: n }, () => []);
    const sink: ShareSink = {
      releasesChunks: true,
      async write(i, chunk) {
        const before = Uint8Array.from(chunk);
        await new Promise((r) => setImmediate(r)); // the encoder runs ahead meanwhile
        assert.deepEqual(chunk, before, 'chunk changed before its write resolved');
        parts[i].push(before);
      },
      async close() {},
    };
    const r = await encodeFile(bytesInput(bytes, 777), { k, n, segmentSize: 1024, convergenceSecret: secret, sink });
    assert.equal(r.shareSize, want.shareSize);
    parts.forEach((p, i) => assert.deepEqual(new Uint8Array(Buffer.concat(p)), want.shares[i], `share ${i} of ${k}-of-${n}`));
  }
});

test('a failing share write fails the encode, stops that share, and leaves no write pending', async () => {
  const calls: number[] = new Array(3).fill(0);
  let pending = 0;
  const sink: ShareSink = {
    async write(i) {
      calls[i]++;
      pending++;
      await new Promise((r) => setImmediate(r));
      pending--;
      if (i === 1 && calls[i] === 5) throw new Error('peer went away');
    },
    async close() { throw new Error('closed after a failure'); },
  };
  await assert.rejects(encodeFile(bytesInput(prng(64 * 1024)), { k: 2, n: 3, segmentSize: 1024, randomKey: true, sink }), /peer went away/);
  assert.equal(pending, 0);
  assert.equal(calls[1], 5);
  assert.ok(calls[0] < 66 && calls[2] < 66, 'encoding stopped soon after the failure');
});
