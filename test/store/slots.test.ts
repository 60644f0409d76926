// Mutable slots on disk: the shared slot suite (suite.ts) against DiskStore, then what only a disk store
// must do (survive a reopen, clean up after a crash).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DiskStore, SlotRefusedError, SLOTS_DIR, INCOMING_DIR, siToHex } from '../../src/store/index.ts';
import { createMutableWriteCap, signRecord, storageIndexOf } from '../../src/caps/index.ts';
import { slotSuite } from './suite.ts';
import { diskHarness } from './harness.ts';

const A = '12D3KooWAlice';
const B = '12D3KooWBob';
const enc = new TextEncoder();
const refused = (reason: string) => (e: unknown) => e instanceof SlotRefusedError && e.reason === reason && e.code === 'ERR_SLOT_REFUSED';

slotSuite('DiskStore', diskHarness());
test('slots are charged to the peer that stores them: admission policy and a per-peer slot limit (issue 17 item 2)', async () => {
  const h = await mkdtemp(join(tmpdir(), 'p2pb-slots-'));
  const asked: { owner: string; size: number; kind?: string }[] = [];
  const s = await DiskStore.open(h, {
    offer: '1MiB',
    limits: { slots: 3 },
    policy: (req) => {
      asked.push({ owner: req.owner, size: req.size, kind: req.kind });
      return req.owner === B ? { ok: false, reason: 'policy', message: 'fairness: no' } : { ok: true };
    }
  });
  try {
    const put = (owner: string) => {
      const cap = createMutableWriteCap();
      return s.putSlot(storageIndexOf(cap)!, signRecord(cap, 1, randomBytes(100)), owner);
    };
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
