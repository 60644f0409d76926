// publishRecord / fetchRecord over a small swarm of in-process peers (real libp2p nodes on loopback).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPeer, type Peer } from '../../src/peer/peer.ts';
import { DEFAULT_CONFIG } from '../../src/peer/config.ts';
import { publishRecord, fetchRecord, slotReadCap, NotEnoughReplicasError, StaleSeqError, RecordTooLargeError } from '../../src/client/index.ts';
import type { ServerFinder, ShareServer } from '../../src/client/index.ts';
import { createMutableWriteCap, formatCap, signRecord, storageIndexOf, InvalidCapError } from '../../src/caps/index.ts';
import { SLOT_MAX_PAYLOAD_BYTES } from '../../src/store/index.ts';
import { slotRecordStore } from '../../src/peer/folders.ts';
import { RecordConflictError } from '../../src/repo/index.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

async function startPeer(bootstrap: string[]): Promise<{ peer: Peer; home: string }> {
  const home = await mkdtemp(join(tmpdir(), 'p2pb-slots-peer-'));
  const peer = await createPeer({ home, config: { ...DEFAULT_CONFIG, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, bootstrap, offer: 16 * 1024 * 1024 } });
  return { peer, home };
}

/** A finder whose servers may lie: `lie(id, record)` rewrites what getSlot returns. */
function lyingFinder(inner: ServerFinder, lie: (id: string, rec: Uint8Array | null) => Uint8Array | null): ServerFinder {
  return {
    async candidates(si, count, o) {
      return (await inner.candidates(si, count, o)).map((s): ShareServer => ({ ...s, getSlot: async (x, oo) => lie(s.id, await s.getSlot(x, oo)) }));
    }
  };
}

describe('mutable records over a swarm of 5 holders', () => {
  const started: { peer: Peer; home: string; stopped?: boolean }[] = [];
  let client: Peer;
  let holders: Peer[];

  before(async () => {
    const first = await startPeer([]);
    started.push(first);
    const boot = [first.peer.addresses()[0] + '/p2p/' + first.peer.peerId];
    for (let i = 0; i < 4; i++) started.push(await startPeer(boot));
    const all = started.map((s) => s.peer.addresses()[0] + '/p2p/' + s.peer.peerId);
    const c = await startPeer(all);
    started.push(c);
    client = c.peer;
    holders = started.slice(0, 5).map((s) => s.peer);
    const deadline = Date.now() + 15_000;
    while (client.node.libp2p.getPeers().length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.equal(client.node.libp2p.getPeers().length, 5);
  });
  after(async () => {
    for (const s of started) {
      if (!s.stopped) await s.peer.stop().catch(() => {});
      await rm(s.home, { recursive: true, force: true });
    }
  });

  test('publish then fetch; a second publish gets a higher seq and wins', async () => {
    const cap = createMutableWriteCap();
    const wc = formatCap(cap);
    const rc = slotReadCap(wc);
    assert.equal(await fetchRecord(client.finder, rc), null);
    const p1 = await publishRecord(client.finder, wc, enc.encode('head v1'));
    assert.equal(p1.seq, 1);
    assert.equal(p1.storedOn.length, 5);
    const f1 = await fetchRecord(client.finder, rc);
    assert.equal(f1?.seq, 1);
    assert.equal(dec.decode(f1!.payload), 'head v1');
    assert.equal(f1?.holders.length, 5);
    assert.equal(f1?.bad, 0);
    const p2 = await publishRecord(client.finder, cap, enc.encode('head v2'), { replicas: 3, minReplicas: 2 });
    assert.equal(p2.seq, 2);
    assert.equal(p2.storedOn.length, 3);
    // Any holder may fetch too (it is a client of the others); the writer cap reads as well.
    const f2 = await fetchRecord(holders[0].finder, cap, { repair: false });
    assert.equal(f2?.seq, 2);
    assert.equal(dec.decode(f2!.payload), 'head v2');
    // An explicit seq that is not above the swarm's is refused before anything is written.
    await assert.rejects(publishRecord(client.finder, cap, enc.encode('x'), { seq: 2 }), StaleSeqError);
    assert.equal((await publishRecord(client.finder, cap, enc.encode('v10'), { seq: 10 })).seq, 10);
    await assert.rejects(publishRecord(client.finder, cap, new Uint8Array(SLOT_MAX_PAYLOAD_BYTES + 1)), RecordTooLargeError);
    await assert.rejects(publishRecord(client.finder, rc, enc.encode('x')), InvalidCapError);
  });

  test('a holder serving an old record does not win and is repaired; forged and tampered answers are dropped', async () => {
    const cap = createMutableWriteCap();
    const si = storageIndexOf(cap)!;
    await publishRecord(client.finder, cap, enc.encode('old'));
    // Seq 2 reaches only 4 of the 5 holders (written straight into their stores).
    const r2 = signRecord(cap, 2, enc.encode('new'));
    const laggard = holders[2];
    for (const h of holders) if (h !== laggard) await h.store.putSlot(si, r2, 'test');
    const f = await fetchRecord(client.finder, cap);
    assert.equal(f?.seq, 2);
    assert.equal(dec.decode(f!.payload), 'new');
    assert.deepEqual(f?.stale, [laggard.peerId]);
    assert.deepEqual(f?.repaired, [laggard.peerId]);
    assert.ok(Buffer.from((await laggard.store.getSlot(si))!).equals(r2));

    // Lying servers: one returns a higher-seq record signed by another key, one a tampered copy, one garbage.
    const forger = createMutableWriteCap();
    const liars = new Map<string, (rec: Uint8Array | null) => Uint8Array | null>([
      [holders[0].peerId, () => signRecord(forger, 99, enc.encode('evil'))],
      [
        holders[1].peerId,
        (rec) => {
          const t = Uint8Array.from(rec!);
          t[100] ^= 1;
          return t;
        }
      ],
      [holders[3].peerId, () => new Uint8Array(300)]
    ]);
    const lf = lyingFinder(client.finder, (id, rec) => liars.get(id)?.(rec) ?? rec);
    const g = await fetchRecord(lf, cap, { repair: false });
    assert.equal(g?.seq, 2);
    assert.equal(dec.decode(g!.payload), 'new');
    assert.equal(g?.bad, 3);
    assert.equal(g?.holders.length, 2);
    // Only forgeries everywhere: nothing valid.
    assert.equal(
      await fetchRecord(
        lyingFinder(client.finder, () => signRecord(forger, 7, enc.encode('evil'))),
        cap
      ),
      null
    );
  });

  test('stop 2 of 5 holders: fetch still works, publish needs enough live replicas', async () => {
    const cap = createMutableWriteCap();
    await publishRecord(client.finder, cap, enc.encode('before'));
    for (const s of started.slice(3, 5)) {
      await s.peer.stop();
      s.stopped = true;
    }
    const f = await fetchRecord(client.finder, cap, { timeoutMs: 3000 });
    assert.equal(dec.decode(f!.payload), 'before');
    assert.ok(f!.holders.length >= 3);
    const p = await publishRecord(client.finder, cap, enc.encode('after'), { timeoutMs: 3000 });
    assert.equal(p.seq, 2);
    assert.equal(p.storedOn.length, 3);
    await assert.rejects(
      publishRecord(client.finder, cap, enc.encode('more'), { minReplicas: 4, timeoutMs: 3000 }),
      (e: unknown) => e instanceof NotEnoughReplicasError && e.stored === 3 && e.needed === 4
    );
    // The refused publish still left seq 3 on the 3 live peers: it is the newest now.
    assert.equal(dec.decode((await fetchRecord(client.finder, cap, { timeoutMs: 3000 }))!.payload), 'more');
  });

  test("the repository's slot as a RecordStore: a write over a seq another writer moved is a RecordConflictError, nothing written", async () => {
    const cap = formatCap(createMutableWriteCap());
    const a = slotRecordStore(client.finder, cap, 2);
    const b = slotRecordStore(holders[0].finder, cap, 2);
    await a.write(enc.encode('one'), null);
    await assert.rejects(b.write(enc.encode('b on nothing'), null), RecordConflictError);
    await b.write(enc.encode('two'), 1);
    await assert.rejects(a.write(enc.encode('a on one'), 1), RecordConflictError, 'a stale guess is refused');
    const now = await a.read();
    assert.equal(now?.seq, 2);
    assert.equal(dec.decode(now!.payload), 'two');
    await a.write(enc.encode('three'), 2);
    assert.equal(dec.decode((await b.read())!.payload), 'three');
  });
});
