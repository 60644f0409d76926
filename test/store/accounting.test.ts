// The accounting both stores share (src/store/accounting.ts): reservations, admission order, lease limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DEFAULT_LEASE_MS, MAX_LEASE_MS, ShareRefusedError, SlotRefusedError, StoreAccounting } from '../../src/store/index.ts';

const where = { si: 'ab', shareNum: 0 };

test('reserve holds bytes until release (idempotent); a second reservation of one share is busy; what does not fit is quota', async () => {
  const a = new StoreAccounting({ offer: 1000 });
  a.reserve('k1', 'alice', 600, where);
  assert.deepEqual(a.stats(), { offered: 1000, used: 0, reserved: 600, free: 400, shares: 0, slots: 0 });
  assert.throws(
    () => a.reserve('k1', 'bob', 1, where),
    (e: unknown) => e instanceof ShareRefusedError && e.reason === 'busy'
  );
  assert.throws(
    () => a.reserve('k2', 'bob', 401, where),
    (e: unknown) => e instanceof ShareRefusedError && e.reason === 'quota'
  );
  assert.equal(((await a.admit('k1', { si: randomBytes(16), shareNum: 0, size: 1, owner: 'bob' })) as { reason: string }).reason, 'busy');
  assert.deepEqual(a.ownerUsage('alice'), { used: 0, reserved: 600 });
  a.addShare('alice', 600); // committed ...
  a.release('k1'); // ... then released, as a writer does
  a.release('k1');
  assert.deepEqual(a.stats(), { offered: 1000, used: 600, reserved: 0, free: 400, shares: 1, slots: 0 });
  assert.deepEqual(a.ownerUsage('alice'), { used: 600, reserved: 0 });
  a.putSlot('carol', 300);
  a.putSlot('carol', 350, 300);
  assert.deepEqual(a.stats(), { offered: 1000, used: 950, reserved: 0, free: 50, shares: 1, slots: 1 });
  assert.deepEqual(a.ownerUsage('carol'), { used: 350, reserved: 0 }, 'a slot is charged to its peer');
  await assert.rejects(a.admitSlot({ si: randomBytes(16), size: 51, owner: 'dan' }), (e: unknown) => e instanceof SlotRefusedError && e.reason === 'quota');
  await a.admitSlot({ si: randomBytes(16), size: 50, owner: 'dan' });
  await assert.rejects(
    a.admitSlot({ si: randomBytes(16), size: 401, owner: 'carol', previous: 350 }),
    (e: unknown) => e instanceof SlotRefusedError && e.reason === 'quota',
    'a larger record: 51 more bytes than free'
  );
  await a.admitSlot({ si: randomBytes(16), size: 400, owner: 'carol', previous: 350 });
  a.removeSlot('carol', 350);
  a.removeShare('alice', 600);
  assert.deepEqual(a.stats(), { offered: 1000, used: 0, reserved: 0, free: 1000, shares: 0, slots: 0 });
  assert.equal(a.usageByOwner().size, 0);
});

test('the policy is asked last, only for what fits, and is told the stats', async () => {
  const asked: number[] = [];
  const a = new StoreAccounting({
    offer: 100,
    policy: ({ size, stats }) => {
      asked.push(stats.free);
      return size > 50 ? { ok: false, reason: 'policy', message: 'no' } : { ok: true };
    }
  });
  const req = (size: number) => ({ si: randomBytes(16), shareNum: 1, size, owner: 'o' });
  assert.equal(((await a.admit('x', req(101))) as { reason: string }).reason, 'quota');
  assert.deepEqual(asked, []);
  assert.deepEqual(await a.admit('x', req(60)), { ok: false, reason: 'policy', message: 'no' });
  assert.deepEqual(await a.admit('x', req(10)), { ok: true });
  assert.deepEqual(asked, [100, 100]);
});

test('leases: the default when none is asked, never beyond now + MAX_LEASE_MS', () => {
  const now = 1_700_000_000_000;
  const a = new StoreAccounting({ offer: 0, now: () => now });
  assert.equal(a.leaseFor(), now + DEFAULT_LEASE_MS);
  assert.equal(a.leaseFor(now + 5), now + 5);
  assert.equal(a.leaseFor(now + 10 * MAX_LEASE_MS), now + MAX_LEASE_MS);
  assert.equal(a.capLease(now + 10 * MAX_LEASE_MS), now + MAX_LEASE_MS);
  assert.equal(a.capLease(now - 1), now - 1);
});
