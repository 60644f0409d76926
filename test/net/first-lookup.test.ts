// A node started with a bootstrap list can look peers up at once: it dials its list at start, and its DHT runs the
// first self-query (which every query waits for) as soon as a peer is known, not after a timer. Before, both
// waited 1 s (@libp2p/bootstrap's and kad-dht's defaults), so a daemon's first backup or upload right after it
// started waited for them (a /usr/share backup's repository lock took 1.1 s instead of 0.08 s). Shown without
// timing anything: while the joiner starts and walks, no timer of HELD_MS or more ever fires.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { makePeer, removeHome, type TestPeer } from './helpers.ts';

const HELD_MS = 500;

test('a node finds its swarm by a DHT walk right after start, with no timer of 0.5 s or more run', { timeout: 60_000 }, async () => {
  const peers: TestPeer[] = [];
  const realSetTimeout = globalThis.setTimeout;
  const realSetInterval = globalThis.setInterval;
  try {
    const a = await makePeer();
    peers.push(a);
    const addrA = a.node.multiaddrs()[0].toString();
    const b = await makePeer({ bootstrap: [addrA] });
    peers.push(b);
    // Until A's DHT knows B (its walk meets B): the swarm is formed before the joiner comes.
    const finalPeers = async (p: TestPeer) => {
      const ids: string[] = [];
      for await (const ev of p.node.libp2p.services.dht.getClosestPeers(randomBytes(32))) if (ev.name === 'FINAL_PEER') ids.push(ev.peer.id.toString());
      return ids;
    };
    while (!(await finalPeers(a)).includes(b.node.peerId.toString())) await new Promise((r) => setTimeout(r, 50));
    // From here on a timer or interval of HELD_MS or more is kept and never run (in this whole process).
    const held: number[] = [];
    globalThis.setTimeout = ((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      if ((ms ?? 0) < HELD_MS) return realSetTimeout(fn, ms, ...args);
      held.push(ms!);
      return realSetTimeout(() => {}, 2 ** 31 - 1).unref();
    }) as typeof setTimeout;
    globalThis.setInterval = ((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      if ((ms ?? 0) < HELD_MS) return realSetInterval(fn, ms, ...args);
      held.push(ms!);
      return realSetInterval(() => {}, 2 ** 31 - 1).unref();
    }) as typeof setInterval;
    let found: string[];
    try {
      const joiner = await makePeer({ bootstrap: [addrA] });
      peers.push(joiner);
      let giveUp!: NodeJS.Timeout;
      found = await Promise.race([
        finalPeers(joiner), // the DHT's own query: closestPeers falls back to the connected peers when one fails
        new Promise<never>((_, reject) => {
          giveUp = realSetTimeout(() => reject(new Error(`no walk in 20 s; timers held: ${held.join(', ')} ms`)), 20_000);
        })
      ]).finally(() => clearTimeout(giveUp));
    } finally {
      globalThis.setTimeout = realSetTimeout;
      globalThis.setInterval = realSetInterval;
    }
    assert.ok(
      held.some((ms) => ms >= 1000),
      'the node did set longer timers (they were held)'
    );
    // Peers that answered its query (B too, most times: A tells of it, and it answers unless it is still being dialled).
    const swarm = [a.node.peerId.toString(), b.node.peerId.toString()];
    assert.ok(found.length > 0 && found.every((id) => swarm.includes(id)), `final peers ${found.join(', ')}`);
  } finally {
    globalThis.setTimeout = realSetTimeout;
    globalThis.setInterval = realSetInterval;
    for (const p of peers.reverse()) {
      await p.stop();
      await removeHome(p);
    }
  }
});
