// Kademlia distance (XOR of sha256 digests): every node ranks peers alike for a key (placement, the DHT
// neighbourhood a peer behind NAT keeps connections to).
import type { PeerId } from '@libp2p/interface';
import { createHash } from 'node:crypto';

/** Peers ordered by Kademlia distance (XOR of sha256 digests) to `key`: every node ranks them alike. */
export function rankByDistance(key: Uint8Array, peers: PeerId[]): PeerId[] {
  const target = createHash('sha256').update(key).digest();
  const dist = (p: PeerId) => xor(createHash('sha256').update(p.toMultihash().bytes).digest(), target);
  return peers
    .map((p) => ({ p, d: dist(p) }))
    .sort((a, b) => Buffer.compare(a.d, b.d))
    .map((x) => x.p);
}

function xor(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}
