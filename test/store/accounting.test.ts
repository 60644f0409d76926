// The accounting both stores share (src/store/accounting.ts): reservations, admission order, lease limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DEFAULT_LEASE_MS, MAX_LEASE_MS, MIN_SHARE_CHARGE, ShareRefusedError, SlotRefusedError, StoreAccounting, shareCharge } from '../../src/store/index.ts';

const where = { si: 'ab', shareNum: 0 };

test('reserve holds bytes until release (idempotent); a second reservation of one share is busy; what does not fit is quota', async () => {
  const a = new StoreAccounting({ offer: 10_000 });
  a.reserve('k1', 'alice', 6000, where);
  assert.deepEqual(a.stats(), { offered: 10_000, used: 0, reserved: 6000, free: 4000, shares: 0, slots: 0 });
  assert.throws(
    () => a.reserve('k1', 'bob', 1, where),
    (e: unknown) => e instanceof ShareRefusedError && e.reason === 'busy'
  );
  assert.throws(
    () => a.reserve('k2', 'bob', 4001, where),
    (e: unknown) => e instanceof ShareRefusedError && e.reason === 'quota'
  );
  assert.equal(((await a.admit('k1', { si: randomBytes(16), shareNum: 0, size: 1, owner: 'bob' })) as { reason: string }).reason, 'busy');
  assert.deepEqual(a.ownerUsage('alice'), { used: 0, reserved: 6000 });
  a.addShare('alice', 6000); // committed ...
  a.release('k1'); // ... then released, as a writer does
  a.release('k1');
  assert.deepEqual(a.stats(), { offered: 10_000, used: 6000, reserved: 0, free: 4000, shares: 1, slots: 0 });
  assert.deepEqual(a.ownerUsage('alice'), { used: 6000, reserved: 0 });
  a.putSlot('carol', 3000);
  a.putSlot('carol', 3500, 3000);
  assert.deepEqual(a.stats(), { offered: 10_000, used: 9500, reserved: 0, free: 500, shares: 1, slots: 1 });
  assert.deepEqual(a.ownerUsage('carol'), { used: 3500, reserved: 0 }, 'a slot is charged to its peer');
  await assert.rejects(a.admitSlot({ si: randomBytes(16), size: 501, owner: 'dan' }), (e: unknown) => e instanceof SlotRefusedError && e.reason === 'quota');
  await a.admitSlot({ si: randomBytes(16), size: 500, owner: 'dan' });
  await assert.rejects(
    a.admitSlot({ si: randomBytes(16), size: 4001, owner: 'carol', previous: 3500 }),
    (e: unknown) => e instanceof SlotRefusedError && e.reason === 'quota',
    'a larger record: 501 more bytes than free'
  );
  await a.admitSlot({ si: randomBytes(16), size: 4000, owner: 'carol', previous: 3500 });
  a.removeSlot('carol', 3500);
  a.removeShare('alice', 6000);
  assert.deepEqual(a.stats(), { offered: 10_000, used: 0, reserved: 0, free: 10_000, shares: 0, slots: 0 });
  assert.equal(a.usageByOwner().size, 0);
});

test('a share is charged at least MIN_SHARE_CHARGE bytes: reserved, used, per owner, in quota and admission (issue 17 item 7)', async () => {
  assert.equal(MIN_SHARE_CHARGE, 4096);
  const sizes: number[] = [];
  const a = new StoreAccounting({
    offer: 3 * MIN_SHARE_CHARGE,
    policy: ({ size }) => {
      sizes.push(size);
      return { ok: true };
    }
  });
  assert.deepEqual(await a.admit('x', { si: randomBytes(16), shareNum: 0, size: 300, owner: 'm' }), { ok: true });
  assert.deepEqual(sizes, [MIN_SHARE_CHARGE], 'the policy weighs the charge, not the bytes');
  for (let i = 0; i < 3; i++) {
    a.reserve(`s${i}`, 'm', 300, where);
    a.addShare('m', 300);
    a.release(`s${i}`);
  }
  assert.deepEqual(a.stats(), { offered: 3 * MIN_SHARE_CHARGE, used: 3 * MIN_SHARE_CHARGE, reserved: 0, free: 0, shares: 3, slots: 0 });
  assert.deepEqual(a.ownerUsage('m'), { used: 3 * MIN_SHARE_CHARGE, reserved: 0 });
  assert.equal(((await a.admit('y', { si: randomBytes(16), shareNum: 0, size: 1, owner: 'n' })) as { reason: string }).reason, 'quota');
  assert.throws(
    () => a.reserve('y', 'n', 1, where),
    (e: unknown) => e instanceof ShareRefusedError && e.reason === 'quota'
  );
  a.removeShare('m', 300);
  assert.equal(a.stats().free, MIN_SHARE_CHARGE);
  assert.equal(shareCharge(MIN_SHARE_CHARGE + 1), MIN_SHARE_CHARGE + 1);
});

test('the policy is asked last, only for what fits, and is told the stats', async () => {
  const asked: number[] = [];
  const a = new StoreAccounting({
    offer: 100_000,
    policy: ({ size, stats }) => {
      asked.push(stats.free);
      return size > 50_000 ? { ok: false, reason: 'policy', message: 'no' } : { ok: true };
    }
  });
  const req = (size: number) => ({ si: randomBytes(16), shareNum: 1, size, owner: 'o' });
  assert.equal(((await a.admit('x', req(100_001))) as { reason: string }).reason, 'quota');
  assert.deepEqual(asked, []);
  assert.deepEqual(await a.admit('x', req(60_000)), { ok: false, reason: 'policy', message: 'no' });
  assert.deepEqual(await a.admit('x', req(10_000)), { ok: true });
  assert.deepEqual(asked, [100_000, 100_000]);
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

test('boundaries: exactly the free bytes fit, one more is quota; per-owner limits hold in reserve as in admit; a renewal of a slot is not limited', async () => {
  const a = new StoreAccounting({ offer: 3 * MIN_SHARE_CHARGE, limits: { openWrites: 2, reservedBytes: 2 * MIN_SHARE_CHARGE, slots: 1 } });
  const req = (size: number, owner = 'o') => ({ si: randomBytes(16), shareNum: 0, size, owner });
  assert.deepEqual(await a.admit('x', req(3 * MIN_SHARE_CHARGE)), { ok: true });
  assert.deepEqual(await a.admit('x', req(3 * MIN_SHARE_CHARGE + 1)), {
    ok: false,
    reason: 'quota',
    message: `not enough offered space: ${3 * MIN_SHARE_CHARGE + 1} bytes asked, ${3 * MIN_SHARE_CHARGE} free`
  });
  a.reserve('k1', 'o', 1, where);
  assert.equal(((await a.admit('k1', req(1, 'p'))) as { ok: boolean }).ok, false, 'an upload of that share is in progress');
  // Owner limits: reserved bytes (two charges are the most), then the count.
  a.reserve('k2', 'o', 1, where);
  assert.throws(
    () => a.reserve('k3', 'o', 1, where),
    (e: unknown) => e instanceof ShareRefusedError && e.reason === 'busy' && /2 uploads in progress/.test(e.message)
  );
  assert.equal(((await a.admit('k3', req(1))) as { reason: string }).reason, 'busy');
  a.release('k2');
  assert.throws(
    () => a.reserve('k3', 'o', MIN_SHARE_CHARGE + 1, where),
    (e: unknown) => e instanceof ShareRefusedError && e.reason === 'busy' && /already reserve 4096 bytes/.test(e.message)
  );
  a.reserve('k3', 'p', MIN_SHARE_CHARGE + 1, where); // another owner is not held up by o's limits
  // Slots: the limit counts new slots only; a record that grows within the free space is admitted.
  await a.admitSlot({ si: randomBytes(16), size: 10, owner: 's' });
  a.putSlot('s', 10);
  await assert.rejects(a.admitSlot({ si: randomBytes(16), size: 10, owner: 's' }), (e: unknown) => e instanceof SlotRefusedError && e.reason === 'limit');
  await a.admitSlot({ si: randomBytes(16), size: 20, owner: 's', previous: 10 });
  a.removeSlot('s', 10);
  await a.admitSlot({ si: randomBytes(16), size: 10, owner: 's' });
});
