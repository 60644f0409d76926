// Shared behaviour suites for every store (like restic's backend tests), run against DiskStore and
// MemoryStore: storeSuite (shares, quota, leases, per-owner usage, admission) and slotSuite (mutable
// slots). Call them from a *.test.ts file with a harness that makes fresh stores.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AdmissionPolicy, LocalStore, ShareStore } from '../../src/store/index.ts';
import {
  InvalidArgumentError,
  NotOwnerError,
  OutOfRangeError,
  ShareNotFoundError,
  ShareRefusedError,
  SizeMismatchError,
  SlotRefusedError,
  SLOT_MAX_PAYLOAD_BYTES,
  SLOT_MAX_RECORD_BYTES,
  MIN_SHARE_CHARGE,
  shareCharge,
  siToHex
} from '../../src/store/index.ts';
import { createMutableWriteCap, signRecord, storageIndexOf, openRecord } from '../../src/caps/index.ts';

export interface SuiteHarness {
  /** A fresh, empty store offering `offer` bytes; `now` is the store clock; `policy` its admission hook. */
  make(offer: number, now: () => number, opts?: { policy?: AdmissionPolicy }): Promise<LocalStore>;
  cleanup(): Promise<void>;
}

const A = '12D3KooWAlice';
const C = '12D3KooWCarol';

export async function put(store: ShareStore, si: Uint8Array, n: number, owner: string, data: Uint8Array, leaseUntil?: number) {
  const w = await store.beginWrite(si, n, owner, data.byteLength, { leaseUntil });
  for (let i = 0; i < data.byteLength; i += 1000) await w.write(data.subarray(i, i + 1000));
  return w.commit();
}

export function storeSuite(name: string, h: SuiteHarness): void {
  describe(`ShareStore suite: ${name}`, () => {
    let clock = 1_700_000_000_000;
    const now = () => clock;
    let store: LocalStore;
    before(async () => {
      store = await h.make(100_000, now);
    });
    after(async () => {
      await store.close();
      await h.cleanup();
    });

    test('empty store: stats, list, read missing', async () => {
      const si = randomBytes(16);
      assert.deepEqual(store.stats(), { offered: 100_000, used: 0, reserved: 0, free: 100_000, shares: 0, slots: 0 });
      assert.deepEqual(await store.list(si), []);
      await assert.rejects(store.read(si, 0, 0, 1), ShareNotFoundError);
    });

    test('write, list, read ranges byte-identical', async () => {
      const si = randomBytes(16);
      const data = randomBytes(5000);
      assert.deepEqual(await store.canAccept(si, 3, data.length, A), { ok: true });
      const rec = await put(store, si, 3, A, data);
      assert.equal(rec.size, 5000);
      assert.equal(rec.owner, A);
      assert.deepEqual(await store.list(si), [{ shareNum: 3, size: 5000 }]);
      assert.deepEqual(Buffer.from(await store.read(si, 3, 0, 5000)), data);
      assert.deepEqual(Buffer.from(await store.read(si, 3, 1234, 100)), data.subarray(1234, 1334));
      assert.equal((await store.read(si, 3, 5000, 0)).byteLength, 0);
      await assert.rejects(store.read(si, 3, 4999, 2), OutOfRangeError);
      await assert.rejects(store.read(si, 3, -1, 1), OutOfRangeError);
      await assert.rejects(store.read(si, 3, 0.5, 1), OutOfRangeError);
      await assert.rejects(store.read(si, 4, 0, 1), ShareNotFoundError);
    });

    test('re-upload by the same owner is "exists"; by another owner is "conflict"', async () => {
      const si = randomBytes(16);
      const data = randomBytes(100);
      await put(store, si, 0, A, data);
      assert.equal(((await store.canAccept(si, 0, 100, A)) as { reason: string }).reason, 'exists');
      assert.equal(((await store.canAccept(si, 0, 100, C)) as { reason: string }).reason, 'conflict');
      await assert.rejects(store.beginWrite(si, 0, A, 100), (e: unknown) => e instanceof ShareRefusedError && e.reason === 'exists');
      await assert.rejects(store.beginWrite(si, 0, C, 100), (e: unknown) => e instanceof ShareRefusedError && e.reason === 'conflict');
      assert.deepEqual(Buffer.from(await store.read(si, 0, 0, 100)), data);
    });

    test('quota: refuses what does not fit, counts uploads in progress', async () => {
      const si = randomBytes(16);
      const free = store.stats().free;
      assert.equal(((await store.canAccept(si, 0, free + 1, A)) as { reason: string }).reason, 'quota');
      const w = await store.beginWrite(si, 0, A, free - 10);
      assert.equal(store.stats().reserved, free - 10);
      assert.equal(((await store.canAccept(si, 1, 11, A)) as { reason: string }).reason, 'quota');
      assert.equal(((await store.canAccept(si, 0, 5, A)) as { reason: string }).reason, 'busy');
      await w.abort();
      assert.equal(store.stats().reserved, 0);
      assert.deepEqual(await store.canAccept(si, 1, 11, A), { ok: true });
    });

    test('invalid arguments', async () => {
      const si = randomBytes(16);
      assert.equal(((await store.canAccept(randomBytes(15), 0, 1, A)) as { reason: string }).reason, 'invalid');
      assert.equal(((await store.canAccept(si, 256, 1, A)) as { reason: string }).reason, 'invalid');
      assert.equal(((await store.canAccept(si, 0, -1, A)) as { reason: string }).reason, 'invalid');
      assert.equal(((await store.canAccept(si, 0, 1, '')) as { reason: string }).reason, 'invalid');
      await assert.rejects(store.beginWrite(si, -1, A, 1), InvalidArgumentError);
      await assert.rejects(store.list(new Uint8Array(3)), InvalidArgumentError);
    });

    test('size must match: short commit and overlong write fail and leave nothing', async () => {
      const si = randomBytes(16);
      const w = await store.beginWrite(si, 0, A, 10);
      await w.write(randomBytes(5));
      await assert.rejects(w.commit(), SizeMismatchError);
      const w2 = await store.beginWrite(si, 0, A, 10);
      await assert.rejects(w2.write(randomBytes(11)), SizeMismatchError);
      assert.deepEqual(await store.list(si), []);
      assert.equal(store.stats().reserved, 0);
    });

    test('aborted write leaves nothing visible', async () => {
      const si = randomBytes(16);
      const before = store.stats();
      const w = await store.beginWrite(si, 7, A, 2000);
      await w.write(randomBytes(1000));
      assert.deepEqual(await store.list(si), []);
      await assert.rejects(store.read(si, 7, 0, 1), ShareNotFoundError);
      await w.abort();
      await w.abort();
      assert.deepEqual(await store.list(si), []);
      assert.deepEqual(store.stats(), before);
    });

    test('delete only by the owner', async () => {
      const si = randomBytes(16);
      await put(store, si, 1, A, randomBytes(300));
      const used = store.stats().used;
      await assert.rejects(store.delete(si, 1, C), NotOwnerError);
      await assert.rejects(store.delete(si, 2, A), ShareNotFoundError);
      await store.delete(si, 1, A);
      assert.deepEqual(await store.list(si), []);
      assert.equal(store.stats().used, used - shareCharge(300), 'a small share is charged MIN_SHARE_CHARGE');
      await put(store, si, 1, C, randomBytes(10));
      assert.equal((await store.get(si, 1))?.owner, C);
    });

    test('leases: renew extends (owner only), gc removes expired after grace', async () => {
      const si = randomBytes(16);
      const day = 24 * 3600 * 1000;
      await put(store, si, 0, A, randomBytes(400), clock + day);
      await put(store, si, 1, A, randomBytes(500), clock + day);
      await put(store, si, 2, C, randomBytes(600), clock + day);
      await assert.rejects(store.renewLease(si, 0, C, clock + 10 * day), NotOwnerError);
      assert.equal(await store.renewLease(si, 0, A, clock + 10 * day), 1);
      assert.equal(await store.renewLease(si, 'all', C, clock + 5 * day), 1);
      assert.equal(await store.renewLease(si, 0, A, clock + 2 * day), 1); // never shortens
      assert.equal((await store.get(si, 0))?.leaseExpiry, clock + 10 * day);
      const usedBefore = store.stats().used;
      // share 1 expired at +1d; not collected inside the grace period.
      assert.deepEqual(await store.gc(clock + day + 1), { removedShares: 0, reclaimedBytes: 0, removedSlots: 0 });
      const r = await store.gc(clock + 3 * day);
      assert.deepEqual(r, { removedShares: 1, reclaimedBytes: 500, removedSlots: 0 });
      assert.deepEqual(
        (await store.list(si)).map((s) => s.shareNum),
        [0, 2]
      );
      assert.equal(store.stats().used, usedBefore - shareCharge(500));
    });

    test('concurrent uploads of distinct shares all land', async () => {
      const si = randomBytes(16);
      const datas = [0, 1, 2, 3].map(() => randomBytes(777));
      await Promise.all(datas.map((d, i) => put(store, si, i, A, d)));
      assert.deepEqual(
        (await store.list(si)).map((s) => s.shareNum),
        [0, 1, 2, 3]
      );
      for (let i = 0; i < 4; i++) assert.deepEqual(Buffer.from(await store.read(si, i, 0, 777)), datas[i]);
    });

    test('the bytes a reader gets are its own: a later write or read does not change them', async () => {
      const si = randomBytes(16);
      const data = randomBytes(300);
      const chunk = Buffer.from(data);
      const w = await store.beginWrite(si, 0, A, 300);
      await w.write(chunk);
      chunk.fill(0); // the writer's buffer is reused before commit
      await w.commit();
      const got = await store.read(si, 0, 0, 300);
      assert.deepEqual(Buffer.from(got), data);
      got.fill(1);
      assert.deepEqual(Buffer.from(await store.read(si, 0, 0, 300)), data);
    });

    test('per-owner usage: committed bytes by owner, reservations while uploads run, every record listed', async () => {
      const D = '12D3KooWDave';
      const E = '12D3KooWErin';
      const si = randomBytes(16);
      assert.deepEqual(store.ownerUsage(D), { used: 0, reserved: 0 });
      await put(store, si, 0, D, randomBytes(120));
      await put(store, si, 1, D, randomBytes(80));
      const w = await store.beginWrite(si, 2, D, 50);
      await put(store, si, 3, E, randomBytes(30));
      assert.deepEqual(store.ownerUsage(D), { used: shareCharge(120) + shareCharge(80), reserved: shareCharge(50) });
      assert.deepEqual(store.ownerUsage(E), { used: shareCharge(30), reserved: 0 });
      assert.equal(store.usageByOwner().get(D), 2 * MIN_SHARE_CHARGE);
      await w.abort();
      assert.deepEqual(store.ownerUsage(D), { used: 2 * MIN_SHARE_CHARGE, reserved: 0 });
      await store.delete(si, 0, D);
      assert.equal(store.usageByOwner().get(D), shareCharge(80));
      await store.delete(si, 1, D);
      assert.equal(store.usageByOwner().has(D), false, 'an owner with nothing left is dropped');
      const mine = [];
      for await (const r of store.records()) if (r.siHex === siToHex(si)) mine.push([r.shareNum, r.owner, r.size]);
      assert.deepEqual(mine, [[3, E, 30]]);
    });

    test('admission policy: consulted after the quota with the owner and stats; its refusal is reason "policy"', async () => {
      const seen: { owner: string; free: number }[] = [];
      const s = await h.make(10_000, now, {
        policy: ({ owner, stats }) => {
          seen.push({ owner, free: stats.free });
          return owner === 'greedy' ? { ok: false, reason: 'policy', message: 'over your fair share' } : { ok: true };
        }
      });
      try {
        const si = randomBytes(16);
        assert.deepEqual(await s.canAccept(si, 0, 10, 'greedy'), { ok: false, reason: 'policy', message: 'over your fair share' });
        await assert.rejects(s.beginWrite(si, 0, 'greedy', 10), (e: unknown) => e instanceof ShareRefusedError && e.reason === 'policy');
        assert.deepEqual(await s.canAccept(si, 0, 10, 'nice'), { ok: true });
        assert.equal(((await s.canAccept(si, 0, 20_000, 'greedy')) as { reason: string }).reason, 'quota', 'the quota first');
        assert.deepEqual(seen[0], { owner: 'greedy', free: 10_000 });
      } finally {
        await s.close();
      }
    });

    test('a closed store refuses every call', async () => {
      const s = await h.make(1000, now);
      await s.close();
      await assert.rejects(s.list(randomBytes(16)), (e: unknown) => (e as { code?: string }).code === 'ERR_STORE_STATE');
    });
  });
}

const enc = new TextEncoder();
const slotRefused = (reason: string) => (e: unknown) => e instanceof SlotRefusedError && e.reason === reason && e.code === 'ERR_SLOT_REFUSED';

/** Mutable slots: signed records with sequence numbers, checked against the slot (src/store/slots.ts). */
export function slotSuite(name: string, h: SuiteHarness): void {
  describe(`slot suite: ${name}`, () => {
    const B = '12D3KooWBob';
    let clock = 1_700_000_000_000;
    const now = () => clock;
    let store: LocalStore;
    before(async () => {
      store = await h.make(1024 * 1024, now);
    });
    after(async () => {
      await store.close();
      await h.cleanup();
    });

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
      await assert.rejects(store.putSlot(si, signRecord(other, 5, enc.encode('x')), B), slotRefused('wrong-slot'));
      const good = signRecord(cap, 1, enc.encode('hello'));
      const tamperedPayload = Uint8Array.from(good);
      tamperedPayload[80] ^= 1;
      await assert.rejects(store.putSlot(si, tamperedPayload, B), slotRefused('bad-signature'));
      const tamperedSig = Uint8Array.from(good);
      tamperedSig[tamperedSig.length - 1] ^= 0x40;
      await assert.rejects(store.putSlot(si, tamperedSig, B), slotRefused('bad-signature'));
      const tamperedSeq = Uint8Array.from(good);
      tamperedSeq[15] = 9;
      await assert.rejects(store.putSlot(si, tamperedSeq, B), slotRefused('bad-signature'));
      const tamperedKey = Uint8Array.from(good);
      tamperedKey[20] ^= 1;
      await assert.rejects(store.putSlot(si, tamperedKey, B), slotRefused('wrong-slot'));
      const badMagic = Uint8Array.from(good);
      badMagic[0] = 0;
      await assert.rejects(store.putSlot(si, badMagic, B), slotRefused('invalid'));
      await assert.rejects(store.putSlot(si, good.subarray(0, 100), B), slotRefused('invalid'));
      await assert.rejects(store.putSlot(si, new Uint8Array(10), B), slotRefused('invalid'));
      assert.equal(await store.getSlot(si), undefined);
    });

    test('seq must grow: lower and equal-with-other-bytes are stale; same bytes are idempotent; anyone may update', async () => {
      const cap = createMutableWriteCap();
      const si = storageIndexOf(cap)!;
      const r5 = signRecord(cap, 5, enc.encode('five'));
      assert.equal((await store.putSlot(si, r5, A)).status, 'stored');
      const used = store.stats().used;
      await assert.rejects(
        store.putSlot(si, signRecord(cap, 4, enc.encode('four')), A),
        (e: unknown) => slotRefused('stale')(e) && (e as SlotRefusedError).details.storedSeq === 5
      );
      await assert.rejects(store.putSlot(si, signRecord(cap, 5, enc.encode('five')), A), slotRefused('stale')); // fresh nonce: other bytes
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

    test('concurrent puts of one slot: the highest seq wins, whatever the order', async () => {
      const cap = createMutableWriteCap();
      const si = storageIndexOf(cap)!;
      const recs = [3, 1, 4, 2].map((n) => signRecord(cap, n, enc.encode(`v${n}`)));
      const outcomes = await Promise.allSettled(recs.map((r) => store.putSlot(si, r, A)));
      assert.ok(outcomes.some((o) => o.status === 'fulfilled'));
      assert.equal(openRecord(cap, (await store.getSlot(si))!).seq, 4);
      assert.equal((await store.getSlotRecord(si))?.size, recs[2].byteLength);
    });

    test('size is bounded: the largest payload fits, one more byte is too large', async () => {
      const cap = createMutableWriteCap();
      const si = storageIndexOf(cap)!;
      const big = signRecord(cap, 1, randomBytes(SLOT_MAX_PAYLOAD_BYTES));
      assert.equal(big.byteLength, SLOT_MAX_RECORD_BYTES);
      assert.equal((await store.putSlot(si, big, A)).status, 'stored');
      await assert.rejects(store.putSlot(si, signRecord(cap, 2, randomBytes(SLOT_MAX_PAYLOAD_BYTES + 1)), A), slotRefused('too-large'));
    });

    test('quota: a slot that does not fit is refused', async () => {
      const s = await h.make(1000, now);
      try {
        const cap = createMutableWriteCap();
        const si = storageIndexOf(cap)!;
        assert.equal((await s.putSlot(si, signRecord(cap, 1, randomBytes(500)), A)).status, 'stored');
        await assert.rejects(s.putSlot(si, signRecord(cap, 2, randomBytes(900)), A), slotRefused('quota'));
        assert.equal(openRecord(cap, (await s.getSlot(si))!).seq, 1);
      } finally {
        await s.close();
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
        assert.equal(g.removedSlots, slotsBefore, 'every slot of this suite expired');
        assert.equal(store.stats().slots, 0);
        assert.equal(await store.getSlot(si), undefined);
      } finally {
        clock = saved;
      }
    });
  });
}
