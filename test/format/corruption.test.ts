import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeBytes,
  verifyShare,
  decodeFile,
  memorySource,
  geometry,
  NotEnoughSharesError,
  CorruptDataError,
  type DecodeReport,
  type ShareRegion,
  type ShareSource
} from '../../src/format/index.ts';
import { blockOffset } from '../../src/format/geometry.ts';
import { toVerifyCap, formatCap, type PackCap } from '../../src/caps/index.ts';
import { prng, encodeBytes } from './helpers.ts';

const K = 3,
  N = 5,
  SEG = 256,
  SIZE = 1500;
const data = prng(SIZE, 42);
const enc = await encodeBytes(data, { k: K, n: N, segmentSize: SEG, convergenceSecret: new Uint8Array(32) });
const other = await encodeBytes(prng(SIZE, 43), { k: K, n: N, segmentSize: SEG, convergenceSecret: new Uint8Array(32) });
const cap = enc.cap as PackCap;
const g = geometry({ k: K, n: N, segmentSize: SEG, fileSize: SIZE });
const leaf = (seg: number) => g.blockTreeOffset + 32 * (g.leaves - 1 + seg);

function flip(share: Uint8Array, at: number): Uint8Array {
  const c = Uint8Array.from(share);
  c[at] ^= 0x40;
  return c;
}

const mutations: { name: string; region: ShareRegion; make: (s: Uint8Array) => Uint8Array; pathRegion?: ShareRegion }[] = [
  { name: 'header magic', region: 'header', make: (s) => flip(s, 0) },
  { name: 'header storage index', region: 'header', make: (s) => flip(s, 20) },
  { name: 'header reserved', region: 'header', make: (s) => flip(s, 60) },
  { name: 'block of segment 2', region: 'block', make: (s) => flip(s, blockOffset(g, 2) + 5) },
  { name: 'last byte of tail block', region: 'block', make: (s) => flip(s, g.blockTreeOffset - 1) },
  { name: 'block-tree leaf', region: 'block-tree', make: (s) => flip(s, leaf(2) + 3), pathRegion: 'block-tree' },
  { name: 'block-tree root', region: 'block-tree', make: (s) => flip(s, g.blockTreeOffset) },
  { name: 'block-tree padding leaf', region: 'block-tree', make: (s) => flip(s, leaf(g.leaves - 1)) },
  { name: 'share roots (own)', region: 'share-roots', make: (s) => flip(s, g.shareRootsOffset + 32 + 1) },
  { name: 'share roots (other)', region: 'share-roots', make: (s) => flip(s, g.shareRootsOffset + 4 * 32) },
  { name: 'UEB', region: 'ueb', make: (s) => flip(s, g.uebOffset + 20) },
  { name: 'footer offset', region: 'footer', make: (s) => flip(s, g.footerOffset + 7) },
  { name: 'footer storage index', region: 'footer', make: (s) => flip(s, g.footerOffset + 40) },
  { name: 'footer magic', region: 'footer', make: (s) => flip(s, s.length - 1) },
  { name: 'truncated by 1', region: 'footer', make: (s) => s.subarray(0, s.length - 1) },
  { name: 'truncated to the blocks', region: 'footer', make: (s) => s.subarray(0, g.blockTreeOffset) },
  { name: 'truncated to nothing', region: 'size', make: () => new Uint8Array(0) },
  { name: 'extended by 8', region: 'footer', make: (s) => Uint8Array.from([...s, 1, 2, 3, 4, 5, 6, 7, 8]) },
  { name: "another file's share 1", region: 'footer', make: () => other.shares[1] },
  { name: 'our share 2 presented as share 1', region: 'footer', make: () => enc.shares[2] }
];

test('corruption matrix: every region is detected by verifyShare and skipped by the decoder', async () => {
  for (const m of mutations) {
    const bad = m.make(enc.shares[1]);
    for (const [vcap, treeReadMax] of [
      [toVerifyCap(cap), undefined],
      [formatCap(cap), 0]
    ] as const) {
      const rep = await verifyShare(vcap, memorySource(1, bad), { treeReadMax });
      assert.equal(rep.ok, false, m.name);
      assert.ok(rep.errors.length >= 1, m.name);
      assert.equal(rep.errors[0].code, 'ERR_CORRUPT_SHARE');
      assert.equal(rep.errors[0].details.region, m.region, `${m.name} (treeReadMax ${treeReadMax})`);
      assert.equal(rep.errors[0].details.share, 1);
    }
    let report: DecodeReport | undefined;
    const shares = enc.shares.map((s, i) => (i === 1 ? bad : s));
    assert.deepEqual(await decodeBytes(cap, shares, { report: (r) => (report = r) }), data, m.name);
    assert.equal(report!.corrupt.length, 1, m.name);
    assert.equal(report!.corrupt[0].details.share, 1);
    assert.equal(report!.corrupt[0].details.region, m.region, m.name);
    if (m.region !== 'block') assert.ok(!report!.sharesUsed.includes(1), m.name); // a bad block is found only after earlier good ones were used
  }
});

test('good shares verify fully in both tree modes', async () => {
  for (let i = 0; i < N; i++) {
    for (const treeReadMax of [undefined, 0]) {
      const rep = await verifyShare(toVerifyCap(cap), memorySource(i, enc.shares[i]), { treeReadMax });
      assert.deepEqual([rep.ok, rep.blocksChecked, rep.segments, rep.errors.length], [true, g.numSegments, g.numSegments, 0]);
    }
  }
});

test('path-only mode: a bad block and a bad path node are told apart', async () => {
  const badBlock = flip(enc.shares[0], blockOffset(g, 4));
  const badSibling = flip(enc.shares[0], leaf(5)); // sibling of leaf 4
  let report: DecodeReport | undefined;
  assert.deepEqual(
    await decodeBytes(
      cap,
      enc.shares.map((s, i) => (i === 0 ? badBlock : s)),
      { treeReadMax: 0, report: (r) => (report = r) }
    ),
    data
  );
  assert.deepEqual([report!.corrupt[0].details.region, report!.corrupt[0].details.segment], ['block', 4]);
  const rep = await verifyShare(toVerifyCap(cap), memorySource(0, badSibling), { treeReadMax: 0 });
  // leaf 5's stored hash is segment 4's sibling and segment 5's own leaf: both paths fail, as the tree.
  assert.deepEqual(
    rep.errors.map((e) => [e.details.region, e.details.segment]),
    [
      ['block-tree', 4],
      ['block-tree', 5],
      ['block-tree', undefined]
    ]
  );
  assert.equal(rep.blocksChecked, g.numSegments - 2);
});

test('up to m bad shares still decode; m+1 give CorruptDataError (missing ones NotEnoughSharesError); failing and lying sources are skipped', async () => {
  const shares = enc.shares.map((s, i) => (i === 0 || i === 2 ? flip(s, blockOffset(g, 3)) : s));
  let report: DecodeReport | undefined;
  assert.deepEqual(await decodeBytes(cap, shares, { report: (r) => (report = r) }), data);
  assert.deepEqual(
    report!.corrupt.map((e) => [e.details.share, e.details.segment]),
    [
      [0, 3],
      [2, 3]
    ]
  );
  assert.deepEqual(report!.sharesUsed, [0, 1, 2, 3, 4]); // 0 and 2 served segments 0-2 before going bad
  const worse = shares.map((s, i) => (i === 4 ? flip(s, g.uebOffset) : s));
  // Shares 0, 2 and 4 are there but fail verification: damaged data, not missing data.
  await assert.rejects(
    decodeBytes(cap, worse),
    (e: CorruptDataError) =>
      e instanceof CorruptDataError &&
      e.code === 'ERR_CORRUPT_DATA' &&
      e.details.needed === 3 &&
      e.details.good === 2 &&
      e.details.corrupt === 3 &&
      e.details.segment === 3
  );
  // Two good shares and no more: too few, and nothing failed verification.
  await assert.rejects(
    decodeBytes(cap, [null, enc.shares[1], null, enc.shares[3], null]),
    (e: NotEnoughSharesError) => e instanceof NotEnoughSharesError && e.details.found === 2
  );
  // Share 0 (bad only from segment 3 on) beside one good share: two shares were there, fewer than k: missing, not corruption.
  await assert.rejects(
    decodeBytes(cap, [shares[0], enc.shares[1], null, null, null]),
    (e: NotEnoughSharesError) => e instanceof NotEnoughSharesError && e.details.found === 2
  );

  const failing: ShareSource = {
    shareNum: 0,
    size: enc.shares[0].length,
    async read() {
      throw new Error('peer went away');
    }
  };
  const lying: ShareSource = {
    shareNum: 1,
    size: enc.shares[1].length,
    async read(o, l) {
      return enc.shares[1].subarray(o, o + l - 1);
    }
  };
  const dupe: ShareSource = memorySource(3, enc.shares[3]);
  const stream = decodeFile(cap, [failing, lying, memorySource(2, enc.shares[2]), memorySource(3, enc.shares[3]), dupe, memorySource(4, enc.shares[4])]);
  const out: Uint8Array[] = [];
  for await (const c of stream) out.push(c);
  assert.deepEqual(new Uint8Array(Buffer.concat(out)), data);
  assert.equal(stream.report.failed.length, 1);
  assert.equal(stream.report.failed[0].share, 0);
  assert.equal(stream.report.corrupt[0].details.share, 1);
  assert.deepEqual(stream.report.sharesUsed, [2, 3, 4]);
});

test('a cap with the wrong UEB hash or params finds no good shares: every one fails verification against it', async () => {
  const wrong: PackCap = { ...cap, uebHash: new Uint8Array(32) };
  await assert.rejects(
    decodeBytes(wrong, enc.shares),
    (e: CorruptDataError) => e.code === 'ERR_CORRUPT_DATA' && e.details.good === 0 && e.details.corrupt === 5
  );
  const wrongSize: PackCap = { ...cap, size: cap.size + 1 };
  await assert.rejects(decodeBytes(wrongSize, enc.shares), CorruptDataError);
});
