import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { peerIdFromString } from '@libp2p/peer-id';
import { makePeer, removeHome, testPack } from './helpers.ts';
import type { TestPeer } from './helpers.ts';
import { generateSwarmKey, parseSwarmKey, loadOrCreatePeerKey, InvalidSwarmKeyError, InvalidPeerKeyError, PeerUnreachableError } from '../../src/net/index.ts';

test('swarm key: generate / parse round trip and clear errors', () => {
  const k = generateSwarmKey();
  assert.match(k, /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}\n$/);
  assert.equal(new TextDecoder().decode(parseSwarmKey(k)), k.trimEnd());
  assert.equal(new TextDecoder().decode(parseSwarmKey(k.replace(/\n/g, '\r\n'))), k.trimEnd());
  assert.throws(() => parseSwarmKey(''), InvalidSwarmKeyError);
  assert.throws(() => parseSwarmKey('/key/swarm/psk/1.0.0/\n/base64/\nabcd'), /base16/);
  assert.throws(() => parseSwarmKey('/key/swarm/psk/1.0.0/\n/base16/\n1234'), /64 hex digits/);
  assert.throws(() => parseSwarmKey('/nope/\n/base16/\n' + 'a'.repeat(64)), /must start with/);
});

test('peer key persists with mode 0600; garbage is a named error', async () => {
  const home = await mkdtemp(join(tmpdir(), 'p2pb-key-'));
  try {
    const keyFile = join(home, 'sub', 'peer.key'); // its folder is made on demand
    const k1 = await loadOrCreatePeerKey(keyFile);
    const k2 = await loadOrCreatePeerKey(keyFile);
    assert.equal(k1.type, 'Ed25519');
    assert.ok(k1.equals(k2));
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
    await writeFile(keyFile, 'garbage');
    await assert.rejects(loadOrCreatePeerKey(keyFile), (err) => err instanceof InvalidPeerKeyError && err.code === 'ERR_INVALID_PEER_KEY');
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

test('private swarm: same key connects, no key or another key cannot', async () => {
  const key = generateSwarmKey();
  const peers: TestPeer[] = [];
  try {
    const P = await makePeer({ swarmKey: key });
    peers.push(P);
    const Q = await makePeer({ swarmKey: key });
    peers.push(Q);
    const N = await makePeer();
    peers.push(N);
    const O = await makePeer({ swarmKey: generateSwarmKey() });
    peers.push(O);
    const {
      si,
      ueb,
      shares: [share]
    } = testPack(1000);
    const r = await Q.node.storage(P.node.multiaddrs()[0]).writeShare(si, 0, share, share.length, { ueb });
    assert.equal(r.status, 'written');
    const short = { dialTimeoutMs: 3000 };
    for (const outsider of [N, O]) {
      const { StorageClient } = await import('../../src/net/index.ts');
      await assert.rejects(new StorageClient(outsider.node.libp2p, P.node.multiaddrs()[0], short).stats(), PeerUnreachableError);
      await assert.rejects(new StorageClient(P.node.libp2p, outsider.node.multiaddrs()[0], short).stats(), PeerUnreachableError);
    }
    assert.equal(P.store.stats().shares, 1);
  } finally {
    for (const p of peers) {
      await p.stop().catch(() => {});
      await removeHome(p);
    }
  }
});

test('closestPeers finds the others through one bootstrap peer', async () => {
  const peers: TestPeer[] = [];
  try {
    const boot = await makePeer();
    peers.push(boot);
    const addr = `${boot.node.multiaddrs()[0].toString()}`;
    for (let i = 0; i < 3; i++) peers.push(await makePeer({ bootstrap: [addr] }));
    const ids = peers.map((p) => p.node.peerId.toString());
    // Each node finds the three others (the last one joined only through the bootstrap peer).
    const sees = async (p: TestPeer) => {
      const others = new Set(ids.filter((id) => id !== p.node.peerId.toString()));
      const deadline = Date.now() + 15_000;
      let got: string[] = [];
      while (Date.now() < deadline) {
        got = (await p.node.closestPeers(randomBytes(16), 10)).map((q) => q.toString());
        if (others.size === got.length && got.every((g) => others.has(g))) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.deepEqual(new Set(got), others);
      return others;
    };
    const last = peers[3];
    const seenByLast = await sees(last);
    const seenByFirst = await sees(peers[1]);
    // Sorted by Kademlia distance, computed here on its own: XOR of sha256(key) and sha256(peer ID
    // multihash), so two nodes rank the peers they both know alike.
    const key = randomBytes(16);
    const target = createHash('sha256').update(key).digest();
    const distance = (id: string) => {
      const d = createHash('sha256').update(peerIdFromString(id).toMultihash().bytes).digest();
      for (let i = 0; i < d.length; i++) d[i] ^= target[i];
      return d;
    };
    const byXor = (set: Set<string>) => [...set].sort((a, b) => Buffer.compare(distance(a), distance(b)));
    assert.deepEqual((await last.node.closestPeers(key, 10)).map(String), byXor(seenByLast));
    assert.deepEqual((await peers[1].node.closestPeers(key, 10)).map(String), byXor(seenByFirst));
    assert.deepEqual((await last.node.closestPeers(key, 2)).map(String), byXor(seenByLast).slice(0, 2), 'count keeps the closest');
    // Provider records: one node announces, another finds it through the DHT.
    const si = randomBytes(16);
    assert.equal(await last.node.provide(si, { timeoutMs: 10_000 }), true);
    assert.ok(
      (await peers[1].node.findProviders(si, { timeoutMs: 10_000 })).some((p) => p.equals(last.node.peerId)),
      'the announcing node is found as a provider'
    );
  } finally {
    for (const p of peers) {
      await p.stop().catch(() => {});
      await removeHome(p);
    }
  }
});
