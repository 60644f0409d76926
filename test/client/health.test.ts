// check / verify / repair / audits / leases over the no-network grid (milliseconds, no daemons).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { mkdtemp, rm, readdir, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { checkFile, repairFile, auditFile, AuditLedger, renewLeases, download, atLeast, fileDurability } from '../../src/client/index.ts';
import { formatCap, parseCap, storageIndexOf } from '../../src/caps/index.ts';
import { GC_GRACE_MS, DEFAULT_LEASE_MS } from '../../src/store/index.ts';
import { createHealthGrid, OWNER } from './grid.ts';

const idx = (peer: string) => Number(peer.split('-')[1]);

async function shareFile(storeDir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else out.push(join(d, e.name));
    }
  };
  await walk(join(storeDir, 'shares'));
  return out;
}

async function bytesOf(cap: string, finder: any) {
  const { stream } = await download(cap, finder);
  const parts: Uint8Array[] = [];
  for await (const c of stream) parts.push(c);
  return Buffer.concat(parts);
}

test('check reports holders; repair from the verify cap restores n shares on n hosts; data unchanged', async () => {
  const g = await createHealthGrid(7);
  try {
    const data = randomBytes(20_000);
    const { cap, verifyCap, placements } = await g.put(data);
    const healthy = await checkFile(verifyCap, g.finder);
    assert.equal(healthy.found, 5);
    assert.equal(healthy.hosts, 5);
    assert.equal(healthy.healthy, true);
    assert.equal(healthy.recoverable, true);
    // Two holders vanish for good.
    const lost = [placements['0'][0], placements['3'][0]].map(idx);
    for (const i of lost) g.state[i].down = true;
    const r0 = await checkFile(verifyCap, g.finder);
    assert.equal(r0.found, 3);
    assert.equal(r0.healthy, false);
    assert.equal(r0.recoverable, true);
    assert.equal(r0.unreachable.length, 2);
    const rep = await repairFile(verifyCap, g.finder);
    assert.deepEqual(rep.missing, [0, 3]);
    assert.equal(rep.placed.length, 2);
    assert.equal(rep.after.found, 5);
    assert.equal(rep.after.hosts, 5);
    assert.equal(rep.repaired, true);
    assert.ok(rep.placed.every((p) => !lost.includes(idx(p.peer))));
    // The two original holders stay down; any k of the new set decode to the same bytes.
    assert.deepEqual(await bytesOf(cap, g.finder), data);
    // Literal caps are healthy by definition.
    assert.equal((await checkFile(formatCap({ type: 'lit', data: new Uint8Array(4) }), g.finder)).healthy, true);
  } finally {
    await g.close();
  }
});

test('verify names corrupt shares by peer; repair deletes ours and replaces them; audits fail the liar', async () => {
  const g = await createHealthGrid(7);
  const dir = await mkdtemp(join(tmpdir(), 'p2pb-ledger-'));
  // The peer's fairness ledger hears of every audit through this hook (src/peer/peer.ts).
  const heard: [string, boolean][] = [];
  const ledger = await AuditLedger.open(join(dir, 'audits'), {
    onAudit: (peer, ok) => {
      heard.push([peer, ok]);
    }
  });
  try {
    const { verifyCap, placements } = await g.put(randomBytes(30_000));
    const liar = idx(placements['1'][0]);
    const [file] = await shareFile(g.stores[liar].home);
    const b = await readFile(file);
    // Blocks throughout, every one of them (the smallest, the last segment's, is 443 bytes): any segment audited fails.
    for (let j = 0; j < b.length - 200; j += 331) b[j + 100] ^= 0xff;
    await writeFile(file, b);
    const plain = await checkFile(verifyCap, g.finder);
    assert.equal(plain.found, 5, 'LIST alone does not see corruption');
    const v = await checkFile(verifyCap, g.finder, { verify: true });
    assert.deepEqual(
      v.corrupt.map((c) => [c.peer, c.shareNum]),
      [[`peer-${liar}`, 1]]
    );
    assert.equal(v.found, 4);
    const audits = await auditFile(verifyCap, g.finder, { ledger });
    assert.equal(audits.filter((a) => !a.ok).length, 1);
    assert.equal(audits.find((a) => !a.ok)!.peer, `peer-${liar}`);
    const stats = await ledger.auditStats();
    assert.equal(stats[`peer-${liar}`].failures, 1);
    assert.equal(stats[`peer-${idx(placements['0'][0])}`].passes, 1);
    assert.deepEqual(
      heard.filter(([, ok]) => !ok),
      [[`peer-${liar}`, false]],
      'the hook heard the failed audit'
    );
    assert.equal(heard.length, audits.length, 'and every other one');
    const rep = await repairFile(verifyCap, g.finder);
    assert.deepEqual(rep.deleted, [{ shareNum: 1, peer: `peer-${liar}` }]);
    assert.equal(rep.after.corrupt.length, 0);
    assert.equal(rep.after.happiness, 5);
    assert.equal((await checkFile(verifyCap, g.finder, { verify: true })).healthy, true);
  } finally {
    await ledger.close();
    await rm(dir, { recursive: true, force: true });
    await g.close();
  }
});

test('leases: renewal extends only while needed; GC collects after expiry + grace, and only then', async () => {
  let now = Date.parse('2030-01-01T00:00:00Z');
  const g = await createHealthGrid(5, { now: () => now });
  try {
    const { verifyCap } = await g.put(randomBytes(10_000));
    const si = storageIndexOf(parseCap(verifyCap))!;
    const day = 24 * 3600 * 1000;
    // Renewed at day 20 for 31 more days: alive at day 31 + grace + 1.
    now += 20 * day;
    const r = await renewLeases([verifyCap], g.finder, { until: now + DEFAULT_LEASE_MS });
    assert.equal(r.renewed, 5);
    assert.deepEqual([r.none, r.lost, r.failures], [[], [], 0]);
    now += 11 * day + GC_GRACE_MS + 1000;
    assert.equal((await g.stores[0].gc()).removedShares + (await g.stores[1].gc()).removedShares, 0, 'renewed shares survive');
    // The owner stops renewing: just before expiry + grace nothing goes, just after everything does.
    now = Date.parse('2030-01-01T00:00:00Z') + 20 * day + DEFAULT_LEASE_MS + GC_GRACE_MS - 1000;
    let removed = 0;
    for (const s of g.stores) removed += (await s.gc()).removedShares;
    assert.equal(removed, 0, 'not before expiry + grace');
    now += 2000;
    let reclaimed = 0;
    for (const s of g.stores) {
      const x = await s.gc();
      removed += x.removedShares;
      reclaimed += x.reclaimedBytes;
    }
    assert.equal(removed, 5);
    assert.ok(reclaimed > (10_000 / 3) * 5);
    assert.equal((await checkFile(verifyCap, g.finder)).found, 0);
    // Renewed now, the pack is lost: every peer asked answered, none renewed a share.
    const gone = await renewLeases([verifyCap], g.finder, { until: now + DEFAULT_LEASE_MS });
    assert.deepEqual([gone.renewed, gone.none, gone.lost, gone.failures], [0, [verifyCap], [verifyCap], 0]);
    // Not lost while a peer asked fails to answer (it may hold the pack), nor when fewer than k peers were asked.
    g.state[4].down = true;
    const partly = await renewLeases([verifyCap], g.finder, { until: now + DEFAULT_LEASE_MS });
    assert.deepEqual([partly.none, partly.lost, partly.failures], [[verifyCap], [], 1]);
    g.state[4].down = false;
    const few = await renewLeases([verifyCap], { candidates: async () => g.servers.slice(0, 2) }, { until: now + DEFAULT_LEASE_MS });
    assert.deepEqual([few.none, few.lost, few.failures], [[verifyCap], [], 0]);
    const enough = await renewLeases([verifyCap], { candidates: async () => g.servers.slice(0, 3) }, { until: now + DEFAULT_LEASE_MS });
    assert.deepEqual(enough.lost, [verifyCap], 'k peers asked are enough');
    void si;
    void OWNER;
  } finally {
    await g.close();
  }
});

test('durability: Poisson-binomial tail', () => {
  assert.equal(atLeast(3, [1, 1, 1, 0, 0]), 1);
  assert.equal(atLeast(3, [1, 1, 0, 0, 0]), 0);
  assert.ok(Math.abs(atLeast(1, [0.5, 0.5]) - 0.75) < 1e-12);
  assert.ok(Math.abs(atLeast(3, [0.9, 0.9, 0.9, 0.9, 0.9]) - 0.99144) < 1e-5);
  assert.ok(Math.abs(fileDurability(2, { 0: ['a'], 1: ['a', 'b'], 2: ['c'] }, (p) => (({ a: 0.5, b: 0.5, c: 1 }) as any)[p]) - 0.75) < 1e-12);
});
