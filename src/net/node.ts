// createNode: a libp2p v3 node for p2pbackup (TCP + Noise + Yamux, identify, ping, private Kad-DHT,
// bootstrap list, optional mDNS and private-swarm key), optionally serving a ShareStore.
import { createLibp2p } from 'libp2p';
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface';
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2';
import { dcutr } from '@libp2p/dcutr';
import { uPnPNAT } from '@libp2p/upnp-nat';

/** Relay limits for control traffic: a few peers, small and short relayed connections. */
const RELAY_LIMITS = {
  maxReservations: 32,
  defaultDurationLimit: 2 * 60_000, // ms per relayed connection
  defaultDataLimit: 1n << 20n // bytes each way per relayed connection
};
/** Least time (ms) a connection-monitor ping may take before the connection is judged dead (see createNode). */
const PING_MIN_TIMEOUT_MS = 60_000;
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify } from '@libp2p/identify';
import { ping, type Ping } from '@libp2p/ping';
import { kadDHT, removePublicAddressesMapper, passthroughMapper } from '@libp2p/kad-dht';
import type { KadDHT } from '@libp2p/kad-dht';
import { bootstrap } from '@libp2p/bootstrap';
import { mdns } from '@libp2p/mdns';
import { preSharedKey } from '@libp2p/pnet';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import type { Multiaddr } from '@multiformats/multiaddr';
import { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';
import { createHash } from 'node:crypto';
import type { ShareStore } from '../store/index.ts';
import { checkSi } from '../store/index.ts';
import { BOOTSTRAP_REDIAL_MS, CLOSEST_PEERS_TIMEOUT_MS, DEFAULT_LISTEN, DHT_PROTOCOL, PROVIDE_TIMEOUT_MS } from './constants.ts';
import { parseSwarmKey } from './keys.ts';
import { serveStorage } from './server.ts';
import type { StorageServerOptions } from './server.ts';
import { StorageClient } from './client.ts';
import type { StorageClientOptions } from './client.ts';

export interface NodeInit {
  /** Identity; use loadOrCreatePeerKey(homePaths(home).peerKey) for a stable peer ID. A fresh key if omitted. */
  privateKey?: PrivateKey;
  /** Listen multiaddrs (default /ip4/0.0.0.0/tcp/0). */
  listen?: string[];
  /**
   * Circuit relay v2. `server`: relay for others, with limits fit for control traffic (a short, small
   * reservation; our storage protocol does not run on relayed connections, so bulk data never does).
   * `client`: reserve a slot on relays we meet and listen on /p2p-circuit (for a peer behind a NAT
   * that cannot be forwarded); DCUtR then tries to upgrade relayed connections to direct ones.
   */
  relay?: { server?: boolean; client?: boolean };
  /** Ask the router for a port mapping (UPnP IGD) and announce the external address. */
  upnp?: boolean;
  /** Addresses to announce instead of the observed ones (a public address behind a port forward). */
  announce?: string[];
  /** Multiaddrs (with /p2p/<id>) dialled at start and used to join the DHT. */
  bootstrap?: string[];
  /** LAN discovery; daemons default it on, tests must turn it off (default true). */
  mdns?: boolean;
  /** Private swarm: swarm.key text (or bytes). Peers without the same key cannot connect. */
  swarmKey?: string | Uint8Array;
  /** Keep only private/LAN addresses in the DHT (default true: our swarms are LANs and friends' boxes over VPNs). */
  lanOnly?: boolean;
  /** Serve this store on /p2pbackup/storage/1.0.0. */
  store?: ShareStore;
  server?: StorageServerOptions;
  client?: StorageClientOptions;
}

export interface P2PNode {
  readonly libp2p: Libp2p<{ dht: KadDHT; ping: Ping }>;
  readonly peerId: PeerId;
  multiaddrs(): Multiaddr[];
  /** A client for one remote storage peer. */
  storage(peer: PeerId | Multiaddr | string): StorageClient;
  /**
   * Up to `count` peers closest (Kademlia XOR over sha256) to `key`, excluding ourselves: DHT results merged with
   * currently connected peers (fallback when the DHT returns fewer), sorted by distance.
   */
  closestPeers(key: Uint8Array, count: number, opts?: { signal?: AbortSignal }): Promise<PeerId[]>;
  /** Best-effort: announce that we hold shares of `si`. Resolves false on timeout or failure. */
  provide(si: Uint8Array, opts?: { signal?: AbortSignal; timeoutMs?: number }): Promise<boolean>;
  /** Best-effort: peers announcing shares of `si` (may be empty in small swarms: see docs/PROTOCOL.md). */
  findProviders(si: Uint8Array, opts?: { signal?: AbortSignal; timeoutMs?: number; max?: number }): Promise<PeerId[]>;
  stop(): Promise<void>;
}

export async function createNode(init: NodeInit = {}): Promise<P2PNode> {
  const peerDiscovery = [];
  if (init.bootstrap?.length) peerDiscovery.push(bootstrap({ list: init.bootstrap }));
  if (init.mdns ?? true) peerDiscovery.push(mdns());
  const libp2p = await createLibp2p({
    privateKey: init.privateKey,
    addresses: {
      listen: [...(init.listen ?? DEFAULT_LISTEN), ...(init.relay?.client ? ['/p2p-circuit'] : [])],
      ...(init.announce?.length ? { announce: init.announce } : {})
    },
    transports: [tcp(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionProtector: init.swarmKey !== undefined ? preSharedKey({ psk: parseSwarmKey(init.swarmKey) }) : undefined,
    peerDiscovery,
    // A ping shares the connection with the uploads: on a full home uplink it waits behind seconds of queued
    // share bytes, and libp2p's default (abort when a ping takes over max(5 s, adaptive)) cut the client's own
    // connections mid-backup (bench wan, 40 Mbit/s). A connection is judged dead only after a minute without an
    // answer; storage streams have their own idle timeout meanwhile.
    connectionMonitor: { pingTimeout: { minTimeout: PING_MIN_TIMEOUT_MS, maxTimeout: 2 * PING_MIN_TIMEOUT_MS } },
    services: {
      identify: identify(),
      ping: ping(),
      dcutr: dcutr(),
      ...(init.relay?.server ? { relay: circuitRelayServer({ reservations: RELAY_LIMITS }) } : {}),
      // autoConfirmAddress: the mapped address is announced as soon as the router grants it. Without it
      // upnp-nat requires @libp2p/autonat (the node did not even start) and waits for several peers to
      // dial the address back, which a small swarm may never provide. The router's own answer is our
      // evidence; libp2p still refuses a private external address (double NAT: nothing to gain).
      ...(init.upnp ? { upnp: uPnPNAT({ portMappingDescription: 'p2pbackup', autoConfirmAddress: true }) } : {}),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        clientMode: false,
        peerInfoMapper: (init.lanOnly ?? true) ? removePublicAddressesMapper : passthroughMapper,
      }),
    },
  });
  let unserve: (() => Promise<void>) | undefined;
  if (init.store) unserve = await serveStorage(libp2p, init.store, init.server);

  const node: P2PNode = {
    libp2p,
    peerId: libp2p.peerId,
    multiaddrs: () => libp2p.getMultiaddrs(),
    storage(peer) {
      const target = typeof peer === 'string' ? (peer.startsWith('/') ? multiaddr(peer) : peerIdFromString(peer)) : peer;
      return new StorageClient(libp2p, target, init.client);
    },
    async closestPeers(key, count, opts = {}) {
      const found = new Map<string, PeerId>();
      const self = libp2p.peerId.toString();
      const signal = AbortSignal.any([AbortSignal.timeout(CLOSEST_PEERS_TIMEOUT_MS), ...(opts.signal ? [opts.signal] : [])]);
      try {
        for await (const info of libp2p.peerRouting.getClosestPeers(key, { signal })) {
          const id = info.id.toString();
          if (id !== self) found.set(id, info.id);
        }
      } catch {
        // DHT query failed or timed out: fall back to what we know.
      }
      if (opts.signal?.aborted) throw opts.signal.reason;
      if (found.size < count) for (const p of libp2p.getPeers()) found.set(p.toString(), p);
      found.delete(self);
      return rankByDistance(key, [...found.values()]).slice(0, count);
    },
    async provide(si, opts = {}) {
      checkSi(si);
      const signal = AbortSignal.any([AbortSignal.timeout(opts.timeoutMs ?? PROVIDE_TIMEOUT_MS), ...(opts.signal ? [opts.signal] : [])]);
      try {
        await libp2p.contentRouting.provide(await siToCid(si), { signal });
        return true;
      } catch {
        return false;
      }
    },
    async findProviders(si, opts = {}) {
      checkSi(si);
      const signal = AbortSignal.any([AbortSignal.timeout(opts.timeoutMs ?? PROVIDE_TIMEOUT_MS), ...(opts.signal ? [opts.signal] : [])]);
      const out = new Map<string, PeerId>();
      try {
        for await (const p of libp2p.contentRouting.findProviders(await siToCid(si), { signal })) {
          out.set(p.id.toString(), p.id);
          if (out.size >= (opts.max ?? 20)) break;
        }
      } catch {
        // best effort
      }
      return [...out.values()];
    },
    async stop() {
      clearInterval(redial);
      await unserve?.().catch(() => {});
      await libp2p.stop();
    },
  };
  // The bootstrap module dials its list once, at start. A node that found none of them answering then
  // (they were down, or too slow: measured with 50 daemons on 2 cores) or that later lost every connection
  // would stay alone for good: while it has no connection at all, dial the list again.
  const redial = setInterval(() => {
    if (!init.bootstrap?.length || libp2p.getConnections().length > 0) return;
    for (const addr of init.bootstrap) {
      void libp2p.dial(multiaddr(addr), { signal: AbortSignal.timeout(BOOTSTRAP_REDIAL_MS) }).catch(() => {});
    }
  }, BOOTSTRAP_REDIAL_MS);
  redial.unref();
  return node;
}

/**
 * Whether a holder of shares of `key` should announce a provider record: only when it is not among the
 * `closest` peers to `key` it knows of (itself included). Downloads and checks ask the 2n closest peers
 * directly (2n = 10 for the default 3-of-5), so a record from one of them adds nothing but a DHT walk and
 * K ADD_PROVIDER messages: measured on 20 peers, those walks were 90% of the swarm's CPU during a backup.
 * Holders placed further out (a refused or full closer peer, repair) still announce.
 */
export function shouldAnnounce(key: Uint8Array, self: PeerId, peers: PeerId[], closest: number): boolean {
  const ranked = rankByDistance(key, [self, ...peers.filter((p) => !p.equals(self))]);
  return ranked.findIndex((p) => p.equals(self)) >= closest;
}

/** Peers ordered by Kademlia distance (XOR of sha256 digests) to `key`: every node ranks them alike. */
export function rankByDistance(key: Uint8Array, peers: PeerId[]): PeerId[] {
  const target = createHash('sha256').update(key).digest();
  const dist = (p: PeerId) => xor(createHash('sha256').update(p.toMultihash().bytes).digest(), target);
  return peers.map((p) => ({ p, d: dist(p) })).sort((a, b) => Buffer.compare(a.d, b.d)).map((x) => x.p);
}

function xor(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}

/** CIDv1 (raw codec) of sha256(si): the DHT key under which shares of `si` are announced. */
export async function siToCid(si: Uint8Array): Promise<CID> {
  return CID.createV1(0x55, await sha256.digest(si));
}
