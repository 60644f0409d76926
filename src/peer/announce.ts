// Provider records: a holder advertises the storage indexes it accepted, so downloaders find it beyond
// the closest-peer walk. One queue: each index once, one DHT announce at a time and at most one per
// PROVIDE_INTERVAL_MS, at most PROVIDE_QUEUE_MAX waiting. Measured: announcing every share at once made a
// backup of many small files spend most of every peer's CPU in DHT walks; downloads find holders by the
// closest-peer walk first, provider records are the fallback, so only holders outside the closest set
// announce (shouldAnnounce; measured: 20 peers backing up /usr/share 93 s -> 22 s, peers' CPU 157 -> 20 s).
// Best effort: small swarms often cannot hold provider records.
import { setTimeout as sleep } from 'node:timers/promises';
import { shouldAnnounce, type P2PNode } from '../net/index.ts';

const PROVIDE_QUEUE_MAX = 1_000; // storage indexes waiting to be announced; beyond, they are found by the closest-peer walk
const ANNOUNCE_UNLESS_CLOSEST = 10; // holders among this many closest peers do not announce (downloads ask 2n = 10 directly)
const PROVIDE_INTERVAL_MS = 1_000; // a steady trickle, whatever the rate of incoming shares
const PROVIDE_TIMEOUT_MS = 10_000; // one announce (a DHT walk plus ADD_PROVIDER messages)
/**
 * The connected peers the closest-set test ranks are listed again at most this often: libp2p's getPeers() builds
 * a PeerId from each connection's string every call (base58 decode, key parse), and every accepted share asked.
 */
export const ANNOUNCE_PEERS_MS = 1_000;

export type AnnounceNode = Pick<P2PNode, 'peerId' | 'libp2p' | 'provide'>;

/**
 * The announce queue of a holder. It exists before the node does (the node's storage server reports the
 * shares it accepted to it): `attach` the node once it runs; `stop` ends the queue.
 */
export function createAnnouncer(o: { now?: () => number } = {}) {
  const now = o.now ?? Date.now;
  const queue = new Set<string>();
  let peers: { list: ReturnType<AnnounceNode['libp2p']['getPeers']>; at: number } | null = null;
  const connected = (n: AnnounceNode) => {
    if (!peers || now() - peers.at >= ANNOUNCE_PEERS_MS || now() < peers.at) peers = { list: n.libp2p.getPeers(), at: now() };
    return peers.list;
  };
  let node: AnnounceNode | null = null;
  let running = false;
  let stopped = false;
  const drain = async () => {
    running = true;
    while (queue.size && node && !stopped) {
      const next = queue.values().next().value as string;
      queue.delete(next);
      await node.provide(Buffer.from(next, 'hex'), { timeoutMs: PROVIDE_TIMEOUT_MS }).catch(() => false);
      await sleep(PROVIDE_INTERVAL_MS);
    }
    running = false;
  };
  return {
    /** A share of storage index `siHex` (hex) was accepted here. */
    announce(siHex: string): void {
      if (!node || stopped || queue.size >= PROVIDE_QUEUE_MAX) return;
      if (!shouldAnnounce(Buffer.from(siHex, 'hex'), node.peerId, connected(node), ANNOUNCE_UNLESS_CLOSEST)) return;
      queue.add(siHex);
      if (!running) void drain();
    },
    attach(n: AnnounceNode): void {
      node = n;
    },
    stop(): void {
      stopped = true;
      queue.clear();
    }
  };
}
export type Announcer = ReturnType<typeof createAnnouncer>;
