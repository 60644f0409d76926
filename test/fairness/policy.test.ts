// Ledger, admission policy (through DiskStore's hook), ranking and configuration, without a network.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskStore, MIN_SHARE_CHARGE, ShareRefusedError } from '../../src/store/index.ts';
import { createFairness, FairnessLedger, rankForPlacement, DEFAULT_GRACE_BYTES } from '../../src/fairness/index.ts';
import { validateConfig } from '../../src/peer/config.ts';
import { ConfigError } from '../../src/peer/errors.ts';

const KiB = 1024;

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'p2pb-fairpol-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
async function writeShare(store: DiskStore, owner: string, size: number) {
  const w = await store.beginWrite(randomBytes(16), 0, owner, size);
  await w.write(new Uint8Array(size));
  await w.commit();
}

test('the store admits a peer up to ratio × what it stores for me + grace, and says why it refuses', () =>
  withDir(async (dir) => {
    let t = 1_000_000;
    const f = await createFairness({ settings: { enabled: true, ratio: 2, graceBytes: 10 * KiB }, ledgerPath: join(dir, 'ledger'), now: () => t });
    const store = await DiskStore.open(join(dir, 'store'), { offer: 1e6, policy: f.policy });
    f.attachStore(store);
    try {
      await writeShare(store, 'R', 6 * KiB);
      await assert.rejects(
        writeShare(store, 'R', 6 * KiB),
        (err: unknown) =>
          err instanceof ShareRefusedError &&
          err.reason === 'policy' &&
          /^fairness: you store 0 B for me; I store 6 KiB for you \(limit 2 x \+ 10 KiB grace = 10 KiB; this share needs 6 KiB\)$/.test(err.message)
      );
      await writeShare(store, 'Q', 5 * KiB); // another peer has its own account
      await f.recordPlacement('R', randomBytes(16), 3, 5 * KiB, 'p2pb:chkv:unused-here', t + 10_000); // R now stores 5 KiB for me: limit 2 × 5 + 10 KiB
      await writeShare(store, 'R', 6 * KiB);
      await writeShare(store, 'R', 8 * KiB); // exactly the limit
      // One byte more is a share, charged MIN_SHARE_CHARGE (issue 17 item 7).
      await assert.rejects(writeShare(store, 'R', 1), /I store 20 KiB for you \(limit 2 x \+ 10 KiB grace = 20 KiB; this share needs 4 KiB\)$/);
      t += 20_000; // the lease on R expired: no more credit
      assert.equal(f.ledger.theyStoreForMe('R'), 0);
      const rep = f.report('me');
      const r = rep.peers.find((p) => p.peer === 'R')!;
      assert.equal(r.storedForThem, 20 * KiB);
      assert.equal(r.headroom, -10 * KiB);
      assert.equal(rep.offer.usedByOthers, 25 * KiB);
      // A failed audit takes the whole allowance, grace included. A passed audit does not give it back (a cheater
      // must not reset its standing with an easy pass, issue 17 item 1): it takes six, or time.
      await f.ledger.recordAudit('Q', false, 'missing');
      await assert.rejects(writeShare(store, 'Q', 1), /fairness: you failed storage audits .*failure score 1\.00/);
      assert.throws(() => f.guardPlacement('Q'), /not placing new shares/);
      await f.ledger.recordAudit('Q', true);
      await assert.rejects(writeShare(store, 'Q', 1), /failed storage audits/);
      assert.equal(f.ledger.standing('Q'), 'failed');
      for (let i = 0; i < 5; i++) await f.ledger.recordAudit('Q', true);
      assert.equal(f.ledger.standing('Q'), 'good');
      await writeShare(store, 'Q', 50);
      // Failures weigh more than passes: one failed audit in every four keeps a peer in failed standing for good.
      for (let i = 0; i < 8; i++) {
        await f.ledger.recordAudit('C', i % 4 === 3);
        await f.ledger.recordAudit('C', true);
        await f.ledger.recordAudit('C', true);
      }
      assert.equal(f.ledger.standing('C'), 'failed');
      // ... and the score fades with time: a week halves it.
      await f.ledger.recordAudit('D', false);
      t += 7 * 24 * 3_600_000;
      assert.ok(Math.abs(f.ledger.failureScore('D') - 0.5) < 1e-9);
      t += 1;
      assert.equal(f.ledger.standing('D'), 'good');
    } finally {
      await store.close();
      await f.close();
    }
  }));

test('disabled fairness admits everything and leaves the candidate order alone', () =>
  withDir(async (dir) => {
    const f = await createFairness({ settings: { enabled: false, ratio: 1, graceBytes: 0 }, ledgerPath: join(dir, 'ledger') });
    const store = await DiskStore.open(join(dir, 'store'), { offer: 1e6, policy: f.policy });
    f.attachStore(store);
    await f.ledger.recordAudit('X', false);
    await writeShare(store, 'X', 1000);
    assert.deepEqual(
      f.rank([{ id: 'X' }, { id: 'Y' }]).map((c) => c.id),
      ['X', 'Y']
    );
    await store.close();
    await f.close();
  }));

test('a peer in failed standing earns no credit, for the placements no spot check sampled either', () =>
  withDir(async (dir) => {
    let t = 1_000_000;
    const l = await FairnessLedger.open(join(dir, 'ledger'), { now: () => t });
    try {
      for (let i = 0; i < 20; i++) await l.recordPlacement('F', 'aa', i, 100_000, t + 1e9);
      assert.equal(l.theyStoreForMe('F'), 20 * 100_000);
      // A spot check disproved one sampled share (and dropped it); the other 19 were not asked.
      await l.recordAudit('F', false, 'forged');
      await l.forgetPlacement('F', 'aa', 0);
      assert.equal(l.theyStoreForMe('F'), 0, 'no credit while in failed standing');
      assert.equal(l.placementsOn('F').length, 19, 'the placements stay listed');
      // The failure fades (a week halves it): good standing again, and the unproven rest counts again.
      t += 7 * 24 * 3_600_000 + 1;
      assert.equal(l.standing('F'), 'good');
      assert.equal(l.theyStoreForMe('F'), 19 * 100_000);
    } finally {
      await l.close();
    }
  }));

test('the ledger persists placements, renewals, audits and uptime', () =>
  withDir(async (dir) => {
    let t = 1000;
    const path = join(dir, 'ledger');
    let l = await FairnessLedger.open(path, { now: () => t });
    await l.recordPlacement('P', 'aa', 0, 100, 5000);
    await l.recordPlacement('P', 'aa', 0, 100, 4000); // same share again (`exists`): counted once, lease kept
    await l.recordPlacement('P', 'aa', 1, 50, 5000);
    await l.recordPlacement('P', 'bb', 0, 70, 5000);
    await l.recordRenewal('P', 'aa', 9000);
    await l.forgetPlacement('P', 'bb', 0);
    await l.recordAudit('P', true);
    l.peerConnected('P');
    t = 3000;
    await l.close(); // ends the open connection: 2 s of uptime
    t = 6000;
    l = await FairnessLedger.open(path, { now: () => t });
    assert.equal(l.theyStoreForMe('P'), 2 * MIN_SHARE_CHARGE, 'two small shares, each charged MIN_SHARE_CHARGE as the holder does');
    assert.equal(l.audit('P').ok, 1);
    assert.equal(l.reliability('P'), 2 / 3);
    assert.equal(l.uptimeOf('P').connectedMs, 2000);
    assert.equal(l.uptimeOf('P').connected, false);
    t = 10_000;
    assert.equal(await l.prune(), 2);
    assert.deepEqual(l.peers(), ['P']);
    await l.close();
  }));

test('placement writes of one tick are one LevelDB batch, awaited by every caller; nothing is lost or resurrected', () =>
  withDir(async (dir) => {
    const path = join(dir, 'ledger');
    let l = await FairnessLedger.open(path, { now: () => 1000 });
    const db = (l as unknown as { db: { batch: (...a: unknown[]) => Promise<void>; put: (...a: unknown[]) => Promise<void> } }).db;
    const calls = { batch: 0, put: 0 };
    const batch = db.batch.bind(db);
    const put = db.put.bind(db);
    db.batch = (...a: unknown[]) => (calls.batch++, batch(...a));
    db.put = (...a: unknown[]) => (calls.put++, put(...a));
    // An upload credits its five shares at once: one batch, not five writes.
    await Promise.all([0, 1, 2, 3, 4].map((n) => l.recordPlacement('P', 'aa', n, 100, 5000)));
    assert.deepEqual(calls, { batch: 1, put: 0 });
    // In one tick: a placement, its removal and another placement; the removal is not undone by the earlier put.
    await Promise.all([l.recordPlacement('P', 'bb', 0, 100, 5000), l.forgetPlacement('P', 'bb', 0), l.recordPlacement('Q', 'cc', 0, 100, 5000)]);
    assert.equal(calls.batch, 2);
    // A forget then a record of the same share in one tick: the record stands.
    await Promise.all([l.forgetPlacement('P', 'aa', 4), l.recordPlacement('P', 'aa', 4, 100, 6000)]);
    // A renewal with nothing to extend (another index, or not later) writes nothing; one that extends, its placements.
    await l.recordRenewal('P', 'zz', 9000);
    await l.recordRenewal('P', 'aa', 4000);
    assert.equal(calls.batch, 3);
    await l.recordRenewal('Q', 'cc', 7000);
    assert.equal(calls.batch, 4);
    await l.close();
    l = await FairnessLedger.open(path, { now: () => 1000 });
    assert.deepEqual(
      l.placementsOn('P').map((p) => `${p.siHex}/${p.shareNum}/${p.leaseExpiry}`),
      ['aa/0/5000', 'aa/1/5000', 'aa/2/5000', 'aa/3/5000', 'aa/4/6000']
    );
    assert.deepEqual(
      l.placementsOn('Q').map((p) => `${p.siHex}/${p.shareNum}/${p.leaseExpiry}`),
      ['cc/0/7000']
    );
    await l.close();
    // A batch that fails fails every caller of its tick.
    l = await FairnessLedger.open(path, { now: () => 1000 });
    const db2 = (l as unknown as { db: { batch: () => Promise<void> } }).db;
    db2.batch = () => Promise.reject(new Error('disk full'));
    const r = await Promise.allSettled([l.recordPlacement('P', 'dd', 0, 100, 5000), l.recordPlacement('P', 'dd', 1, 100, 5000)]);
    assert.deepEqual(
      r.map((x) => x.status),
      ['rejected', 'rejected']
    );
    await l.close();
  }));

test("theyStoreForMe is summed once per change and lease expiry, and follows every change of a peer's placements", () =>
  withDir(async (dir) => {
    let t = 1000;
    const l = await FairnessLedger.open(join(dir, 'ledger'), { now: () => t });
    const big = 3 * MIN_SHARE_CHARGE;
    await l.recordPlacement('P', 'aa', 0, big, 5000);
    await l.recordPlacement('P', 'aa', 1, big, 3000);
    await l.recordPlacement('Q', 'bb', 0, big, 9000);
    const placements = (l as unknown as { placements: Map<string, Map<string, unknown>> }).placements;
    const values = placements.get('P')!.values.bind(placements.get('P')!);
    let walks = 0;
    placements.get('P')!.values = () => (walks++, values());
    assert.equal(l.theyStoreForMe('P'), 2 * big);
    assert.equal(l.theyStoreForMe('P'), 2 * big);
    t = 2999;
    assert.equal(l.theyStoreForMe('P'), 2 * big);
    assert.equal(walks, 1, 'summed once while no lease expired and nothing changed');
    t = 3000; // share 1's lease ends
    assert.equal(l.theyStoreForMe('P'), big);
    assert.equal(walks, 2);
    assert.equal(l.theyStoreForMe('P', 2500), 2 * big, 'an earlier time, when share 1 still counted, is summed anew');
    assert.equal(l.theyStoreForMe('P'), big);
    const walked = walks; // from here each change adjusts the sum: an upload places a share on each peer per pack
    await l.recordRenewal('P', 'aa', 8000); // both leases run again
    assert.equal(l.theyStoreForMe('P'), 2 * big);
    await l.forgetPlacement('P', 'aa', 0);
    assert.equal(l.theyStoreForMe('P'), big);
    await l.recordPlacement('P', 'cc', 0, big, 8000);
    assert.equal(l.theyStoreForMe('P'), 2 * big);
    await l.recordPlacement('P', 'cc', 0, 2 * big, 8000); // the same share again, larger: counted once
    assert.equal(l.theyStoreForMe('P'), 3 * big);
    await l.recordPlacement('P', 'dd', 0, big, 2000); // a lease already over: not counted
    assert.equal(l.theyStoreForMe('P'), 3 * big);
    assert.equal(walks, walked, 'renewals, forgets and placements adjusted the sum: no walk');
    // A placement whose lease ends before every counted one brings the memo's end closer.
    await l.recordPlacement('P', 'ee', 0, big, 7000);
    assert.equal(l.theyStoreForMe('P'), 4 * big);
    t = 7000;
    assert.equal(l.theyStoreForMe('P'), 3 * big, 'its lease over, it no longer counts');
    await l.forgetPlacement('P', 'ee', 0);
    t = 3000;
    await l.forgetPlacement('P', 'dd', 0);
    await l.recordPlacement('P', 'cc', 0, big, 8000); // back as it was
    assert.equal(l.theyStoreForMe('P'), 2 * big);
    assert.equal(l.theyStoreForMe('P', 500), 2 * big, 'an earlier time is summed, not answered from the memo');
    assert.equal(l.theyStoreForMe('Q'), big, 'each peer has its own sum');
    const memo = (l as unknown as { credit: Map<string, unknown> }).credit;
    for (let i = 0; i < 100; i++) assert.equal(l.theyStoreForMe(`stranger-${i}`), 0);
    assert.deepEqual([...memo.keys()].sort(), ['P', 'Q'], 'no memo for peers I placed nothing on (any peer asking to store is asked about)');
    t = 8000;
    assert.equal(l.theyStoreForMe('P'), 0);
    assert.equal(await l.prune(), 2);
    assert.equal(l.theyStoreForMe('P'), 0);
    assert.equal(l.theyStoreForMe('Q'), big);
    await l.recordAudit('Q', false, 'missing');
    await l.recordAudit('Q', false, 'missing');
    await l.recordAudit('Q', false, 'missing');
    assert.equal(l.standing('Q'), 'failed');
    assert.equal(l.theyStoreForMe('Q'), 0, 'failed standing earns nothing, memo or not');
    await l.close();
  }));

test('placement ranking keeps the set and the DHT order within tiers', () => {
  const info: Record<string, { standing: 'good' | 'failed'; reliability: number; predictedHeadroom: number }> = {
    a: { standing: 'failed', reliability: 0.9, predictedHeadroom: 1e9 },
    b: { standing: 'good', reliability: 0.5, predictedHeadroom: -1 },
    c: { standing: 'good', reliability: 0.5, predictedHeadroom: 10 },
    d: { standing: 'good', reliability: 0.2, predictedHeadroom: 10 },
    e: { standing: 'good', reliability: 0.8, predictedHeadroom: 0 }
  };
  const ranked = rankForPlacement(
    ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id })),
    (id) => info[id]
  );
  assert.deepEqual(
    ranked.map((c) => c.id),
    ['c', 'e', 'd', 'b', 'a']
  );
});

test('config: fairness defaults, sizes, and refusals that name the key', () => {
  assert.deepEqual(validateConfig({}).fairness, { enabled: true, ratio: 1, graceBytes: DEFAULT_GRACE_BYTES });
  assert.deepEqual(validateConfig({ fairness: { ratio: 1.5, graceBytes: '100MB' } }).fairness, { enabled: true, ratio: 1.5, graceBytes: 100e6 });
  for (const [bad, key] of [
    [{ ratio: -1 }, 'fairness.ratio'],
    [{ graceBytes: 'lots' }, 'fairness.graceBytes'],
    [{ enabled: 'yes' }, 'fairness.enabled'],
    [{ ratios: 1 }, 'fairness.ratios'],
    [[], 'fairness']
  ] as const) {
    assert.throws(
      () => validateConfig({ fairness: bad }),
      (err: unknown) => err instanceof ConfigError && err.details.key === key
    );
  }
});
