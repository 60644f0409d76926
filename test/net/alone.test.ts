// A node with nobody to ask (no DHT peer, no connection) answers DHT look-ups at once instead of holding them to
// their deadlines: kad-dht holds a query until a peer joins its routing table, so a lone node's walk took 10 s
// and a provider look-up 15 s to find nothing (`put` with no peer: "no storage peers" after 10.4 s). Once it has
// a peer, it asks as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { makePeer, removeHome } from './helpers.ts';
import { CLOSEST_PEERS_TIMEOUT_MS, PROVIDE_TIMEOUT_MS } from '../../src/net/constants.ts';

/** What `p` gives if it settles within `ms`, else 'pending'. */
function within<T>(p: Promise<T>, ms: number): Promise<T | 'pending'> {
  return Promise.race([p, sleep(ms).then(() => 'pending' as const)]);
}

test('a lone node finds nobody at once; with a peer it walks the DHT as before', async () => {
  const [A, B] = await Promise.all([makePeer(), makePeer()]);
  try {
    // Well inside the deadlines the look-ups would otherwise wait for.
    const soon = Math.min(CLOSEST_PEERS_TIMEOUT_MS, PROVIDE_TIMEOUT_MS) / 4;
    assert.deepEqual(await within(A.node.closestPeers(randomBytes(32), 10), soon), []);
    assert.deepEqual(await within(A.node.findProviders(randomBytes(16)), soon), []);
    assert.equal(await within(A.node.provide(randomBytes(16)), soon), false);

    await A.node.libp2p.dial(B.node.multiaddrs()[0]);
    const key = randomBytes(32);
    const found = (await A.node.closestPeers(key, 10)).map((p) => p.toString());
    assert.deepEqual(found, [B.node.peerId.toString()], 'the peer it now has');
  } finally {
    for (const p of [A, B]) {
      await p.stop();
      await removeHome(p);
    }
  }
});
