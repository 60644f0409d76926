// A storage peer's streaming check of an offered share (src/format/check.ts), fed in pieces of any size: a real
// share passes; a byte changed anywhere (header, a block, the tree, the roots, the UEB, the footer), a share cut
// short or run long, another share number or storage index fails. And blockHasher, which the check hashes blocks
// with as their bytes come, gives blockHash's bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { encodePack, uebOfShare } from '../../src/format/index.ts';
import { startShareCheck, type ShareCheck } from '../../src/format/check.ts';
import { blockHash, blockHasher } from '../../src/format/merkle.ts';

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
  for (const [what, at] of regions) {
    const bad = Uint8Array.from(share);
    bad[at] ^= 1;
    assert.match(String(feed(start(), bad, [1000])), /./, `${what} (byte ${at}) changed`);
  }
  assert.equal(feed(start(), share.subarray(0, share.length - 1), [1000]), 'the share ended early');
  const long = start();
  assert.equal(long.push(share), null);
  assert.equal(long.push(new Uint8Array(1)), 'more bytes than the share size');
  assert.equal(long.finish(), 'more bytes than the share size', 'a failure stays');
  // Share 2's bytes offered as share 3: the header (and the root) are not share 3's.
  assert.equal(feed(start(enc.storageIndex, 3), share, [1000]), "the header is not this share's");
  assert.equal(typeof startShareCheck(randomBytes(enc.storageIndex.length), 2, share.length, ueb), 'string');
  assert.equal(typeof startShareCheck(enc.storageIndex, 5, share.length, ueb), 'string');
  assert.equal(typeof startShareCheck(enc.storageIndex, 2, share.length + 1, ueb), 'string');
});
