import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { makePeer, removeHome } from './helpers.ts';
import type { TestPeer } from './helpers.ts';
import { RemoteRefusedError, ProtocolError, MSG, STORAGE_PROTOCOL, encodeFrame, FrameReader } from '../../src/net/index.ts';
import { MAX_SLOT_LEASE_MS, SLOT_MAX_PAYLOAD_BYTES } from '../../src/store/index.ts';
import { createMutableWriteCap, signRecord, storageIndexOf, openRecord, toReadCap } from '../../src/caps/index.ts';

const enc = new TextEncoder();
const refused = (reason: string) => (e: unknown) => e instanceof RemoteRefusedError && e.reason === reason;

describe('mutable slots between real nodes', () => {
  let A: TestPeer, B: TestPeer, C: TestPeer, D: TestPeer;
  before(async () => {
    [A, B, C, D] = await Promise.all([makePeer(), makePeer(), makePeer(), makePeer()]);
  });
  after(async () => {
    for (const p of [A, B, C, D]) {
      await p?.stop().catch(() => {});
      await removeHome(p);
    }
  });

  test('A puts a record on B and C; D reads it from both; a newer seq replaces it', async () => {
    const cap = createMutableWriteCap();
    const si = storageIndexOf(cap)!;
    const r1 = signRecord(cap, 1, enc.encode('snapshots: [1]'));
    for (const X of [B, C]) {
      const r = await A.node.storage(X.node.multiaddrs()[0]).putSlot(si, r1);
      assert.equal(r.status, 'stored');
      assert.equal(r.seq, 1);
      // The lease reported is the one the holder filed, in the future.
      const rec = await X.store.getSlotRecord(si);
      assert.equal(rec?.seq, 1);
      assert.equal(rec?.leaseExpiry, r.leaseExpiry);
      assert.ok(r.leaseExpiry > Date.now());
    }
    for (const X of [B, C]) {
      const got = await D.node.storage(X.node.multiaddrs()[0]).getSlot(si);
      assert.ok(got && Buffer.from(got).equals(r1));
      assert.equal(new TextDecoder().decode(openRecord(toReadCap(cap), got).payload), 'snapshots: [1]');
    }
    // Re-put of the same bytes by D, a relay: unchanged, and the lease does not move: only the peer charged with
    // the slot renews it that way (a replay must not keep a slot alive, issue 17 item 2).
    const until = Date.now() + 90 * 24 * 3600 * 1000;
    const stored = (await B.store.getSlotRecord(si))!.leaseExpiry;
    const again = await D.node.storage(B.node.multiaddrs()[0]).putSlot(si, r1, { leaseUntil: until });
    assert.deepEqual(again, { status: 'unchanged', seq: 1, leaseExpiry: stored });
    // A renews; the 90 days asked are clamped to the slot lease limit.
    const before = Date.now();
    const renewed = await A.node.storage(B.node.multiaddrs()[0]).putSlot(si, r1, { leaseUntil: until });
    assert.equal(renewed.status, 'unchanged');
    assert.ok(renewed.leaseExpiry > stored && renewed.leaseExpiry >= before + MAX_SLOT_LEASE_MS && renewed.leaseExpiry <= Date.now() + MAX_SLOT_LEASE_MS);
    // D relays a newer record written by A's key: authority is the signature, not the peer.
    const r2 = signRecord(cap, 2, enc.encode('snapshots: [1, 2]'));
    assert.equal((await D.node.storage(B.node.multiaddrs()[0]).putSlot(si, r2)).status, 'stored');
    assert.equal(openRecord(cap, (await A.node.storage(B.node.multiaddrs()[0]).getSlot(si))!).seq, 2);
    assert.equal(B.store.stats().slots, 1);
  });

  test('forged, tampered, stale, oversized records are refused by the server', async () => {
    const cap = createMutableWriteCap();
    const si = storageIndexOf(cap)!;
    const b = D.node.storage(B.node.multiaddrs()[0]);
    await b.putSlot(si, signRecord(cap, 3, enc.encode('good')));
    // Signed by another key (valid for its own slot) under our slot.
    await assert.rejects(b.putSlot(si, signRecord(createMutableWriteCap(), 9, enc.encode('evil'))), refused('wrong-slot'));
    const t = signRecord(cap, 4, enc.encode('tamper me'));
    t[90] ^= 1;
    await assert.rejects(b.putSlot(si, t), refused('bad-signature'));
    await assert.rejects(b.putSlot(si, signRecord(cap, 2, enc.encode('old'))), refused('stale'));
    await assert.rejects(b.putSlot(si, signRecord(cap, 3, enc.encode('same seq, other bytes'))), refused('stale'));
    await assert.rejects(b.putSlot(si, signRecord(cap, 5, randomBytes(SLOT_MAX_PAYLOAD_BYTES + 1))), refused('too-large'));
    await assert.rejects(b.putSlot(si, new Uint8Array(0)), refused('invalid'));
    assert.equal(new TextDecoder().decode(openRecord(cap, (await b.getSlot(si))!).payload), 'good');
  });

  test('getSlot of an unknown slot is null; strict headers for slot messages', async () => {
    assert.equal(await D.node.storage(C.node.multiaddrs()[0]).getSlot(randomBytes(16)), null);
    const siHex = randomBytes(16).toString('hex');
    const raw = async (type: number, header: Record<string, unknown>, payload?: Uint8Array) => {
      const s = await D.node.libp2p.dialProtocol(C.node.multiaddrs()[0], STORAGE_PROTOCOL);
      const reader = new FrameReader(s, { idleMs: 5000 });
      try {
        s.send(encodeFrame(type, header, payload));
        await s.close().catch(() => {});
        return await reader.next();
      } finally {
        reader.release();
        if (s.status === 'open') s.abort(new Error('done'));
      }
    };
    for (const [type, h, p] of [
      [MSG.SLOT_GET, { si: siHex, extra: 1 }],
      [MSG.SLOT_GET, { si: siHex.toUpperCase() }],
      [MSG.SLOT_GET, { si: siHex }, new Uint8Array(3)],
      [MSG.SLOT_PUT, { si: siHex, owner: 'me' }, new Uint8Array(3)],
      [MSG.SLOT_PUT, { si: siHex, leaseUntil: -1 }, new Uint8Array(3)],
      [MSG.SLOT_PUT, {}, new Uint8Array(3)]
    ] as [number, Record<string, unknown>, Uint8Array?][]) {
      const f = await raw(type, h, p);
      assert.equal(f?.type, MSG.ERROR);
      assert.equal(f?.header.code, 'ERR_PROTOCOL', JSON.stringify(h));
    }
    const f = await raw(MSG.SLOT_GET, { si: siHex });
    assert.equal(f?.header.code, 'ERR_SLOT_NOT_FOUND');
  });
});
