// The provider-record announcer (src/peer/announce.ts): which accepted shares it announces, and what it asks of
// the node per share.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { PeerId } from '@libp2p/interface';
import { ANNOUNCE_PEERS_MS, createAnnouncer, type AnnounceNode } from '../../src/peer/announce.ts';
import { shouldAnnounce } from '../../src/net/index.ts';

test('the announcer lists the connected peers once per ANNOUNCE_PEERS_MS, not once per accepted share, and announces what shouldAnnounce says', async () => {
  const ids = await Promise.all(Array.from({ length: 16 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))));
  const [self, ...others] = ids;
  let connected: PeerId[] = others;
  let lists = 0;
  const provided: string[] = [];
  const node = {
    peerId: self,
    libp2p: {
      getPeers: () => {
        lists++;
        return connected;
      }
    },
    provide: async (key: Uint8Array) => {
      provided.push(Buffer.from(key).toString('hex'));
      return true;
    }
  } as unknown as AnnounceNode;
  let t = 1_000_000;
  const a = createAnnouncer({ now: () => t });
  a.attach(node);
  try {
    const sis = Array.from({ length: 40 }, () => randomBytes(16).toString('hex'));
    for (const si of sis) a.announce(si);
    assert.equal(lists, 1, 'one listing for 40 shares within ANNOUNCE_PEERS_MS');
    const expected = sis.filter((si) => shouldAnnounce(Buffer.from(si, 'hex'), self, others, 10));
    assert.ok(expected.length > 0 && expected.length < sis.length, 'some are announced, some are not (15 peers, 10 closest)');
    for (let i = 0; i < 50 && provided.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(provided[0], expected[0], 'the first one to announce is announced at once');
    // The connected peers are listed again once ANNOUNCE_PEERS_MS have passed.
    connected = others.slice(0, 5);
    t += ANNOUNCE_PEERS_MS - 1;
    a.announce(randomBytes(16).toString('hex'));
    assert.equal(lists, 1);
    t += 1;
    for (let i = 0; i < 10; i++) a.announce(randomBytes(16).toString('hex'));
    assert.equal(lists, 2);
    t -= 60_000; // the clock went back: listed again, not trusted for a minute
    a.announce(randomBytes(16).toString('hex'));
    assert.equal(lists, 3);
  } finally {
    a.stop();
  }
});
