// Fair sharing between real peers: in-process libp2p nodes on loopback, each with its own home, store,
// ledger and admission policy. A free rider is refused after its grace; a balanced pair keeps exchanging
// past the grace; a peer that deletes what it holds fails a spot check (a proof of each sampled share)
// and its victim neither gives it new shares nor stores its shares any more.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPeer, type Peer } from '../../src/peer/peer.ts';
import { DEFAULT_CONFIG } from '../../src/peer/config.ts';
import { createApp } from '../../src/api/app.ts';
import { shareCharge } from '../../src/store/index.ts';

const GRACE = 256 * 1024; // bytes: two 100 KB shares, not three
const FILE = 100 * 1000;
const ONE = { k: 1, n: 1, happy: 1 };

describe('fair sharing between real peers', () => {
  const started: { peer: Peer; home: string }[] = [];
  let dir: string;
  let A: Peer, B: Peer, F: Peer;
  let files = 0;

  async function startPeer(bootstrap: string[], offer: number): Promise<Peer> {
    const home = await mkdtemp(join(dir, 'peer-'));
    const peer = await createPeer({
      home,
      config: { ...DEFAULT_CONFIG, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, bootstrap, offer, fairness: { enabled: true, ratio: 1, graceBytes: GRACE } }
    });
    started.push({ peer, home });
    return peer;
  }
  const addr = (p: Peer) => p.addresses()[0] + '/p2p/' + p.peerId;
  async function connected(p: Peer, n: number) {
    const deadline = Date.now() + 15_000;
    while (p.node.libp2p.getPeers().length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(p.node.libp2p.getPeers().length >= n, `${p.peerId} sees ${n} peers`);
  }
  async function put(p: Peer, enc = ONE) {
    const path = join(dir, `f${files++}.bin`);
    await writeFile(path, randomBytes(FILE));
    return p.putFile({ path }, enc);
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'p2pb-fair-'));
    A = await startPeer([], 64 * 2 ** 20);
    B = await startPeer([addr(A)], 64 * 2 ** 20);
    F = await startPeer([addr(A), addr(B)], 0); // offers nothing
    await connected(A, 2);
    await connected(F, 2);
  });
  after(async () => {
    for (const s of started) await s.peer.stop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });

  test('a free rider is served within its grace, then refused with the reason', async () => {
    let refusal: any = null;
    for (let i = 0; i < 8 && !refusal; i++)
      await put(F).catch((err) => {
        refusal = err;
      });
    assert.ok(refusal, 'the free rider is refused at last');
    assert.equal(refusal.code, 'ERR_NOT_HAPPY');
    const reasons = Object.values(refusal.details.refusals as Record<string, string>);
    assert.ok(
      reasons.length >= 1 &&
        reasons.every((r) => /^policy: (peer \S+: )?fairness: you store 0 B for me; I store .* for you \(limit 1 x \+ 256 KiB grace/.test(r)),
      reasons.join('\n')
    );
    for (const s of [A, B]) assert.ok(s.store.ownerUsage(F.peerId).used <= GRACE, 'never beyond the grace');
    assert.ok(A.store.ownerUsage(F.peerId).used + B.store.ownerUsage(F.peerId).used > 0, 'the grace let it start');
  });

  test('a balanced pair keeps exchanging well past the grace', async () => {
    for (let i = 0; i < 6; i++) {
      const a = await put(A);
      assert.deepEqual(Object.values(a.placements).flat(), [B.peerId]);
      const b = await put(B);
      assert.deepEqual(Object.values(b.placements).flat(), [A.peerId]);
    }
    const forA = B.store.ownerUsage(A.peerId).used;
    assert.ok(forA > 2 * GRACE, `B stores ${forA} bytes for A, beyond the grace`);
    const rep = await A.fairnessReport();
    const withB = rep.peers.find((p) => p.peer === B.peerId)!;
    // B also charges A for A's repository record (a mutable slot): A's ledger counts shares only.
    let sharesForA = 0;
    for await (const r of B.store.records()) if (r.owner === A.peerId) sharesForA += shareCharge(r.size); // as B charges them
    assert.ok(forA >= sharesForA && forA - sharesForA < 16 * 1024, `slots ${forA - sharesForA} bytes`);
    assert.equal(withB.theyStoreForMe, sharesForA, "A's ledger matches the shares B holds for A");
    assert.ok(Math.abs(withB.balance) < 2 * FILE);
    assert.ok(rep.use.placed >= sharesForA);
    const st = await A.status();
    assert.equal(st.fairness?.enabled, true);
  });

  test('GET /api/fairness shows what I offer, what I use and per-peer balances', async () => {
    const app = await createApp({ peer: A, token: 't' });
    try {
      const res = await app.inject({ method: 'GET', url: '/api/fairness', headers: { authorization: 'Bearer t' } });
      assert.equal(res.statusCode, 200);
      const body = res.json();
      assert.deepEqual(body.settings, { enabled: true, ratio: 1, graceBytes: GRACE });
      assert.equal(body.offer.offered, 64 * 2 ** 20);
      assert.ok(body.peers.some((p: any) => p.peer === F.peerId && p.theyStoreForMe === 0 && p.storedForThem > 0));
      assert.ok(body.peers.some((p: any) => p.peer === B.peerId && p.uptime.connected === true && p.standing === 'good'));
    } finally {
      await app.close();
    }
  });

  test('a peer that deletes what it holds fails the spot check (a proof against the verify cap) and gets no new shares from its victim', async () => {
    const D = await startPeer([addr(A), addr(B)], 64 * 2 ** 20);
    await connected(A, 3);
    // Put until one of A's shares lands on D (k=1, n=2: one share on B, one on D).
    const r = await put(A, { k: 1, n: 2, happy: 2 });
    const onD = Object.entries(r.placements).find(([, ids]) => ids.includes(D.peerId));
    assert.ok(onD, 'one share on D');
    const si = Uint8Array.from(Buffer.from(r.storageIndex!, 'hex'));
    await D.store.delete(si, Number(onD[0]), A.peerId); // D drops A's data behind its back
    const results = await A.checkFairness();
    const forD = results.find((x) => x.peer === D.peerId)!;
    assert.equal(forD.ok, false);
    assert.equal(A.fairness.ledger.standing(D.peerId), 'failed');
    assert.equal(results.find((x) => x.peer === B.peerId)?.ok, true, 'B kept everything');
    // A no longer places on D: a file that needs two holders cannot be happy with B alone.
    await assert.rejects(
      put(A, { k: 1, n: 2, happy: 2 }),
      (err: any) => err.code === 'ERR_NOT_HAPPY' && /not placing new shares on .*failed storage audits/.test(err.details.refusals[D.peerId])
    );
    // Ranked last among the closest peers, and refused locally even when reached.
    const ranked = await A.finder.candidates(si, 8);
    assert.equal(ranked.at(-1)?.id, D.peerId);
    await assert.rejects(
      ranked.at(-1)!.writeShare(si, 7, (async function* () {})(), 1, { ueb: new Uint8Array(72) }),
      (err: any) => err.reason === 'policy' && /failed storage audits/.test(err.message)
    );
    // And A stores nothing new for D: its allowance is gone.
    await assert.rejects(put(D, { k: 1, n: 2, happy: 2 }), (err: any) => /fairness: you failed storage audits/.test(err.details.refusals[A.peerId] ?? ''));
  });
});
