// The adversarial peer (its own process, test/adversary/) in a real multi-process swarm: four honest storage
// daemons, a client daemon driven through its API, and the adversary joined to them (issue 17):
// - item 6: a holder that trickles its READ answers is abandoned for another share; the file comes back,
//   served without it (the adversary's counters say it never finished a READ answer); the time is logged, not
//   asserted;
// - item 1: a holder that forges blocks fails the spot check (a proof against the verify cap, no longer a LIST
//   plus one byte) and loses its credit; a holder answering `exists` without storing gets no placement, no
//   happiness and no credit, and its unproven claim counts as a failed audit;
// - item 2: slots from fresh keys are limited per peer, their leases capped; a replayed record renews nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSwarm, type Swarm } from '../../src/peer/swarm.ts';
import { readRecoveryCap } from '../../src/peer/recovery-record.ts';
import { parseCap, storageIndexOf } from '../../src/caps/index.ts';
// A namespace import, so this file also loads (and fails on its assertions) against code without these limits.
import * as storeLimits from '../../src/store/index.ts';
import { apiFor, tempDir } from '../integration/helpers.ts';
import { spawnAdversary, type Adversary } from '../adversary/index.ts';
import type { ApiClient } from '../../src/api/client.ts';

const K = 3;
const { DEFAULT_LEASE_MS } = storeLimits;
const MAX_SLOTS_PER_OWNER = ((storeLimits as Record<string, unknown>).MAX_SLOTS_PER_OWNER as number) ?? 256;
const MAX_SLOT_LEASE_MS = ((storeLimits as Record<string, unknown>).MAX_SLOT_LEASE_MS as number) ?? 62 * 86_400_000;
let swarm: Swarm;
let api: ApiClient;
let tmp: { dir: string; cleanup: () => Promise<void> };
let adv: Adversary | undefined;
let t0 = 0;
const log = (what: string) => process.stderr.write(`# ${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}\n`);

async function join_(a: Adversary): Promise<void> {
  await a.dial(swarm.info.client.addresses[0]);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const { peers } = await api.json<{ peers: { id: string }[] }>('GET', '/api/peers');
    if (peers.some((p) => p.id === a.peerId)) return;
    await sleep(200);
  }
  throw new Error('the client never saw the adversary');
}
async function put(bytes: Uint8Array): Promise<{ cap: string; placements: Record<string, string[]>; happiness: number; storageIndex: string }> {
  const res = await api.request('POST', '/api/files', { body: bytes, headers: { 'content-type': 'application/octet-stream' } });
  return res.json() as any;
}
async function get(cap: string, ms: number): Promise<Buffer> {
  const res = await api.request('GET', `/api/files/${encodeURIComponent(cap)}`, { signal: AbortSignal.timeout(ms) });
  return Buffer.from(await res.arrayBuffer());
}
const fairness = () =>
  api.json<{ peers: { peer: string; theyStoreForMe: number; standing: string; audits: { failed: number; lastError: string | null } }[] }>(
    'GET',
    '/api/fairness'
  );

before(async () => {
  t0 = Date.now();
  tmp = await tempDir('p2pb-hostile-');
  swarm = await startSwarm({ dir: tmp.dir, peers: 4 });
  api = await apiFor(tmp.dir, swarm.info.client.apiUrl);
  adv = await spawnAdversary({ home: join(tmp.dir, 'adversary-1'), bootstrap: swarm.info.peers.map((p) => p.addresses[0]) });
  await join_(adv);
  log('swarm and adversary up');
});
after(async () => {
  await adv?.kill();
  await swarm?.stop();
  await tmp?.cleanup();
});

let file: { bytes: Uint8Array; cap: string; share: number } | null = null;

test('a trickling holder is abandoned for another share (item 6)', async () => {
  // Files until the adversary holds a data share (< k), which the decoder asks first.
  for (let i = 0; i < 12 && !file; i++) {
    const bytes = randomBytes(400_000);
    const r = await put(bytes);
    const share = Object.entries(r.placements).find(([, ids]) => ids.includes(adv!.peerId))?.[0];
    if (share !== undefined && Number(share) < K) file = { bytes, cap: r.cap, share: Number(share) };
  }
  assert.ok(file, 'the adversary got a data share');
  log(`adversary holds share ${file.share}`);

  // Item 6: every READ answer trickles out 64 bytes every 250 ms (256 B/s: a 130 KB share would take 9 minutes).
  await adv!.set({ trickle: { ops: ['read'], bytes: 64, everyMs: 250 } });
  const before = await adv!.stats();
  const started = Date.now();
  const got = await get(file.cap, 60_000);
  log(`restored with a trickling holder in ${Date.now() - started} ms`);
  assert.ok(got.equals(file.bytes));
  const after = await adv!.stats();
  assert.ok((after.requests.read ?? 0) > (before.requests.read ?? 0), 'the adversary was asked');
  assert.equal(after.answered.read ?? 0, before.answered.read ?? 0, 'and served none of it: other holders did');
});

test('shares of my storage index made up by another peer are refused before they are stored (item 7)', async () => {
  const bytes = randomBytes(200_000);
  const r = await put(bytes);
  const holders = new Set(Object.values(r.placements).flat());
  const holder = swarm.info.peers.find((p) => holders.has(p.peerId))!;
  const target = swarm.info.peers.find((p) => p !== holder)!;
  // Without the UEB (only the storage index is public: provider records, LIST), and with the real UEB read off a
  // holder but bytes of its own: with the longest lease, for every share number.
  const madeUp = await adv!.attack({ kind: 'squat', target: target.addresses[0], si: r.storageIndex, shareNums: [0, 1, 2, 3, 4], size: 4096 });
  const underRealUeb = await adv!.attack({
    kind: 'squat',
    target: target.addresses[0],
    si: r.storageIndex,
    shareNums: [0, 1, 2, 3, 4],
    size: 0,
    uebFrom: holder.addresses[0]
  });
  assert.deepEqual(madeUp, { 0: 'invalid', 1: 'invalid', 2: 'invalid', 3: 'invalid', 4: 'invalid' });
  // Under the real UEB, a share number the target already holds from me is a conflict before any byte is read.
  const held = new Set(
    Object.entries(r.placements)
      .filter(([, ids]) => ids.includes(target.peerId))
      .map(([n]) => n)
  );
  for (const [n, outcome] of Object.entries(underRealUeb)) assert.equal(outcome, held.has(n) ? 'conflict' : 'invalid', JSON.stringify(underRealUeb));
  assert.ok((await get(r.cap, 60_000)).equals(bytes));
});

test('a holder forging its blocks fails the spot check and loses its credit (item 1)', async () => {
  assert.ok(file, 'the adversary holds a share of mine');
  // Blocks and audit answers forged; LIST still names the shares and READ returns bytes (what the old check asked).
  await adv!.set({ forge: 'random' });
  const checks = await api.json<{ results: { peer: string; ok: boolean | null; checked: number }[] }>('POST', '/api/fairness/check');
  const mine = checks.results.find((r) => r.peer === adv!.peerId);
  assert.equal(mine?.ok, false, JSON.stringify(checks.results));
  assert.ok(
    checks.results.filter((r) => r.peer !== adv!.peerId && r.checked > 0).every((r) => r.ok === true),
    'honest holders pass'
  );
  const f = (await fairness()).peers.find((p) => p.peer === adv!.peerId)!;
  assert.equal(f.standing, 'failed');
  assert.equal(f.theyStoreForMe, 0, 'forged shares earn no credit');
});

test('a holder answering "exists" without storing gets no placement, no happiness, no credit (item 1)', async () => {
  await adv!.kill();
  adv = await spawnAdversary({
    home: join(tmp.dir, 'adversary-2'),
    bootstrap: swarm.info.peers.map((p) => p.addresses[0]),
    behaviour: { existsWithoutStoring: true, listLies: true }
  });
  await join_(adv);
  let claimed = 0;
  for (let i = 0; i < 4 && !claimed; i++) {
    const r = await put(randomBytes(300_000));
    claimed = (await adv.stats()).claimed;
    assert.ok(!Object.values(r.placements).flat().includes(adv.peerId), JSON.stringify(r.placements));
    assert.equal(r.happiness, 4);
    if (claimed) {
      // The claim was checked and found empty: no placement, a failed audit, no credit.
      const f = (await fairness()).peers.find((p) => p.peer === adv!.peerId);
      assert.ok(f, 'the adversary has an account');
      assert.equal(f.theyStoreForMe, 0);
      assert.equal(f.standing, 'failed');
      assert.match(f.audits.lastError ?? '', /claimed share not proven/);
    }
  }
  assert.ok(claimed > 0, 'the adversary was offered a share');
});

test('slots from fresh keys: limited per peer, leases capped; a replayed record renews nothing (item 2)', async () => {
  const victim = swarm.info.peers[0];
  const fill = await adv!.attack({ kind: 'fill-slots', target: victim.addresses[0], count: MAX_SLOTS_PER_OWNER + 20, payloadBytes: 512 });
  assert.equal(fill.stored, MAX_SLOTS_PER_OWNER, JSON.stringify(fill));
  assert.equal(fill.refusals.limit, 20, JSON.stringify(fill));
  assert.ok(fill.longestLeaseMs <= MAX_SLOT_LEASE_MS, `lease of ${fill.longestLeaseMs} ms`);
  // The client's recovery record (a slot on the closest peers), replayed with a 400-day lease.
  const si = Buffer.from(storageIndexOf(parseCap((await readRecoveryCap(tmp.dir))!))!).toString('hex');
  let replayed: { status: string; leaseExpiry: number } | null = null;
  for (const p of swarm.info.peers) {
    replayed = await adv!.attack({ kind: 'replay-slot', target: p.addresses[0], si }).catch(() => null);
    if (replayed) break;
  }
  assert.ok(replayed, 'some peer holds the recovery record');
  assert.equal(replayed.status, 'unchanged');
  assert.ok(replayed.leaseExpiry <= Date.now() + DEFAULT_LEASE_MS, 'the lease did not move');
});
