// rebuildShares from the verify cap alone, and block audits: pure format code over shares in memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { toVerifyCap } from '../../src/caps/index.ts';
import {
  encodePack,
  decodeBytes,
  memorySource,
  rebuildShares,
  verifyShare,
  proveBlock,
  checkAuditAnswer,
  geometry,
  NotEnoughSharesError
} from '../../src/format/index.ts';
import type { PackCap } from '../../src/caps/index.ts';
import { segmentBlockSize } from '../../src/format/geometry.ts';

async function sample(size = 5000, segmentSize = 1024) {
  const data = randomBytes(size);
  const r = encodePack(data, { k: 3, n: 5, segmentSize });
  return { data, cap: r.cap as PackCap, verifyCap: toVerifyCap(r.cap), shares: r.shares };
}

test('missing shares are rebuilt byte-identical from any k, with the verify cap only', async () => {
  const { data, cap, verifyCap, shares } = await sample();
  for (const keep of [
    [0, 1, 2],
    [2, 3, 4],
    [0, 3, 4]
  ]) {
    const lost = [0, 1, 2, 3, 4].filter((i) => !keep.includes(i));
    const { shares: rebuilt, report } = await rebuildShares(
      verifyCap,
      keep.map((i) => memorySource(i, shares[i])),
      lost
    );
    assert.deepEqual(report.used.sort(), keep);
    for (const s of lost) assert.deepEqual(rebuilt.get(s), shares[s], `share ${s} rebuilt from ${keep}`);
    for (const s of lost) assert.equal((await verifyShare(verifyCap, memorySource(s, rebuilt.get(s)!))).ok, true);
  }
  const { shares: two } = await rebuildShares(verifyCap, [memorySource(1, shares[1]), memorySource(3, shares[3]), memorySource(4, shares[4])], [0, 2]);
  assert.deepEqual(two.get(0), shares[0]);
  assert.deepEqual(two.get(2), shares[2]);
  // The rebuilt shares decode with the read cap: two of the three used here were rebuilt.
  assert.deepEqual(Buffer.from(await decodeBytes(cap, [two.get(0)!, null, two.get(2)!, null, shares[4]])), Buffer.from(data));
});

test('corrupt sources are dropped; too few good ones is NotEnoughSharesError', async () => {
  const { verifyCap, shares } = await sample();
  const bad = Uint8Array.from(shares[1]);
  bad[100] ^= 0xff; // a block of segment 0
  // Share 1's block of segment 0 is read (sources are read in share order), found bad and the source
  // dropped; share 3 takes its place and share 1 is rebuilt from 0, 2 and 3.
  const { shares: rebuilt, report } = await rebuildShares(verifyCap, [0, 2, 3, 4].map((i) => memorySource(i, shares[i])).concat(memorySource(1, bad)), [1]);
  assert.deepEqual(rebuilt.get(1), shares[1]);
  assert.deepEqual(
    report.dropped.map((d) => d.share),
    [1],
    'the corrupt source was read and dropped'
  );
  assert.match(report.dropped[0].error, /share 1 is corrupt \(block, segment 0/);
  assert.deepEqual(report.used, [0, 2, 3]);
  await assert.rejects(
    rebuildShares(verifyCap, [memorySource(0, shares[0]), memorySource(1, bad), memorySource(2, shares[2])], [3]),
    (err) =>
      err instanceof NotEnoughSharesError &&
      err.code === 'ERR_NOT_ENOUGH_SHARES' &&
      err.details.needed === 3 &&
      err.details.found === 2 &&
      err.details.segment === 0
  );
});

test('audit answers verify against the share root; a forged block or stale proof fails', async () => {
  const { shares } = await sample();
  const g = geometry({ k: 3, n: 5, segmentSize: 1024, fileSize: 5000 });
  const s = shares[2];
  const roots = s.subarray(g.shareRootsOffset, g.uebOffset);
  const root = roots.subarray(2 * 32, 3 * 32);
  const read = async (o: number, l: number) => s.subarray(o, o + l);
  for (let seg = 0; seg < g.numSegments; seg++) {
    const nonce = randomBytes(32);
    const a = await proveBlock(read, s.length, seg, nonce);
    const o = { root, segment: seg, leaves: g.leaves, blockSize: segmentBlockSize(g, seg), nonce };
    assert.equal(checkAuditAnswer(a, o), null);
    assert.match(checkAuditAnswer({ ...a, block: randomBytes(a.block.length) }, o)!, /leaf/);
    assert.match(checkAuditAnswer(a, { ...o, nonce: randomBytes(32) })!, /nonce/);
  }
  await assert.rejects(proveBlock(read, s.length, g.numSegments, randomBytes(32)), RangeError);
});
