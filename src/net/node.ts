// createNode: a libp2p v3 node for p2pbackup (TCP + Noise + Yamux, identify, ping, private Kad-DHT,
// bootstrap list, optional mDNS and private-swarm key), optionally serving a ShareStore.
import { createLibp2p } from 'libp2p';
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface';
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2';
import { dcutr } from '@libp2p/dcutr';

import { tcpCorked } from './tcp-writes.ts';
import { libp2pLogger } from './quiet-log.ts';
import { startKeepAlive, YAMUX_KEEPALIVE_MS, type KeepAlive } from './keepalive.ts';
import { noiseLean } from './noise-decrypt.ts';
import { yamux } from '@chainsafe/libp2p-yamux';
import { installYamuxWindowUpdates } from './yamux-window.ts';
import { installLazySelect } from './lazy-select.ts';
import { identify, identifyPush } from '@libp2p/identify';
import { ping, type Ping } from '@libp2p/ping';
import { kadDHT, removePublicAddressesMapper, passthroughMapper } from '@libp2p/kad-dht';
import type { KadDHT, SingleKadDHT } from '@libp2p/kad-dht';
import { bootstrap } from '@libp2p/bootstrap';
import { preSharedKey } from '@libp2p/pnet';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import type { Multiaddr } from '@multiformats/multiaddr';
import { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';
import type { ShareStore } from '../store/index.ts';
import { checkSi } from '../store/index.ts';
import {
  BOOTSTRAP_REDIAL_MS,
  CLOSEST_PEERS_TIMEOUT_MS,
  CONNECTION_PING_INTERVAL_MS,
  CONNECTION_PING_TIMEOUT_MS,
  DEFAULT_LISTEN,
  DHT_PROTOCOL,
  PING_STREAMS,
  PROTOCOL_NEGOTIATION_TIMEOUT_MS,
  PROVIDE_TIMEOUT_MS,
  READ_REQUESTS_PER_PEER
} from './constants.ts';
import { keyedLimiter } from '../common/limit.ts';
import { parseSwarmKey } from './keys.ts';
import { serveStorage } from './server.ts';
import type { StorageServerOptions } from './server.ts';
import { StorageClient } from './client.ts';
import type { StorageClientOptions } from './client.ts';
import { rankByDistance } from './distance.ts';
import { serveDialback } from './dialback.ts';
import { createPathSelector, type PathSelector } from './paths.ts';
import { addressBook, createReachability, type Reachability, type ReachabilityInit } from './reachability.ts';
import { createRelayServer, type RelayServer, type RelayServerInit } from './relay.ts';

export interface NodeInit {
  /** Identity; use loadOrCreatePeerKey(homePaths(home).peerKey) for a stable peer ID. A fresh key if omitted. */
  privateKey?: PrivateKey;
  /** Listen multiaddrs (default /ip4/0.0.0.0/tcp/0). */
  listen?: string[];
  /**
   * Circuit relay v2 (src/net/relay.ts). `server`: relay storage traffic for members, bounded by a daily
   * byte budget per member and a rate (true: the defaults). `client`: hold reservations on relays we are
   * connected to: `auto` (default) while no address of ours is dialled back, `true` always, `false` never.
   */
  relay?: { server?: boolean | RelayServerInit; client?: boolean | 'auto' };
  /** Reachability checks, kept connections and reservations (src/net/reachability.ts); false: none (default on). */
  reachability?: false | Omit<ReachabilityInit, 'relayClient' | 'upnp' | 'relayServer' | 'book'>;
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
  /** Keep-alive pings: interval and least timeout (ms; default CONNECTION_PING_INTERVAL_MS, CONNECTION_PING_TIMEOUT_MS). Tests shorten them. */
  keepAlive?: { intervalMs?: number; timeoutMs?: number };
  /** Refuse inbound connections (tests: a peer behind a firewall, whose listen address answers TCP but
   *  nobody can connect to it; the relay's own rules still apply). */
  denyInbound?: boolean;
  server?: StorageServerOptions;
  client?: StorageClientOptions;
}

export interface P2PNode {
  readonly libp2p: Libp2p<{ dht: KadDHT; ping: Ping }>;
  readonly peerId: PeerId;
  /** How storage traffic reaches each peer (direct, own connection, relay), and the path used last. */
  readonly paths: PathSelector;
  /** How others reach us (null when turned off). */
  readonly reachability: Reachability | null;
  /** The relay we serve (null unless relay.server). */
  readonly relay: RelayServer | null;
  /** Keep-alive of our connections (src/net/keepalive.ts). */
  readonly keepAlive: KeepAlive;
  multiaddrs(): Multiaddr[];
  /** A client for one remote storage peer. */
  storage(peer: PeerId | Multiaddr | string): StorageClient;
  /**
   * Up to `count` peers closest (Kademlia XOR over sha256) to `key`, excluding ourselves: the peers a DHT walk
   * met (those that answered and those they named: peers behind NAT answer nobody) merged with currently
   * connected peers (fallback when the DHT returns fewer), sorted by distance.
   */
  closestPeers(key: Uint8Array, count: number, opts?: { signal?: AbortSignal }): Promise<PeerId[]>;
  /** Best-effort: announce that we hold shares of `si`. Resolves false on timeout or failure. */
  provide(si: Uint8Array, opts?: { signal?: AbortSignal; timeoutMs?: number }): Promise<boolean>;
  /** Best-effort: peers announcing shares of `si` (may be empty in small swarms: see docs/PROTOCOL.md). */
  findProviders(si: Uint8Array, opts?: { signal?: AbortSignal; timeoutMs?: number; max?: number }): Promise<PeerId[]>;
  stop(): Promise<void>;
}

export async function createNode(init: NodeInit = {}): Promise<P2PNode> {
  installYamuxWindowUpdates(); // window updates once half a window is used (src/net/yamux-window.ts)
  installLazySelect(); // storage streams select their protocol with their first request (src/net/lazy-select.ts)
  const peerDiscovery = [];
  // Dialled at start: the module's default waits 1 s first, and a daemon's first request (a backup right after it
  // started) waited for that dial.
  if (init.bootstrap?.length) peerDiscovery.push(bootstrap({ list: init.bootstrap, timeout: 0 }));
  // mDNS and UPnP are imported only when asked for: together about 5 MiB of every idle node otherwise (their
  // modules, multicast-dns, an XML parser), for a peer that has both off (UPnP by default; swarms and containers mDNS).
  if (init.mdns ?? true) peerDiscovery.push((await import('@libp2p/mdns')).mdns());
  const uPnPNAT = init.upnp ? (await import('@libp2p/upnp-nat')).uPnPNAT : null;
  const relayServer = init.relay?.server ? createRelayServer(init.relay.server === true ? {} : init.relay.server) : null;
  // Started only once the storage and dial-back handlers are registered: a peer that identified us in between
  // would record us as serving no storage (and leave us out of its candidates) until identify ran again.
  const libp2p = await createLibp2p({
    logger: libp2pLogger(), // quiet unless DEBUG is set (src/net/quiet-log.ts)
    start: false,
    privateKey: init.privateKey,
    addresses: {
      // No /p2p-circuit listen address: libp2p would look for relays by a DHT random walk that never stops
      // while none answers; reservations are taken by src/net/reachability.ts on relays we are connected to.
      listen: init.listen ?? DEFAULT_LISTEN,
      ...(init.announce?.length ? { announce: init.announce } : {})
    },
    transports: [tcpCorked(), circuitRelayTransport()], // writes corked: one writev per batch (src/net/tcp-writes.ts)
    connectionEncrypters: [noiseLean()], // noise(), without a copy of each message that spans reads (noise-decrypt.ts)
    // Yamux keeps its own ping (one 12-byte frame each way every 30 s, no stream): its round trip is what lets a
    // stream's receive window grow past 256 KiB (up to 16 MiB, when a window drains within 4 round trips).
    // Without it every stream is held to 256 KiB per round trip: 2.6 MB/s at 100 ms, whatever the link.
    // Its ping is also what tells our keep-alive (src/net/keepalive.ts) that an idle connection is alive.
    streamMuxers: [yamux({ keepAliveInterval: YAMUX_KEEPALIVE_MS })],
    // Keep-alive is ours (src/net/keepalive.ts): libp2p's monitor pinged every connection from both ends every
    // interval, most of an idle peer's CPU in a swarm of 20 and more.
    connectionMonitor: { enabled: false },
    // A new stream's first bytes wait behind what its connection already queued (PROTOCOL_NEGOTIATION_TIMEOUT_MS).
    connectionManager: {
      inboundStreamProtocolNegotiationTimeout: PROTOCOL_NEGOTIATION_TIMEOUT_MS,
      outboundStreamProtocolNegotiationTimeout: PROTOCOL_NEGOTIATION_TIMEOUT_MS
    },
    connectionProtector: init.swarmKey !== undefined ? preSharedKey({ psk: parseSwarmKey(init.swarmKey) }) : undefined,
    connectionGater: {
      ...relayServer?.gater,
      ...(init.denyInbound ? { denyInboundConnection: () => true } : {})
    },
    peerDiscovery,
    services: {
      identify: identify(),
      // Tells connected peers at once when our addresses (a confirmed public one, a UPnP mapping) or
      // protocols (the own-connections marker) change, instead of at their next connection.
      identifyPush: identifyPush(),
      ping: ping({ maxInboundStreams: PING_STREAMS, maxOutboundStreams: PING_STREAMS }),
      dcutr: dcutr(),
      addresses: addressBook(),
      ...(relayServer ? { relay: relayServer.service } : {}),
      // autoConfirmAddress: the mapped address is announced as soon as the router grants it. Without it
      // upnp-nat requires @libp2p/autonat (the node did not even start) and waits for several peers to
      // dial the address back, which a small swarm may never provide. The router's own answer is our
      // evidence; libp2p still refuses a private external address (double NAT: nothing to gain).
      ...(uPnPNAT ? { upnp: uPnPNAT({ portMappingDescription: 'p2pbackup', autoConfirmAddress: true }) } : {}),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        clientMode: false,
        // Every query waits for the first self-query, which kad-dht starts 1 s after start (it then waits for a peer
        // in its routing table). Started at once, it still runs only once a peer is known, and a daemon's first
        // lookup (its first backup's lock, an upload's candidates) does not wait out the rest of that second.
        initialQuerySelfInterval: 0,
        peerInfoMapper: (init.lanOnly ?? true) ? removePublicAddressesMapper : passthroughMapper
      })
    }
  });
  relayServer?.attach(libp2p);
  let unserve: (() => Promise<void>) | undefined;
  if (init.store) unserve = await serveStorage(libp2p, init.store, init.server);
  // Every peer answers dial-back requests: that is how others learn whether they can be dialled.
  const undialback = await serveDialback(libp2p);
  await libp2p.start();
  const paths = createPathSelector(libp2p);
  const reachability =
    init.reachability === false
      ? null
      : createReachability(libp2p, {
          ...init.reachability,
          relayClient: init.relay?.client ?? 'auto',
          upnp: init.upnp === true,
          relayServer,
          book: libp2p.services.addresses
        });
  reachability?.start();
  // A connection silent for CONNECTION_PING_INTERVAL_MS is pinged, and aborted when the ping has no answer within
  // CONNECTION_PING_TIMEOUT_MS. libp2p's monitor pinged every connection each 10 s and aborted it when a ping
  // took longer than 5 s (at least): behind a slow uplink (or a relay's) shares queue several seconds of data
  // ahead of a ping, and through a relay shaped to 40 Mbit/s every circuit was aborted mid-upload, and over a
  // direct 40 Mbit/s uplink the client's own connections to its storage peers (bench wan). Requests have their
  // own deadlines meanwhile.
  const keepAlive = startKeepAlive(libp2p, {
    intervalMs: init.keepAlive?.intervalMs ?? CONNECTION_PING_INTERVAL_MS,
    timeoutMs: init.keepAlive?.timeoutMs ?? CONNECTION_PING_TIMEOUT_MS
  });
  // By peer id, storage traffic takes the best path (src/net/paths.ts); a multiaddr is dialled as given.
  const connect = (peer: PeerId | Multiaddr, signal: AbortSignal) => paths.connect(peer as PeerId, signal).then((x) => x.connection);

  // READ requests in flight to one peer, over all its clients (StorageClientOptions.readGate).
  const readGates = keyedLimiter(READ_REQUESTS_PER_PEER);
  // Nobody to ask: no bootstrap peer to wait for, no DHT peer, no connection, no dial under way (mDNS finding a
  // peer dials it). kad-dht holds a query until a peer joins its routing table, so a lone node's walk took its
  // whole deadline (10 s; 15 s for provider records) to find nothing: `put` with no peer reported "no storage
  // peers" after 10.4 s instead of 0.4 s (test/cli/cli.test.ts). A node with a bootstrap list still waits: at
  // start its first dial comes a moment after the node does, and its bootstrap peers may come back.
  const routingTable = (libp2p.services.dht as Partial<SingleKadDHT>).routingTable;
  const alone = () => !init.bootstrap?.length && routingTable?.size === 0 && libp2p.getConnections().length === 0 && libp2p.getDialQueue().length === 0;
  const node: P2PNode = {
    libp2p,
    peerId: libp2p.peerId,
    paths,
    reachability,
    relay: relayServer,
    multiaddrs: () => libp2p.getMultiaddrs(),
    storage(peer) {
      const target = typeof peer === 'string' ? (peer.startsWith('/') ? multiaddr(peer) : peerIdFromString(peer)) : peer;
      const key = 'toMultihash' in target ? target.toString() : (target.getComponents().findLast((c) => c.name === 'p2p')?.value ?? target.toString());
      const readGate = <T>(task: () => Promise<T>) => readGates.run(key, task);
      return new StorageClient(libp2p, target, { ...init.client, readGate, ...('toMultihash' in target ? { connect } : {}) });
    },
    async closestPeers(key, count, opts = {}) {
      const found = new Map<string, PeerId>();
      const self = libp2p.peerId.toString();
      const signal = AbortSignal.any([AbortSignal.timeout(CLOSEST_PEERS_TIMEOUT_MS), ...(opts.signal ? [opts.signal] : [])]);
      if (alone()) return [];
      try {
        // Final peers are those that answered our queries; a peer behind NAT never does (we cannot dial it),
        // yet others reach it over its own connections or a relay: the peers our queries were told of count too.
        for await (const ev of libp2p.services.dht.getClosestPeers(key, { signal })) {
          const infos = ev.name === 'FINAL_PEER' ? [ev.peer] : ev.name === 'PEER_RESPONSE' ? ev.closer : [];
          for (const info of infos) {
            const id = info.id.toString();
            if (id !== self) found.set(id, info.id);
          }
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
      if (alone()) return false;
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
      if (alone()) return [];
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
    keepAlive,
    async stop() {
      clearInterval(redial);
      keepAlive.stop();
      reachability?.stop();
      await undialback().catch(() => {});
      await unserve?.().catch(() => {});
      await libp2p.stop();
    }
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
  if (peers.length < closest) return false; // with self, at most `closest` peers: self is among the closest
  const ranked = rankByDistance(key, [self, ...peers.filter((p) => !p.equals(self))]);
  return ranked.findIndex((p) => p.equals(self)) >= closest;
}

export { rankByDistance };

/** CIDv1 (raw codec) of sha256(si): the DHT key under which shares of `si` are announced. */
export async function siToCid(si: Uint8Array): Promise<CID> {
  return CID.createV1(0x55, await sha256.digest(si));
}
