import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFile, geometry, InvalidParamsError } from '../../src/format/index.ts';
import { blockOffset } from '../../src/format/geometry.ts';
import type { PackCap } from '../../src/caps/index.ts';
import { prng, countingSource, encodeBytes } from './helpers.ts';

const K = 3,
  N = 5,
  SEG = 256,
  SIZE = SEG * 10 + 5;
const data = prng(SIZE, 77);
const enc = await encodeBytes(data, { k: K, n: N, segmentSize: SEG, randomKey: true });
const cap = enc.cap as PackCap;
const g = geometry({ k: K, n: N, segmentSize: SEG, fileSize: SIZE });

async function readRange(offset: number, length: number, wholeShareMax?: number, shares = enc.shares, groupReadBytes?: number) {
  const log: { share: number; offset: number; length: number }[] = [];
  const sources = shares.map((s, i) => countingSource(i, s, log));
  const out: Uint8Array[] = [];
  for await (const c of decodeFile(cap, sources, { range: { offset, length }, wholeShareMax, groupReadBytes })) out.push(c);
  return { bytes: new Uint8Array(Buffer.concat(out)), log };
}

const blockReads = (log: { offset: number }[]) => log.filter((r) => r.offset >= g.blocksOffset && r.offset < g.blockTreeOffset);

test("a range inside one segment reads only that segment's blocks from k shares", async () => {
  const { bytes, log } = await readRange(SEG * 3 + 10, 100);
  assert.deepEqual(bytes, data.subarray(SEG * 3 + 10, SEG * 3 + 110));
  const br = blockReads(log);
  assert.equal(br.length, K);
  assert.ok(br.every((r) => r.offset === blockOffset(g, 3)));
  assert.deepEqual([...new Set(log.map((r) => r.share))].sort(), [0, 1, 2]);
  assert.equal(log.length, K * 4, 'per share: header, footer, trailer, one block');
});

test('ranges across segments, at the edges and the tail are exact', async () => {
  const cases: [number, number][] = [
    [0, 1],
    [0, SIZE],
    [SEG - 1, 2],
    [SEG * 2, SEG * 3],
    [SIZE - 1, 1],
    [SIZE - 7, 7],
    [SEG * 9 + 100, SEG - 95]
  ];
  for (const [offset, length] of cases) {
    const { bytes, log } = await readRange(offset, length, 0, enc.shares, 0); // 0: no whole-share or grouped reads (tested below)
    assert.deepEqual(bytes, data.subarray(offset, offset + length), `${offset}+${length}`);
    const segs = new Set(blockReads(log).map((r) => (r.offset - g.blocksOffset) / g.blockSize));
    const first = Math.floor(offset / SEG),
      last = Math.floor((offset + length - 1) / SEG);
    assert.equal(segs.size, last - first + 1);
  }
  const empty = await readRange(100, 0);
  assert.equal(empty.bytes.length, 0);
  assert.equal(empty.log.length, 0);
  assert.throws(() => decodeFile(cap, [], { range: { offset: SIZE, length: 1 } }), InvalidParamsError);
  assert.throws(() => decodeFile(cap, [], { range: { offset: -1, length: 1 } }), InvalidParamsError);
});

test('a whole small file: each of k shares is read whole in one request, still verified piece by piece', async () => {
  const { bytes, log } = await readRange(0, SIZE);
  assert.deepEqual(bytes, data);
  assert.deepEqual(
    log.map((r) => [r.share, r.offset, r.length]),
    [0, 1, 2].map((i) => [i, 0, enc.shares[i].length])
  );
  // A share with one bad block is dropped when that block is checked, and another share replaces it.
  const bad = enc.shares.map((s) => Uint8Array.from(s));
  bad[1][blockOffset(g, 4)] ^= 1;
  const again = await readRange(0, SIZE, undefined, bad);
  assert.deepEqual(again.bytes, data);
  assert.ok(
    again.log.some((r) => r.share === 3),
    'a parity share stood in for the corrupt one'
  );
  // Too big to read whole: the old way (header, footer, trailer, then blocks).
  const big = await readRange(0, SIZE, 64, enc.shares, 0);
  assert.equal(blockReads(big.log).length, K * 11);
});

test('a whole big file: the blocks of consecutive segments are read a group at a time, each still verified', async () => {
  const per = 3;
  const { bytes, log } = await readRange(0, SIZE, 0, enc.shares, per * g.blockSize);
  assert.deepEqual(bytes, data);
  const groups = [
    [0, 2],
    [3, 5],
    [6, 8],
    [9, 10]
  ];
  const want = [0, 1, 2].flatMap((share) =>
    groups.map(([a, b]) => [share, blockOffset(g, a), blockOffset(g, b) - blockOffset(g, a) + (b === 10 ? g.tailBlockSize : g.blockSize)])
  );
  assert.deepEqual(
    blockReads(log)
      .map((r: any) => [r.share, r.offset, r.length])
      .sort((x, y) => x[0] - y[0] || x[1] - y[1]),
    want
  );
  const bad = enc.shares.map((s) => Uint8Array.from(s));
  bad[2][blockOffset(g, 7) + 5] ^= 1;
  const again = await readRange(0, SIZE, 0, bad, per * g.blockSize);
  assert.deepEqual(again.bytes, data, 'the corrupt block is caught inside its group and another share stands in');
  assert.ok(again.log.some((r) => r.share >= 3));
});

test('into: the range is written into the given buffer (whole segments straight, cut ones copied) and yielded as views of it', async () => {
  const cases: [number, number][] = [
    [0, SIZE],
    [SEG - 1, SEG + 2],
    [SEG * 2, SEG * 3],
    [SEG * 9 + 100, SIZE - (SEG * 9 + 100)],
    [7, 1]
  ];
  for (const [offset, length] of cases) {
    const into = new Uint8Array(length + 3).fill(0xee);
    const sources = enc.shares.map((s, i) => countingSource(i, s, []));
    let at = 0;
    for await (const c of decodeFile(cap, sources, { range: { offset, length }, into })) {
      assert.equal(c.buffer, into.buffer, `range [${offset}, +${length}): a view of into`);
      assert.equal(c.byteOffset, at, 'in order, back to back');
      at += c.length;
    }
    assert.equal(at, length);
    assert.deepEqual(into.subarray(0, length), data.subarray(offset, offset + length), `range [${offset}, +${length})`);
    assert.deepEqual([...into.subarray(length)], [0xee, 0xee, 0xee], 'nothing written past the range');
  }
  assert.throws(() => decodeFile(cap, [], { range: { offset: 0, length: 10 }, into: new Uint8Array(9) }), {
    name: 'InvalidParamsError',
    message: 'into holds 9 bytes, the range 10'
  });
  assert.doesNotThrow(() => decodeFile(cap, [], { range: { offset: 5, length: 10 }, into: new Uint8Array(10) }), 'exactly the range is enough');
});
