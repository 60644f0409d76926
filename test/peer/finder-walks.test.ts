// Candidate lists and DHT walks (src/peer/finder.ts): every caller shares one walk, and only a caller that knows
// nothing yet or asks for a fresh look (`refresh`) waits for it. A walk waits for each peer it asks, so a host
// that is down holds it to its dial timeout (5 s across network namespaces); before, a check of a degraded file
// (locate: two candidate lists, the second for 64 peers, more than a small swarm has) waited for a walk of its
// own each time, 7-23 s a file, and a health round of 11 packs took 81 s (test/multihost/e2e.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makePeer, removeHome } from '../net/helpers.ts';
import { createFinder } from '../../src/peer/finder.ts';
import { createFairness } from '../../src/fairness/service.ts';

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

test('candidate lists share one DHT walk and wait for it only when they know nothing yet or ask (refresh)', async () => {
  const [A, B, C] = await Promise.all([makePeer(), makePeer(), makePeer()]);
  const fairness = await createFairness({ settings: { enabled: false, ratio: 1, graceBytes: 0 }, ledgerPath: join(A.home, 'ledger') });
  try {
    await A.node.libp2p.dial(B.node.multiaddrs()[0]);
    await A.node.libp2p.dial(C.node.multiaddrs()[0]);
    // The node's real walk, held on a gate: what a swarm with a host down does to every walk.
    const realWalk = A.node.closestPeers.bind(A.node);
    let calls = 0;
    let gate = gated();
    A.node.closestPeers = async (key, count, o) => {
      calls++;
      await gate.promise;
      return realWalk(key, count, o);
    };
    const { finder, walks } = createFinder({ node: A.node, fairness });
    const both = [B.node.peerId.toString(), C.node.peerId.toString()].sort();
    const ids = async (p: ReturnType<typeof finder.candidates>) => (await p).map((s) => s.id).sort();

    // Nothing walked yet: the first list waits for the walk.
    const first = finder.candidates(randomBytes(32), 64);
    assert.equal(await within(first, 300), 'pending', 'the first list waits for the first walk');
    gate.resolve();
    assert.deepEqual(await ids(first), both);
    assert.equal(calls, 1);

    // The walk met 2 peers of the 64 asked for: 5 s later another is due. It is slow now (gate closed).
    gate = gated();
    await sleep(5_200);
    const lists = Array.from({ length: 4 }, () => finder.candidates(randomBytes(32), 64));
    for (const l of lists) assert.equal(await within(l, 300), 'settled', 'a list does not wait for a walk that is due');
    for (const l of lists) assert.deepEqual(await ids(l), both, 'from the last walk and the connections');
    assert.equal(calls, 2, 'one walk started behind the four lists, not one each');

    // A caller that asks for a fresh look waits for the walk under way (and starts no other) ...
    const fresh = finder.candidates(randomBytes(32), 10, { refresh: true });
    // ... and one that gives up stops waiting, without stopping the walk the others wait for.
    const ac = new AbortController();
    const impatient = finder.candidates(randomBytes(32), 10, { refresh: true, signal: ac.signal });
    assert.equal(await within(fresh, 300), 'pending', 'refresh waits for the walk');
    ac.abort(new Error('gave up'));
    await assert.rejects(impatient, /gave up/);
    assert.equal(await within(fresh, 50), 'pending', 'the walk goes on');
    gate.resolve();
    assert.deepEqual(await ids(fresh), both);
    assert.equal(calls, 2, 'the refresh joined the walk under way');
    assert.deepEqual({ ...walks }, { started: 2, waited: 3, done: 2 });
  } finally {
    await fairness.close();
    for (const p of [A, B, C]) {
      await p.stop();
      await removeHome(p);
    }
  }
});
