// A storage peer's streaming check of an offered share (src/format/check.ts), fed in pieces of any size: a real
// share passes; a byte changed anywhere (header, a block, the tree, the roots, the UEB, the footer), a share cut
// short or run long, another share number or storage index fails. And blockHasher, which the check hashes blocks
// with as their bytes come, gives blockHash's bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { encodePack, uebOfShare } from '../../src/format/index.ts';
import { sharePieces, startShareCheck, type ShareCheck } from '../../src/format/check.ts';
import { blockHash, blockHasher, buildTree } from '../../src/format/merkle.ts';
import { segmentBlockSize } from '../../src/format/geometry.ts';

const enc = encodePack(randomBytes(30_000), { k: 3, n: 5, segmentSize: 4096 });
const g = enc.geometry;
const share = enc.shares[2];
const ueb = uebOfShare(share);

function feed(check: ShareCheck, bytes: Uint8Array, sizes: number[]): string | null {
  let i = 0;
  for (let o = 0; o < bytes.length; i++) {
    const n = Math.min(sizes[i % sizes.length], bytes.length - o);
    const wrong = check.push(bytes.subarray(o, o + n));
    if (wrong) return wrong;
    o += n;
  }
  return check.finish();
}

const start = (si = enc.storageIndex, num = 2, size = share.length) => {
  const c = startShareCheck(si, num, size, ueb);
  assert.notEqual(typeof c, 'string', String(c));
  return c as ShareCheck;
};

test('blockHasher over pieces is blockHash; it refuses bytes past the length and a digest short of it', () => {
  const block = randomBytes(10_000);
  for (const cuts of [[10_000], [1, 9_999], [4096, 4096, 1808], [0, 5000, 0, 5000]]) {
    const h = blockHasher(block.length);
    let o = 0;
    for (const c of cuts) h.update(block.subarray(o, (o += c)));
    assert.deepEqual(h.digest(), blockHash(block), `cuts ${cuts}`);
  }
  assert.deepEqual(blockHasher(0).digest(), blockHash(new Uint8Array(0)));
  const over = blockHasher(3);
  assert.throws(() => over.update(new Uint8Array(4)), RangeError);
  const under = blockHasher(3);
  under.update(new Uint8Array(2));
  assert.throws(() => under.digest(), RangeError);
});

test('a real share passes the check in pieces of any size', () => {
  for (const sizes of [[share.length], [1], [7, 4096, 333], [g.blocksOffset, 4097]]) assert.equal(feed(start(), share, sizes), null, `pieces ${sizes}`);
});

test('a byte changed in any region, a short or long share, or the wrong share or index fails', () => {
  const regions: [string, number][] = [
    ['header', 3],
    ['first block', g.blocksOffset],
    ['last block byte', g.blockTreeOffset - 1],
    ['tree', g.blockTreeOffset + 5],
    ['roots', g.shareRootsOffset + 40],
    ['UEB', g.uebOffset + 1],
    ['footer', g.footerOffset + 2]
  ];
  const reasons: Record<string, string> = {
    header: "the header is not this share's",
    'first block': 'the block tree is not the tree of the blocks',
    'last block byte': 'the block tree is not the tree of the blocks',
    tree: 'the block tree is not the tree of the blocks',
    roots: "the share roots do not hash to the UEB's",
    UEB: 'the stored UEB differs',
    footer: "the footer is not this share's"
  };
  for (const [what, at] of regions) {
    const bad = Uint8Array.from(share);
    bad[at] ^= 1;
    assert.equal(feed(start(), bad, [1000]), reasons[what], `${what} (byte ${at}) changed`);
  }
  // Changed blocks under a tree rebuilt from them: the tree is consistent, its root is not the one the UEB commits to.
  const forged = Uint8Array.from(share);
  forged[g.blocksOffset] ^= 1;
  const leaves = Array.from({ length: g.numSegments }, (_, seg) => {
    const at = g.blocksOffset + seg * g.blockSize;
    return blockHash(forged.subarray(at, at + segmentBlockSize(g, seg)));
  });
  forged.set(buildTree(leaves, g.leaves), g.blockTreeOffset);
  assert.equal(feed(start(), forged, [1000]), "this share's root is not the one the UEB commits to");
  // The roots listed in the trailer hash to the UEB's, but the one for this share is not this share's tree root:
  // another share's trailer on this share's blocks (share 2's blocks, share 3's tree and roots).
  const other = enc.shares[3];
  const mixed = Uint8Array.from(share);
  mixed.set(other.subarray(g.blockTreeOffset, g.shareRootsOffset), g.blockTreeOffset);
  assert.equal(feed(start(), mixed, [1000]), 'the block tree is not the tree of the blocks');
  assert.equal(feed(start(), share.subarray(0, share.length - 1), [1000]), 'the share ended early');
  const long = start();
  assert.equal(long.push(share), null);
  assert.equal(long.push(new Uint8Array(1)), 'more bytes than the share size');
  assert.equal(long.finish(), 'more bytes than the share size', 'a failure stays');
  // Share 2's bytes offered as share 3: the header (and the root) are not share 3's.
  assert.equal(feed(start(enc.storageIndex, 3), share, [1000]), "the header is not this share's");
  assert.equal(startShareCheck(randomBytes(enc.storageIndex.length), 2, share.length, ueb), 'the UEB does not hash to this storage index');
  for (const bad of [5, -1, 1.5]) assert.equal(startShareCheck(enc.storageIndex, bad, share.length, ueb), `share ${bad} of a 3-of-5 pack`);
  assert.equal(startShareCheck(enc.storageIndex, 2, share.length + 1, ueb), `share size ${share.length + 1} is not the ${share.length} bytes the UEB implies`);
  for (const badUeb of [ueb.subarray(1), new Uint8Array(ueb.length + 1), Array.from(ueb) as unknown as Uint8Array])
    assert.equal(startShareCheck(enc.storageIndex, 2, share.length, badUeb), 'the WRITE carries no valid UEB');
  // The leaves are counted too: a share whose bytes all arrived but whose blocks did not all complete is early.
  const early = start();
  assert.equal(early.push(share.subarray(0, share.length - 1)), null);
  assert.equal(early.finish(), 'the share ended early');
  // A failure is sticky: bytes after a bad header are not looked at, and finish() repeats the first reason.
  const sticky = start();
  const badHeader = Uint8Array.from(share);
  badHeader[0] ^= 1;
  assert.equal(sticky.push(badHeader.subarray(0, 10)), "the header is not this share's");
  assert.equal(sticky.push(share.subarray(10)), "the header is not this share's");
  assert.equal(sticky.finish(), "the header is not this share's");
});

test('sharePieces cuts a share where its blocks end (the last block keeps the trailer) and no piece past maxPiece', () => {
  for (const [size, segmentSize, k] of [
    [30_000, 4096, 3], // 8 segments, a short last one
    [4096, 4096, 3], // one segment: the whole share is one piece
    [10_000, 1000, 1] // k = 1: a block is a segment
  ]) {
    const e = encodePack(randomBytes(size), { k, n: 5, segmentSize });
    const geo = e.geometry;
    const s = e.shares[1];
    const ends = [...sharePieces(s, 1 << 20)].map((p) => p.byteOffset + p.length - s.byteOffset);
    const want: number[] = [];
    for (let seg = 0; seg < geo.numSegments - 1; seg++) want.push(geo.blocksOffset + (seg + 1) * geo.blockSize);
    want.push(s.length);
    assert.deepEqual(ends, want, `size ${size} segment ${segmentSize} k ${k}`);
    const small = [...sharePieces(s, 700)];
    assert.ok(small.every((p) => p.length <= 700 && p.buffer === s.buffer));
    assert.ok(Buffer.concat(small).equals(Buffer.from(s)), 'pieces of at most 700 bytes still make the share');
    const smallEnds = new Set(small.map((p) => p.byteOffset + p.length - s.byteOffset));
    for (const end of want) assert.ok(smallEnds.has(end), `a piece still ends at ${end}`);
  }
  // A block that is a whole number of pieces: no empty piece after it; pieces of one byte are allowed.
  const whole = encodePack(randomBytes(10_000), { k: 1, n: 2, segmentSize: 1000 }).shares[0];
  const halves = [...sharePieces(whole, 500)];
  assert.ok(
    halves.every((p) => p.length > 0),
    'no empty piece'
  );
  assert.ok(Buffer.concat(halves).equals(Buffer.from(whole)));
  assert.equal([...sharePieces(share, 1)].length, share.length);
  assert.throws(() => [...sharePieces(share.subarray(1), 1 << 20)], RangeError, 'a share cut short has no UEB at its end');
  assert.throws(() => [...sharePieces(randomBytes(share.length), 1 << 20)], RangeError);
  assert.throws(() => [...sharePieces(share, 0)], RangeError);
});
