// How this node reaches a peer for storage traffic, in order of preference (docs/PROTOCOL.md §Reachability):
//   direct          a connection we dialled to one of its own addresses (or a fresh direct dial);
//   own-connection  the connection the peer opened to us (a peer behind NAT keeps some open on purpose);
//   relay           a circuit through a relay peer (circuit relay v2) both of us are connected to.
// A connection that is open is used as it is (a working connection is never replaced by a dial); with none,
// a direct dial is tried unless one failed recently, and if it has not connected within DIRECT_HEAD_START_MS
// relays are tried alongside it (first those the peer's own addresses name, then every relay we are
// connected to); the first to connect wins. The path used last for each peer is remembered for the API.
// const paths = createPathSelector(libp2p); const { connection, path } = await paths.connect(peerId, signal);
import type { Connection, Libp2p, PeerId } from '@libp2p/interface';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { peerIdFromString } from '@libp2p/peer-id';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { untilAborted } from '../common/wait.ts';
import {
  CONNECT_TIMEOUT_MS,
  DIRECT_DIAL_TIMEOUT_MS,
  DIRECT_HEAD_START_MS,
  DIRECT_RETRY_MS,
  OWN_CONNECTIONS_PROTOCOL,
  RELAY_HOP_PROTOCOL,
  RELAY_TRIES
} from './constants.ts';

export type PathKind = 'direct' | 'own-connection' | 'relay';

export interface PathInfo {
  kind: PathKind;
  /** The relay's peer id (kind relay), else null. */
  relay: string | null;
  /** The connection's remote address as libp2p reports it. */
  remoteAddr: string;
}

const CIRCUIT = '/p2p-circuit';

/**
 * The path a connection is: relayed if its address goes through /p2p-circuit; else `own-connection` if the
 * peer dialled us and says nobody can dial it (it handles OWN_CONNECTIONS_PROTOCOL, see reachability.ts);
 * else direct (we dialled it, or a peer that could be dialled happened to dial us first).
 */
export function classify(conn: Pick<Connection, 'remoteAddr' | 'direction'>, undialable = false): PathInfo {
  const addr = conn.remoteAddr.toString();
  const i = addr.indexOf(CIRCUIT);
  if (i >= 0) {
    const relay = /\/p2p\/([^/]+)$/.exec(addr.slice(0, i))?.[1] ?? null;
    return { kind: 'relay', relay, remoteAddr: addr };
  }
  return { kind: conn.direction === 'inbound' && undialable ? 'own-connection' : 'direct', relay: null, remoteAddr: addr };
}

/** Rank of a path (lower is preferred). */
const RANK: Record<PathKind, number> = { direct: 0, 'own-connection': 1, relay: 2 };

/** The best open connection to a peer (not a limited one: storage does not run on those), or null. */
export function bestConnection(conns: Connection[], undialable = false): { connection: Connection; path: PathInfo } | null {
  let best: { connection: Connection; path: PathInfo } | null = null;
  for (const c of conns) {
    if (c.status !== 'open' || c.limits != null) continue;
    const path = classify(c, undialable);
    if (!best || RANK[path.kind] < RANK[best.path.kind]) best = { connection: c, path };
  }
  return best;
}

export interface PathSelector {
  /** An open connection to `peer` and the path it takes; throws the last dial error when no path works. */
  connect(peer: PeerId, signal: AbortSignal): Promise<{ connection: Connection; path: PathInfo }>;
  /** The path used last to reach `peer` (null if never). */
  last(peer: string): PathInfo | null;
  /** How `peer` is reached right now: its best open connection's path, or null when not connected. */
  current(peer: string): PathInfo | null;
  /** Whether a direct dial to `peer` failed recently (so relays go first). */
  directFailed(peer: string): boolean;
}

export interface PathSelectorInit {
  directDialTimeoutMs?: number;
  directRetryMs?: number;
  /** A whole connect (direct, then relays) gives up after this long (ms). */
  connectTimeoutMs?: number;
  now?: () => number;
}

export function createPathSelector(libp2p: Libp2p, init: PathSelectorInit = {}): PathSelector {
  const directTimeout = init.directDialTimeoutMs ?? DIRECT_DIAL_TIMEOUT_MS;
  const directRetry = init.directRetryMs ?? DIRECT_RETRY_MS;
  const now = init.now ?? Date.now;
  const connectTimeout = init.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
  const lastPath = new Map<string, PathInfo>();
  // Peers that say nobody can dial them (identify's protocol list, kept current by identify push).
  const undialable = new Set<string>();
  const noteProtocols = (peer: PeerId, protocols: string[]) => {
    if (protocols.includes(OWN_CONNECTIONS_PROTOCOL)) undialable.add(peer.toString());
    else undialable.delete(peer.toString());
  };
  libp2p.addEventListener('peer:update', (e) => noteProtocols(e.detail.peer.id, e.detail.peer.protocols));
  libp2p.addEventListener('peer:identify', (e) => noteProtocols(e.detail.peerId, e.detail.protocols));
  const best = (peer: PeerId) => bestConnection(libp2p.getConnections(peer), undialable.has(peer.toString()));
  // When a direct dial to a peer failed, and to which of its addresses: new addresses (it restarted on another
  // port, or moved) are worth a dial at once.
  const directFailedAt = new Map<string, { at: number; addrs: string }>();
  // Concurrent requests to one peer (the shares of a pack, a download's reads) share one connect.
  const pending = new Map<string, Promise<{ connection: Connection; path: PathInfo }>>();

  const directFailed = (id: string, addrs?: string) => {
    const failed = directFailedAt.get(id);
    if (failed === undefined) return false;
    if (now() - failed.at < directRetry) return addrs === undefined || addrs === failed.addrs;
    directFailedAt.delete(id);
    return false;
  };

  const peerAddrs = async (peer: PeerId): Promise<Multiaddr[]> =>
    libp2p.peerStore.get(peer).then(
      (p) => p.addresses.map((a) => a.multiaddr),
      () => []
    );
  const directAddrs = async (peer: PeerId): Promise<Multiaddr[]> => (await peerAddrs(peer)).filter((a) => !a.toString().includes(CIRCUIT));
  const addrsKey = (addrs: Multiaddr[]) =>
    addrs
      .map((a) => a.toString())
      .sort()
      .join(' ');

  /** Relays to try for `peer`: those named by its circuit addresses first, then every relay we are connected to. */
  const relaysFor = async (peer: PeerId): Promise<{ relay: string; addr: Multiaddr }[]> => {
    const out = new Map<string, Multiaddr>();
    for (const a of await peerAddrs(peer)) {
      const s = a.toString();
      const i = s.indexOf(CIRCUIT);
      if (i < 0) continue;
      const relay = /\/p2p\/([^/]+)$/.exec(s.slice(0, i))?.[1];
      if (relay && !out.has(relay)) out.set(relay, multiaddr(`${s.slice(0, i)}${CIRCUIT}/p2p/${peer}`));
    }
    const self = libp2p.peerId.toString();
    for (const conn of libp2p.getConnections()) {
      const relay = conn.remotePeer.toString();
      if (out.has(relay) || relay === peer.toString() || relay === self || conn.remoteAddr.toString().includes(CIRCUIT)) continue;
      const protocols = await libp2p.peerStore.get(conn.remotePeer).then(
        (p) => p.protocols,
        (): string[] => []
      );
      if (protocols.includes(RELAY_HOP_PROTOCOL)) out.set(relay, multiaddr(`/p2p/${relay}${CIRCUIT}/p2p/${peer}`));
    }
    return [...out].slice(0, RELAY_TRIES).map(([relay, addr]) => ({ relay, addr }));
  };

  const remember = (peer: PeerId, connection: Connection) => {
    const path = classify(connection, undialable.has(peer.toString()));
    lastPath.set(peer.toString(), path);
    return { connection, path };
  };

  /** A direct connection to `peer` (its own addresses; libp2p looks it up when we know none). */
  async function dialDirect(peer: PeerId, existing: boolean, signal: AbortSignal): Promise<Connection> {
    const id = peer.toString();
    const direct = await directAddrs(peer);
    if (!direct.length && existing) throw new Error(`no direct address known for ${id}`);
    // Nothing known at all: let libp2p look the peer up (DHT) and pick, as it did before paths existed.
    const target = direct.length ? direct.map((a) => (a.getComponents().some((c) => c.name === 'p2p') ? a : a.encapsulate(`/p2p/${id}`))) : peer;
    try {
      // force: an open relayed connection would otherwise be handed back instead of a direct one.
      const conn = await libp2p.dial(target, { signal: AbortSignal.any([signal, AbortSignal.timeout(directTimeout)]), force: existing });
      if (conn.limits != null) throw new Error(`only a limited (control-traffic) connection to ${id}`);
      return conn;
    } catch (err) {
      if (direct.length && !signal.aborted) directFailedAt.set(id, { at: now(), addrs: addrsKey(direct) });
      throw err;
    }
  }

  /** A circuit to `peer` through the first relay that has it (relays tried one after the other). */
  async function dialRelayed(peer: PeerId, relays: { addr: Multiaddr }[], signal: AbortSignal): Promise<Connection> {
    let lastErr: unknown = new Error(`no relay known that could reach ${peer}`);
    for (const { addr } of relays) {
      signal.throwIfAborted();
      try {
        const conn = await libp2p.dial(addr, { signal });
        if (conn.limits == null) return conn;
        lastErr = new Error(`relay ${addr} grants only a limited (control-traffic) circuit`);
      } catch (err) {
        signal.throwIfAborted();
        lastErr = err;
      }
    }
    throw lastErr;
  }

  async function open(peer: PeerId, signal: AbortSignal): Promise<{ connection: Connection; path: PathInfo }> {
    const id = peer.toString();
    const existing = best(peer);
    if (existing && existing.path.kind !== 'relay') return remember(peer, existing.connection);
    const relays = await relaysFor(peer);
    // A direct dial that failed lately is skipped while a relay may reach the peer and its addresses are the
    // same; with no relay to try it is the only way (a peer killed and restarted, say), so it is tried again.
    const skipDirect = relays.length > 0 && directFailed(id, addrsKey(await directAddrs(peer)));
    const direct = skipDirect ? null : dialDirect(peer, existing != null, signal);
    direct?.catch(() => {}); // awaited below, or abandoned once a relay won
    if (direct) {
      // Happy eyeballs (RFC 8305's idea): the direct path gets a head start; a relay is tried only if it
      // has not connected by then. A direct dial to a peer behind NAT may hang for its whole timeout
      // (libp2p joins concurrent dials to one peer), and that must not cost every request its deadline.
      const early = await Promise.race([
        direct.then(
          (c) => c,
          () => null
        ),
        sleep(DIRECT_HEAD_START_MS, signal).then(() => undefined)
      ]);
      if (early) return remember(peer, early);
    }
    if (existing) {
      // A relayed connection is open: keep using it; a direct one that connects later is taken next time.
      return remember(peer, existing.connection);
    }
    const relayed = dialRelayed(peer, relays, signal);
    relayed.catch(() => {});
    const attempts = direct ? [direct, relayed] : [relayed];
    try {
      return remember(peer, await Promise.any(attempts));
    } catch (err) {
      signal.throwIfAborted();
      // Every path failed: the relay's reason says most (the direct one is expected to fail behind NAT).
      throw (err as AggregateError).errors?.at(-1) ?? err;
    }
  }

  return {
    connect(peer, signal) {
      const id = peer.toString();
      // A connection that is open already needs no shared dial (and no await: hot path of every request).
      const existing = best(peer);
      if (existing && existing.path.kind !== 'relay') return Promise.resolve(remember(peer, existing.connection));
      let p = pending.get(id);
      if (!p) {
        // Its own deadline, not the first caller's signal: a caller that gives up must not fail the others.
        p = open(peer, AbortSignal.timeout(connectTimeout)).finally(() => pending.delete(id));
        pending.set(id, p);
      }
      return untilAborted(p, signal);
    },
    last: (peer) => lastPath.get(peer) ?? null,
    current(peer) {
      let id: PeerId;
      try {
        id = peerIdFromString(peer);
      } catch {
        return null;
      }
      return best(id)?.path ?? null;
    },
    directFailed
  };
}

/** Resolves after `ms` (never rejects: an aborted signal resolves it early, the caller checks the signal). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return sleepFor(ms, undefined, { signal }).catch(() => {});
}
