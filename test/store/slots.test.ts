import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  DiskStore, SlotRefusedError, SLOTS_DIR, INCOMING_DIR, SLOT_MAX_PAYLOAD_BYTES, SLOT_MAX_RECORD_BYTES, siToHex,
} from '../../src/store/index.ts';
import { createMutableWriteCap, signRecord, storageIndexOf, openRecord } from '../../src/caps/index.ts';

const A = '12D3KooWAlice';
const B = '12D3KooWBob';
const enc = new TextEncoder();
const refused = (reason: string) => (e: unknown) => e instanceof SlotRefusedError && e.reason === reason && e.code === 'ERR_SLOT_REFUSED';

test('slots are charged to the peer that stores them: admission policy and a per-peer slot limit (issue 17 item 2)', async () => {
  const h = await mkdtemp(join(tmpdir(), 'p2pb-slots-'));
  const asked: { owner: string; size: number; kind?: string }[] = [];
  const s = await DiskStore.open(h, {
    offer: '1MiB', limits: { slots: 3 },
    policy: (req) => { asked.push({ owner: req.owner, size: req.size, kind: req.kind }); return req.owner === B ? { ok: false, reason: 'policy', message: 'fairness: no' } : { ok: true }; }
  });
  try {
    const put = (owner: string) => { const cap = createMutableWriteCap(); return s.putSlot(storageIndexOf(cap)!, signRecord(cap, 1, randomBytes(100)), owner); };
    for (let i = 0; i < 3; i++) await put(A);
    await assert.rejects(put(A), refused('limit'));
    await assert.rejects(put(B), refused('policy'));
    assert.ok(asked.every((a) => a.kind === 'slot') && asked.some((a) => a.owner === B));
    assert.equal(s.stats().slots, 3);
    assert.equal(s.ownerUsage(A).used, s.stats().used, 'slot bytes are charged to their owner');
    assert.equal(s.usageByOwner().get(A), s.stats().used);
  } finally {
    await s.close();
  }
  // Charges survive a restart (reconciled from the index).
  const again = await DiskStore.open(h, { offer: '1MiB', limits: { slots: 3 } });
  try {
    assert.equal(again.ownerUsage(A).used, again.stats().used);
    const cap = createMutableWriteCap();
    await assert.rejects(again.putSlot(storageIndexOf(cap)!, signRecord(cap, 1, randomBytes(10)), A), refused('limit'));
  } finally {
    await again.close();
    await rm(h, { recursive: true, force: true });
  }
});

describe('DiskStore mutable slots', () => {
  let home: string;
  let store: DiskStore;
  let clock = 1_700_000_000_000;
  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'p2pb-slots-'));
    store = await DiskStore.open(home, { offer: '1MiB', now: () => clock });
  });
  after(async () => { await store.close(); await rm(home, { recursive: true, force: true }); });

  test('accepts a valid record, serves it back, counts it in stats', async () => {
    const cap = createMutableWriteCap();
    const si = storageIndexOf(cap)!;
    const rec = signRecord(cap, 1, enc.encode('head v1'));
    const before = store.stats();
    const r = await store.putSlot(si, rec, A);
    assert.equal(r.status, 'stored');
    assert.equal(r.seq, 1);
    assert.equal(r.size, rec.byteLength);
    assert.ok(Buffer.from((await store.getSlot(si))!).equals(rec));
    assert.equal(new TextDecoder().decode(openRecord(cap, (await store.getSlot(si))!).payload), 'head v1');
    const after = store.stats();
    assert.equal(after.used, before.used + rec.byteLength);
    assert.equal(after.slots, before.slots + 1);
    assert.equal(store.stats().shares, before.shares);
    assert.equal(await store.getSlot(randomBytes(16)), undefined);
    const listed = (await store.listSlots()).find((s) => s.siHex === siToHex(si));
    assert.equal(listed?.seq, 1);
    assert.equal(listed?.owner, A);
  });

  test('refuses a record under another slot, a flipped byte, a bad signature', async () => {
    const cap = createMutableWriteCap();
    const other = createMutableWriteCap();
    const si = storageIndexOf(cap)!;
    // Signed by another key: valid for ITS slot, refused under ours.
    await assert.rejects(store.putSlot(si, signRecord(other, 5, enc.encode('x')), B), refused('wrong-slot'));
    const good = signRecord(cap, 1, enc.encode('hello'));
    const tamperedPayload = Uint8Array.from(good); tamperedPayload[80] ^= 1;
    await assert.rejects(store.putSlot(si, tamperedPayload, B), refused('bad-signature'));
    const tamperedSig = Uint8Array.from(good); tamperedSig[tamperedSig.length - 1] ^= 0x40;
    await assert.rejects(store.putSlot(si, tamperedSig, B), refused('bad-signature'));
    const tamperedSeq = Uint8Array.from(good); tamperedSeq[15] = 9;
    await assert.rejects(store.putSlot(si, tamperedSeq, B), refused('bad-signature'));
    const tamperedKey = Uint8Array.from(good); tamperedKey[20] ^= 1;
    await assert.rejects(store.putSlot(si, tamperedKey, B), refused('wrong-slot'));
    const badMagic = Uint8Array.from(good); badMagic[0] = 0;
    await assert.rejects(store.putSlot(si, badMagic, B), refused('invalid'));
    await assert.rejects(store.putSlot(si, good.subarray(0, 100), B), refused('invalid'));
    await assert.rejects(store.putSlot(si, new Uint8Array(10), B), refused('invalid'));
    assert.equal(await store.getSlot(si), undefined);
  });

  test('seq must grow: lower and equal-with-other-bytes are stale; same bytes are idempotent; anyone may update', async () => {
    const cap = createMutableWriteCap();
    const si = storageIndexOf(cap)!;
    const r5 = signRecord(cap, 5, enc.encode('five'));
    assert.equal((await store.putSlot(si, r5, A)).status, 'stored');
    const used = store.stats().used;
    await assert.rejects(store.putSlot(si, signRecord(cap, 4, enc.encode('four')), A), (e: unknown) => refused('stale')(e) && (e as SlotRefusedError).details.storedSeq === 5);
    await assert.rejects(store.putSlot(si, signRecord(cap, 5, enc.encode('five')), A), refused('stale')); // fresh nonce: other bytes
    const again = await store.putSlot(si, r5, B);
    assert.equal(again.status, 'unchanged');
    assert.equal(again.seq, 5);
    assert.equal(store.stats().used, used);
    // B (not the first uploader) relays a newer record: accepted, authority is the signature.
    const r6 = signRecord(cap, 6, enc.encode('six, a bit longer'));
    assert.equal((await store.putSlot(si, r6, B)).status, 'stored');
    assert.equal(store.stats().used, used - r5.byteLength + r6.byteLength);
    assert.equal(openRecord(cap, (await store.getSlot(si))!).seq, 6);
    assert.equal((await store.getSlotRecord(si))?.owner, A, 'still charged to the peer that stored it first');
  });

  test('size is bounded: the largest payload fits, one more byte is too large', async () => {
    const cap = createMutableWriteCap();
    const si = storageIndexOf(cap)!;
    const big = signRecord(cap, 1, randomBytes(SLOT_MAX_PAYLOAD_BYTES));
    assert.equal(big.byteLength, SLOT_MAX_RECORD_BYTES);
    assert.equal((await store.putSlot(si, big, A)).status, 'stored');
    await assert.rejects(store.putSlot(si, signRecord(cap, 2, randomBytes(SLOT_MAX_PAYLOAD_BYTES + 1)), A), refused('too-large'));
  });

  test('quota: a slot that does not fit is refused', async () => {
    const h = await mkdtemp(join(tmpdir(), 'p2pb-slots-'));
    const s = await DiskStore.open(h, { offer: 1000 });
    try {
      const cap = createMutableWriteCap();
      const si = storageIndexOf(cap)!;
      assert.equal((await s.putSlot(si, signRecord(cap, 1, randomBytes(500)), A)).status, 'stored');
      await assert.rejects(s.putSlot(si, signRecord(cap, 2, randomBytes(900)), A), refused('quota'));
      assert.equal(openRecord(cap, (await s.getSlot(si))!).seq, 1);
    } finally {
      await s.close();
      await rm(h, { recursive: true, force: true });
    }
  });

  test('leases: only the owner renews by re-put, a newer record renews, 62 days at most, gc collects expired slots (issue 17 item 2)', async () => {
    const cap = createMutableWriteCap();
    const si = storageIndexOf(cap)!;
    const rec = signRecord(cap, 1, enc.encode('lease'));
    const r = await store.putSlot(si, rec, A);
    const day = 24 * 3600 * 1000;
    assert.equal(r.leaseExpiry, clock + 31 * day);
    // B replays A's record (anyone can SLOT_GET it): answered, but the lease does not move.
    const replay = await store.putSlot(si, rec, B, { leaseUntil: clock + 60 * day });
    assert.equal(replay.status, 'unchanged');
    assert.equal(replay.leaseExpiry, clock + 31 * day);
    assert.equal(await store.renewSlotLease(si, clock + 60 * day, B), false);
    assert.equal((await store.getSlotRecord(si))?.leaseExpiry, clock + 31 * day);
    // The owner renews; 400 days asked are clamped to 62.
    const r2 = await store.putSlot(si, rec, A, { leaseUntil: clock + 60 * day });
    assert.equal(r2.status, 'unchanged');
    assert.equal(r2.leaseExpiry, clock + 60 * day);
    assert.equal((await store.putSlot(si, rec, A, { leaseUntil: clock + 400 * day })).leaseExpiry, clock + 62 * day);
    assert.equal(await store.renewSlotLease(si, clock + 10 * day, A), true); // never shrinks
    assert.equal((await store.getSlotRecord(si))?.leaseExpiry, clock + 62 * day);
    assert.equal(await store.renewSlotLease(randomBytes(16), clock, A), false);
    // A newer record is signed by the slot's key: whoever relays it, it may renew; the slot stays charged to A.
    const newer = await store.putSlot(si, signRecord(cap, 2, enc.encode('lease v2')), B, { leaseUntil: clock + 62 * day + 1 });
    assert.equal(newer.status, 'stored');
    assert.equal((await store.getSlotRecord(si))?.owner, A);
    const slotsBefore = store.stats().slots;
    const saved = clock;
    clock += 500 * day; // every slot of this suite expired
    try {
      const g = await store.gc();
      assert.ok(g.removedSlots >= 1);
      assert.equal(store.stats().slots, slotsBefore - g.removedSlots);
      assert.equal(await store.getSlot(si), undefined);
    } finally {
      clock = saved;
    }
  });
});

test('slots survive reopen; writes leave no temp files; orphans and broken entries are cleaned', async () => {
  const home = await mkdtemp(join(tmpdir(), 'p2pb-slots-'));
  try {
    const cap = createMutableWriteCap();
    const si = storageIndexOf(cap)!;
    const hex = siToHex(si);
    let s = await DiskStore.open(home, { offer: '1MiB' });
    await s.putSlot(si, signRecord(cap, 1, enc.encode('one')), A);
    const r2 = signRecord(cap, 2, enc.encode('two'));
    await s.putSlot(si, r2, A);
    assert.deepEqual(await readdir(join(home, INCOMING_DIR)), []);
    assert.deepEqual(await readdir(join(home, SLOTS_DIR, hex.slice(0, 2))), [hex]);
    const used = s.stats().used;
    await s.close();
    // An orphan slot file (no index entry) and a temp file from a crash.
    const orphan = '00' + 'ab'.repeat(15);
    await mkdir(join(home, SLOTS_DIR, '00'), { recursive: true });
    await writeFile(join(home, SLOTS_DIR, '00', orphan), 'junk');
    await writeFile(join(home, INCOMING_DIR, 'slot.x.tmp'), 'junk');
    s = await DiskStore.open(home, { offer: '1MiB' });
    assert.ok(Buffer.from((await s.getSlot(si))!).equals(r2));
    assert.equal(s.stats().used, used);
    assert.equal(s.stats().slots, 1);
    assert.deepEqual(await readdir(join(home, INCOMING_DIR)), []);
    assert.deepEqual((await readdir(join(home, SLOTS_DIR))).sort(), [hex.slice(0, 2)]);
    await assert.rejects(s.putSlot(si, signRecord(cap, 1, enc.encode('old')), A), refused('stale'));
    // Crash between rename of a newer record and the index update: the entry follows the (valid) file.
    const r3 = signRecord(cap, 3, enc.encode('three: longer than two'));
    await s.close();
    await writeFile(join(home, SLOTS_DIR, hex.slice(0, 2), hex), r3);
    s = await DiskStore.open(home, { offer: '1MiB' });
    assert.equal((await s.getSlotRecord(si))?.seq, 3);
    assert.equal(s.stats().used, r3.byteLength);
    assert.ok(Buffer.from(await readFile(join(home, SLOTS_DIR, hex.slice(0, 2), hex))).equals(r3));
    await s.close();
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});
