// Candidate lists and DHT walks (src/peer/finder.ts): every caller shares one walk, and only a caller that knows
// nothing yet or asks for a fresh look (`refresh`) waits for it. A walk waits for each peer it asks, so a host
// that is down holds it to its dial timeout (5 s across network namespaces); before, a check of a degraded file
// (locate: two candidate lists, the second for 64 peers, more than a small swarm has) waited for a walk of its
// own each time, 7-23 s a file, and a health round of 11 packs took 81 s (test/multihost/e2e.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makePeer, removeHome, type TestPeer } from '../net/helpers.ts';
import { createFinder, SERVES_KNOWN_MS } from '../../src/peer/finder.ts';
import { STORAGE_PROTOCOL } from '../../src/net/index.ts';
import { createFairness, type Fairness } from '../../src/fairness/service.ts';

/** A promise and the function that resolves it. */
function gated(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** 'settled' when `p` settles within `ms`, else 'pending'. */
async function within<T>(p: Promise<T>, ms: number): Promise<'settled' | 'pending'> {
  return Promise.race([
    p.then(
      () => 'settled' as const,
      () => 'settled' as const
    ),
    sleep(ms).then(() => 'pending' as const)
  ]);
}

/** Node A's finder on a virtual clock, with A's real walk held on a gate (what a host that is down does). */
async function setup() {
  const [A, B, C] = await Promise.all([makePeer(), makePeer(), makePeer()]);
  const fairness = await createFairness({ settings: { enabled: false, ratio: 1, graceBytes: 0 }, ledgerPath: join(A.home, 'ledger') });
  const realWalk = A.node.closestPeers.bind(A.node);
  const s = {
    A,
    B,
    C,
    fairness,
    calls: 0,
    gate: gated(),
    t: 1_000_000,
    ids: (list: { id: string }[]) => list.map((x) => x.id).sort(),
    idOf: (p: TestPeer) => p.node.peerId.toString()
  };
  A.node.closestPeers = async (key, count, o) => {
    s.calls++;
    await s.gate.promise;
    return realWalk(key, count, o);
  };
  const made = createFinder({ node: A.node, fairness, now: () => s.t });
  return { ...s, ...made, s };
}
async function teardown(peers: TestPeer[], fairness: Fairness) {
  await fairness.close();
  for (const p of peers) {
    await p.stop();
    await removeHome(p);
  }
}

test('candidate lists share one DHT walk and wait for it only when they know nothing yet or ask (refresh)', async () => {
  const { A, B, C, fairness, finder, walks, ids, idOf, s } = await setup();
  try {
    await A.node.libp2p.dial(B.node.multiaddrs()[0]);
    await A.node.libp2p.dial(C.node.multiaddrs()[0]);
    const both = [idOf(B), idOf(C)].sort();
    const list = (count: number, o?: { refresh?: boolean; signal?: AbortSignal }) => finder.candidates(randomBytes(32), count, o);

    // Nothing walked yet: the first list waits for the walk.
    const first = list(64);
    assert.equal(await within(first, 300), 'pending', 'the first list waits for the first walk');
    s.gate.resolve();
    assert.deepEqual(ids(await first), both);
    assert.equal(s.calls, 1);

    // Just walked: no walk is due, none starts.
    s.gate = gated();
    assert.deepEqual(ids(await list(64)), both);
    s.t += 4_999;
    assert.deepEqual(ids(await list(64)), both);
    assert.equal(s.calls, 1, 'no walk within 5 s of the last');
    // The walk met both peers: one asking for 2 has all it asked for, and waits 30 s for the next.
    s.t += 25_000;
    assert.deepEqual(ids(await list(2)), both);
    assert.equal(s.calls, 1, 'no walk within 30 s when the last met as many as asked for');

    // One that met fewer than asked for is due again after 5 s. It is slow now (gate closed).
    const lists = Array.from({ length: 4 }, () => list(64));
    for (const l of lists) assert.equal(await within(l, 300), 'settled', 'a list does not wait for a walk that is due');
    for (const l of lists) assert.deepEqual(ids(await l), both, 'from the last walk and the connections');
    assert.equal(s.calls, 2, 'one walk started behind the four lists, not one each');

    // A caller that asks for a fresh look waits for the walk under way (and starts no other) ...
    const fresh = list(10, { refresh: true });
    // ... and one that gives up stops waiting, without stopping the walk the others wait for.
    const ac = new AbortController();
    const impatient = list(10, { refresh: true, signal: ac.signal });
    assert.equal(await within(fresh, 300), 'pending', 'refresh waits for the walk');
    ac.abort(new Error('gave up'));
    await assert.rejects(impatient, /gave up/);
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0, 'its abort listener is gone');
    await assert.rejects(list(10, { refresh: true, signal: ac.signal }), /gave up/, 'an aborted caller is refused at once');
    assert.equal(await within(fresh, 50), 'pending', 'the walk goes on');
    const patient = new AbortController();
    const waiting = list(10, { refresh: true, signal: patient.signal });
    s.gate.resolve();
    assert.deepEqual(ids(await fresh), both);
    assert.deepEqual(ids(await waiting), both);
    assert.equal(getEventListeners(patient.signal, 'abort').length, 0, 'a caller served leaves no listener on its signal');
    assert.equal(s.calls, 2, 'the refreshes joined the walk under way');

    // After 30 s a walk is due even when the last met as many as asked for.
    s.t += 30_001;
    assert.deepEqual(ids(await list(2)), both);
    assert.equal(s.calls, 3);
    for (let i = 0; i < 200 && walks.done < 3; i++) await sleep(10); // the gate is open: it ends at once
    // Waited: the first list, three refreshes (the one refused at once counts) and the patient one.
    assert.deepEqual({ ...walks }, { started: 3, waited: 5, done: 3 });
  } finally {
    await teardown([A, B, C], fairness);
  }
});

test('a list waits for a walk while the last found nobody and nobody is connected; with a peer to go on it does not', async () => {
  const { A, B, C, fairness, finder, ids, idOf, s } = await setup();
  try {
    const list = () => finder.candidates(randomBytes(32), 10);
    s.gate.resolve();
    assert.deepEqual(await list(), [], 'alone: the walk finds nobody');
    // Still nobody: the next list waits for a walk again.
    s.gate = gated();
    const again = list();
    assert.equal(await within(again, 300), 'pending');
    s.gate.resolve();
    assert.deepEqual(await again, []);
    assert.equal(s.calls, 2);
    // A connection is something to go on: no wait, no walk (the last is 0 s old).
    s.gate = gated();
    await A.node.libp2p.dial(B.node.multiaddrs()[0]);
    const withB = list();
    assert.equal(await within(withB, 300), 'settled');
    assert.deepEqual(ids(await withB), [idOf(B)]);
    assert.equal(s.calls, 2);
    // A walk that found someone is something to go on too, even with every connection gone.
    const refreshed = finder.candidates(randomBytes(32), 10, { refresh: true });
    s.gate.resolve();
    assert.deepEqual(ids(await refreshed), [idOf(B)]);
    await A.node.libp2p.hangUp(B.node.peerId);
    s.gate = gated();
    const fromWalk = list();
    assert.equal(await within(fromWalk, 300), 'settled', 'no wait: the last walk found B');
    assert.deepEqual(ids(await fromWalk), [idOf(B)]);
    assert.equal(s.calls, 3);
  } finally {
    s.gate.resolve();
    await teardown([A, B, C], fairness);
  }
});

test('whether a peer serves storage is looked up once per SERVES_KNOWN_MS or identify, not for every candidate list; one that does not serve is left out', async () => {
  const { A, B, C, fairness, finder, ids, idOf, s } = await setup();
  try {
    s.gate.resolve();
    await A.node.libp2p.dial(B.node.multiaddrs()[0]);
    await A.node.libp2p.dial(C.node.multiaddrs()[0]);
    const store = A.node.libp2p.peerStore;
    for (let i = 0; i < 200 && (await Promise.all([B, C].map(async (p) => (await store.get(p.node.peerId)).protocols.length))).includes(0); i++)
      await sleep(10);
    const both = [idOf(B), idOf(C)].sort();
    assert.deepEqual(ids(await finder.candidates(randomBytes(32), 10)), both); // the first list waits for the walk
    // Once a walk is known, a list reads the store synchronously when it reads it at all: counted there only
    // (libp2p reads the store for its own reasons too).
    const get = store.get.bind(store);
    let counting = false;
    let gets = 0;
    store.get = (...a: Parameters<typeof store.get>) => {
      if (counting) gets++;
      return get(...a);
    };
    const list = () => {
      counting = true;
      try {
        return finder.candidates(randomBytes(32), 10);
      } finally {
        counting = false;
      }
    };
    for (let i = 0; i < 5; i++) assert.deepEqual(ids(await list()), both);
    assert.equal(gets, 0, 'known for SERVES_KNOWN_MS: no peer-store read per list');
    // C stops serving storage: known once its record is read again (after the time, or at its next identify).
    await store.patch(C.node.peerId, { protocols: ['/other/1.0.0'] });
    s.t += SERVES_KNOWN_MS;
    assert.deepEqual(ids(await list()), [idOf(B)], 'a peer that serves no storage is not a candidate');
    assert.equal(gets, 2);
    assert.deepEqual(ids(await list()), [idOf(B)]);
    assert.equal(gets, 2);
    await store.patch(C.node.peerId, { protocols: [STORAGE_PROTOCOL] });
    A.node.libp2p.safeDispatchEvent('peer:identify', { detail: { peerId: C.node.peerId, protocols: [STORAGE_PROTOCOL] } as never });
    assert.deepEqual(ids(await list()), both, 'identify makes it read again at once');
    assert.equal(gets, 3);
  } finally {
    await teardown([A, B, C], fairness);
  }
});
