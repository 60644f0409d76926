// AUDIT (0x30) over real libp2p nodes on loopback: a holder proves a block; strict header validation;
// a share whose file is gone or a segment out of range is refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { encodePack, checkAuditAnswer, geometry, segmentBlockSize, uebOfShare } from '../../src/format/index.ts';
import { validate, REQUEST_SCHEMAS } from '../../src/net/frame.ts';
import { MSG, ProtocolError } from '../../src/net/index.ts';
import { validateHealth, validateConfig } from '../../src/peer/config.ts';
import { makePeer, removeHome, type TestPeer } from './helpers.ts';

const peers: TestPeer[] = [];
after(async () => {
  for (const p of peers) {
    await p.stop();
    await removeHome(p);
  }
});

test('a holder answers AUDIT with a block that proves itself; lost files and bad segments fail', async () => {
  const [a, b] = [await makePeer(), await makePeer()];
  peers.push(a, b);
  const r = encodePack(randomBytes(9000), { k: 3, n: 5, segmentSize: 2048 });
  const si = r.storageIndex!;
  const share = r.shares[4];
  await a.node.libp2p.dial(b.node.libp2p.getMultiaddrs()[0]);
  const c = a.node.storage(b.node.peerId);
  await c.writeShare(si, 4, share, share.length, { ueb: uebOfShare(share) });
  const g = geometry({ k: 3, n: 5, segmentSize: 2048, fileSize: 9000 });
  const root = share.subarray(g.shareRootsOffset + 4 * 32, g.shareRootsOffset + 5 * 32);
  for (const segment of [0, g.numSegments - 1]) {
    const nonce = randomBytes(32);
    const ans = await c.audit(si, 4, segment, nonce);
    assert.equal(checkAuditAnswer(ans, { root, segment, leaves: g.leaves, blockSize: segmentBlockSize(g, segment), nonce }), null);
  }
  await assert.rejects(c.audit(si, 4, g.numSegments, randomBytes(32)), (e: any) => e.code === 'ERR_OUT_OF_RANGE');
  await assert.rejects(c.audit(si, 3, 0, randomBytes(32)), (e: any) => e.code === 'ERR_SHARE_NOT_FOUND');
  // The holder deletes the file behind its index's back: it cannot answer.
  await rm(join(b.home, 'shares'), { recursive: true, force: true });
  await assert.rejects(c.audit(si, 4, 0, randomBytes(32)));
});

test('AUDIT headers are validated strictly', () => {
  const ok = { si: 'ab'.repeat(16), shareNum: 1, segment: 0, nonce: 'cd'.repeat(32) };
  validate(ok, REQUEST_SCHEMAS[MSG.AUDIT]);
  for (const bad of [
    { ...ok, nonce: 'cd'.repeat(31) },
    { ...ok, nonce: 'CD'.repeat(32) },
    { ...ok, segment: -1 },
    { ...ok, shareNum: 256 },
    { ...ok, extra: 1 },
    { si: ok.si, shareNum: 1, segment: 0 }
  ]) {
    assert.throws(() => validate(bad, REQUEST_SCHEMAS[MSG.AUDIT]), ProtocolError, JSON.stringify(bad));
  }
});

test('health config: defaults, overrides, threshold within k..n, unknown keys refused', () => {
  const c = validateConfig({ health: { intervalMs: 2000, repairThreshold: 5 } });
  assert.equal(c.health.intervalMs, 2000);
  assert.equal(c.health.repairThreshold, 5);
  assert.equal(c.health.leaseDays, 31);
  assert.throws(() => validateConfig({ health: { repairThreshold: 2 } }), /between k=3 and n=5/);
  assert.throws(() => validateHealth({ intervalMs: 5 }, { k: 3, n: 5 }), /intervalMs/);
  assert.throws(() => validateHealth({ bogus: 1 }, { k: 3, n: 5 }), /unknown key "health.bogus"/);
  assert.equal(c.health.repairAfterMs, 0, 'a file below the threshold is repaired at once by default');
  assert.equal(validateHealth({ repairAfterMs: 60_000 }, { k: 3, n: 5 }).repairAfterMs, 60_000);
  assert.throws(() => validateHealth({ repairAfterMs: -1 }, { k: 3, n: 5 }), /repairAfterMs/);
});
