// How others reach this peer, found out and acted on (docs/PROTOCOL.md §Reachability):
//   1. check: ask up to REACH_CHECK_PEERS connected peers to dial us back (src/net/dialback.ts), per address
//      family, soon after start, again while unknown, then every REACH_CHECK_INTERVAL_MS and whenever our
//      addresses change (a UPnP mapping appears);
//   2. keep: while no address of ours is confirmed dialable, keep outbound connections open to a bounded set
//      of peers (relays first, then the KEEP_CONNECTIONS peers nearest to us by XOR distance, i.e. our DHT
//      neighbourhood, or everyone in a small swarm); those peers store on us and read from us over them;
//   3. relay: until dialable (relay client `auto`, the default) or always (`true`), hold a reservation
//      on up to RELAY_RESERVATIONS relays we are connected to, so that peers which cannot reach us otherwise
//      (behind their own NAT) come through a relay.
// report() says it all for `status` and the API: ways (public, upnp, ipv6, own-connections, relay), the
// confirmed addresses and who confirmed them, the relays, the kept connections, and the relay we serve.
// const reach = createReachability(libp2p, { relayClient: 'auto' }); reach.start(); reach.report().summary
import type { Connection, Libp2p, PeerId } from '@libp2p/interface';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { networkInterfaces } from 'node:os';
import {
  DIALBACK_PROTOCOL,
  OWN_CONNECTIONS_PROTOCOL,
  KEEP_BACKOFF_MAX_MS,
  KEEP_BACKOFF_MS,
  KEEP_CONNECTIONS,
  KEEP_INTERVAL_MS,
  REACH_CHECK_INTERVAL_MS,
  REACH_CHECK_PEERS,
  REACH_FIRST_CHECK_MS,
  REACH_RETRY_MS,
  RELAY_HOP_PROTOCOL,
  RELAY_RENEW_MS,
  RELAY_RESERVATIONS,
  STORAGE_PROTOCOL
} from './constants.ts';
import { formatTcp, requestDialback, tcpAddr, type TcpAddr } from './dialback.ts';
import { rankByDistance } from './distance.ts';
import { reserveOn, type RelayServer, type RelayStats } from './relay.ts';

export type ReachWay = 'public' | 'upnp' | 'ipv6' | 'own-connections' | 'relay';
export type AddressKind = 'public' | 'upnp' | 'ipv6';

export interface ReachabilityReport {
  /** How others reach this peer, best first. Empty: nobody can yet (or not checked yet). */
  ways: ReachWay[];
  /** One line for people, e.g. "public (/ip4/203.0.113.5/tcp/7171), IPv6" or "own connections (12 kept); relay 12D3…". */
  summary: string;
  /** Some address of ours was dialled back; null before the first answer. */
  dialable: boolean | null;
  /** When peers last answered a dial-back request (ms since epoch), null if never. */
  checkedAt: number | null;
  /** Addresses confirmed by dial-back, with the peers that dialled them. */
  confirmed: { address: string; kind: AddressKind; by: string[] }[];
  /** Addresses peers tried and could not dial. */
  unconfirmed: string[];
  /** Relay reservations held: peers behind NAT reach us through these. */
  relays: { peer: string; expiresAt: number }[];
  /** Outbound connections kept open for others to reach us over (target 0 while dialable). */
  ownConnections: { kept: number; target: number };
  /** The relay this peer serves (`--relay-server`), null if none. */
  relayServer: RelayStats | null;
}

/**
 * Our addresses as libp2p's address manager holds them, verified or not, and the means to say which a
 * peer dialled back. libp2p 3 announces a public address only once something confirmed it (AutoNAT, a
 * UPnP mapping): without this a peer with a public address would announce none. A libp2p service, since
 * services are what libp2p hands its internal components to: `services: { addresses: addressBook() }`.
 */
export interface AddressBook {
  /** Every address of ours: listen (transport), mapped (UPnP, ip-mapping), announced, observed. */
  all(): { multiaddr: Multiaddr; verified: boolean; type: string }[];
  confirm(ma: Multiaddr, type: 'transport' | 'observed' | 'ip-mapping'): void;
  unconfirm(ma: Multiaddr): void;
}

interface AddressManagerLike {
  getAddressesWithMetadata(): { multiaddr: Multiaddr; verified: boolean; type: string }[];
  confirmObservedAddr(ma: Multiaddr, o?: { type?: string }): void;
  removeObservedAddr(ma: Multiaddr): void;
}

export function addressBook(): (components: { addressManager: AddressManagerLike }) => AddressBook {
  return ({ addressManager }) => ({
    all: () => addressManager.getAddressesWithMetadata(),
    confirm: (ma, type) => addressManager.confirmObservedAddr(ma, { type }),
    unconfirm: (ma) => addressManager.removeObservedAddr(ma)
  });
}

export interface ReachabilityInit {
  /** Reserve on relays: `auto` (default) while not dialable, `true` always, `false` never. */
  relayClient?: boolean | 'auto';
  /** A UPnP mapping was asked for: a confirmed address that is none of our interfaces' is counted as it. */
  upnp?: boolean;
  /** Connections kept while not dialable (default KEEP_CONNECTIONS; 0: none). */
  keep?: number;
  relayServer?: RelayServer | null;
  /** Our addresses, verified or not, and where confirmations go (without it: the announced ones only). */
  book?: AddressBook;
  /** Intervals (ms), for tests. */
  firstCheckMs?: number;
  retryMs?: number;
  checkIntervalMs?: number;
  keepIntervalMs?: number;
  /** Where to log what changed (core code never prints). */
  onEvent?: (e: { type: 'reachability'; dialable: boolean | null; summary: string }) => void;
}

export interface Reachability {
  start(): void;
  stop(): void;
  report(): ReachabilityReport;
  /** Run a dial-back check now (tests); resolves when peers answered or gave up. */
  check(): Promise<void>;
  /** One keep/reserve pass now (tests). */
  maintain(): Promise<void>;
}

const KEEP_TAG = 'p2pbackup-keep';
const KEEP_TAG_VALUE = 100; // above libp2p's defaults, so the connection pruner spares kept peers
const KEEP_DIAL_TIMEOUT_MS = 10_000;
const KEEP_DIAL_CONCURRENCY = 4;
const CHECK_TIMEOUT_MS = 30_000; // one peer's dial-back answer, its dials (up to 4 x 5 s) included
const RESERVE_TIMEOUT_MS = 10_000;
const STARTUP_MS = 30_000; // ticks every firstCheckMs for this long after start
const WALK_STARTUP_MS = 10_000; // neighbourhood walks while starting (peers still announcing their addresses) ...
const WALK_MS = 5 * 60_000; // ... and afterwards, while not dialable
const WALK_TIMEOUT_MS = 10_000;

const isCircuit = (c: Connection) => c.remoteAddr.toString().includes('/p2p-circuit');

/** Link-local addresses are never dialled from elsewhere: not worth a dial-back. (Loopback is: a swarm of
 *  peers on one machine reaches each other there, and the server dials only what it sees us at.) */
function testable(a: TcpAddr): boolean {
  if (a.family === 4) return !a.ip.startsWith('169.254.');
  return !a.ip.toLowerCase().startsWith('fe80');
}

function localIps(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) out.add(i.address.toLowerCase());
  return out;
}

export function createReachability(libp2p: Libp2p, init: ReachabilityInit = {}): Reachability {
  const relayClient = init.relayClient ?? 'auto';
  const keepMax = init.keep ?? KEEP_CONNECTIONS;
  const firstCheck = init.firstCheckMs ?? REACH_FIRST_CHECK_MS;
  const retry = init.retryMs ?? REACH_RETRY_MS;
  const checkInterval = init.checkIntervalMs ?? REACH_CHECK_INTERVAL_MS;
  const keepInterval = init.keepIntervalMs ?? KEEP_INTERVAL_MS;
  const self = libp2p.peerId.toString();

  let dialable: boolean | null = null;
  let checkedAt: number | null = null;
  let confirmed = new Map<string, Set<string>>();
  let unconfirmed = new Set<string>();
  let lastAddrs = '';
  let nextCheckAt = 0;
  let checking: Promise<void> | null = null;
  let maintaining: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let stopped = true;
  let startedAt = 0;
  let lastWalk = 0;
  let lastSummary = '';
  const reservations = new Map<string, number>(); // relay -> expiresAt
  const kept = new Set<string>();
  const keepBackoff = new Map<string, { until: number; ms: number }>();

  const protocolsOf = (p: PeerId) =>
    libp2p.peerStore.get(p).then(
      (x) => x.protocols,
      (): string[] => []
    );

  /** Our addresses worth testing: listen addresses, mappings and announced ones, verified or not (not those
   *  peers merely observed: behind NAT their port is the NAT's, which nothing forwards). */
  const ownAddrs = (): (TcpAddr & { ma: Multiaddr; type: string })[] => {
    const out = new Map<string, TcpAddr & { ma: Multiaddr; type: string }>();
    const all = init.book ? init.book.all() : libp2p.getMultiaddrs().map((multiaddr) => ({ multiaddr, verified: true, type: 'transport' }));
    for (const { multiaddr: ma, type } of all) {
      if (type === 'observed') continue;
      const a = tcpAddr(ma);
      if (a && testable(a)) out.set(formatTcp(a), { ...a, ma, type });
    }
    return [...out.values()];
  };

  /** Say to our peers (identify's protocol list) whether we can be dialled: they label our connections by it. */
  let marked = false;
  async function mark(undialable: boolean): Promise<void> {
    if (undialable === marked || stopped) return;
    marked = undialable;
    if (undialable)
      await libp2p
        .handle(OWN_CONNECTIONS_PROTOCOL, (stream) => {
          stream.abort(new Error('a marker, not a service'));
        })
        .catch(() => {});
    else await libp2p.unhandle(OWN_CONNECTIONS_PROTOCOL).catch(() => {});
  }

  /** Tell libp2p which of our addresses were dialled back (so it announces them) and which no longer are. */
  function record(addrs: (TcpAddr & { ma: Multiaddr; type: string })[], ok: Set<string>, failed: Set<string>): void {
    if (!init.book) return;
    for (const a of addrs) {
      const key = formatTcp(a);
      if (ok.has(key)) init.book.confirm(a.ma, a.type === 'ip-mapping' ? 'ip-mapping' : 'transport');
      else if (failed.has(key)) init.book.unconfirm(a.ma);
    }
    // A dialled-back address that is none of ours (a port forwarded by hand to our port): announce it too.
    const mine = new Set(addrs.map(formatTcp));
    for (const key of ok) if (!mine.has(key)) init.book.confirm(multiaddr(key), 'observed');
  }

  async function runCheck(): Promise<void> {
    const addrs = ownAddrs();
    lastAddrs = addrs.map(formatTcp).sort().join(' ');
    if (addrs.length === 0) {
      // Nothing to test (no listen address at all): only own connections and relays can reach us.
      dialable = false;
      checkedAt = Date.now();
      await mark(true);
      return;
    }
    const newConfirmed = new Map<string, Set<string>>();
    const newUnconfirmed = new Set<string>();
    let answered = false;
    for (const family of [4, 6] as const) {
      const mine = addrs.filter((a) => a.family === family).map(formatTcp);
      if (mine.length === 0) continue;
      // Peers connected to us directly over this family (the server tests the address it sees us at).
      const asked = new Set<string>();
      const conns: Connection[] = [];
      for (const c of libp2p.getConnections()) {
        if (c.status !== 'open' || isCircuit(c) || asked.has(c.remotePeer.toString())) continue;
        if (tcpAddr(c.remoteAddr)?.family !== family) continue;
        if (!(await protocolsOf(c.remotePeer)).includes(DIALBACK_PROTOCOL)) continue;
        asked.add(c.remotePeer.toString());
        conns.push(c);
        if (conns.length >= REACH_CHECK_PEERS) break;
      }
      const answers = await Promise.all(
        conns.map(async (c) => {
          try {
            return { peer: c.remotePeer.toString(), results: await requestDialback(c, mine, AbortSignal.timeout(CHECK_TIMEOUT_MS)) };
          } catch {
            return null;
          }
        })
      );
      for (const a of answers) {
        if (!a) continue;
        answered = true;
        for (const r of a.results) {
          if (r.ok) {
            if (!newConfirmed.has(r.addr)) newConfirmed.set(r.addr, new Set());
            newConfirmed.get(r.addr)!.add(a.peer);
          } else newUnconfirmed.add(r.addr);
        }
      }
    }
    if (!answered) return; // nobody to ask yet: the state stays what it was
    for (const a of newConfirmed.keys()) newUnconfirmed.delete(a);
    record(addrs, new Set(newConfirmed.keys()), newUnconfirmed);
    confirmed = newConfirmed;
    unconfirmed = newUnconfirmed;
    dialable = confirmed.size > 0;
    checkedAt = Date.now();
    await mark(!dialable);
  }

  function check(): Promise<void> {
    checking ??= runCheck().finally(() => {
      checking = null;
      nextCheckAt = Date.now() + (dialable === null ? retry : checkInterval);
      const s = report().summary;
      if (s !== lastSummary) {
        lastSummary = s;
        init.onEvent?.({ type: 'reachability', dialable, summary: s });
      }
    });
    return checking;
  }

  /** Peers to keep connections to: relays first, then the nearest storage peers by XOR distance to us. */
  async function keepSet(): Promise<PeerId[]> {
    const relays: PeerId[] = [];
    const others: PeerId[] = [];
    for (const p of await libp2p.peerStore.all()) {
      if (p.id.toString() === self) continue;
      if (!p.addresses.some((a) => !a.multiaddr.toString().includes('/p2p-circuit'))) continue;
      if (p.protocols.includes(RELAY_HOP_PROTOCOL)) relays.push(p.id);
      else if (p.protocols.length === 0 || p.protocols.includes(STORAGE_PROTOCOL)) others.push(p.id);
    }
    const nearest = rankByDistance(libp2p.peerId.toMultihash().bytes, others);
    return [...relays, ...nearest].slice(0, Math.max(keepMax, relays.length));
  }

  /** A DHT walk toward our own id: the peers it meets (and their current addresses) fill the peer store the
   *  kept set is chosen from. Kad-DHT refreshes its table only every few minutes, and a public peer's
   *  address reaches the others only once it was dialled back, after we may have first heard of it. */
  async function walkNeighbourhood(): Promise<void> {
    lastWalk = Date.now();
    try {
      for await (const _ of libp2p.peerRouting.getClosestPeers(libp2p.peerId.toMultihash().bytes, { signal: AbortSignal.timeout(WALK_TIMEOUT_MS) })) {
        /* met: in the peer store now */
      }
    } catch {
      /* a walk that failed: the next one */
    }
  }

  async function keep(): Promise<void> {
    if (dialable !== true && keepMax > 0 && Date.now() - lastWalk >= (Date.now() - startedAt < STARTUP_MS ? WALK_STARTUP_MS : WALK_MS))
      await walkNeighbourhood();
    const want = dialable === true || keepMax === 0 ? [] : await keepSet();
    const wanted = new Set(want.map(String));
    for (const id of [...kept]) {
      if (wanted.has(id)) continue;
      kept.delete(id);
      const p = want.find((x) => x.toString() === id) ?? libp2p.getPeers().find((x) => x.toString() === id);
      if (p) await libp2p.peerStore.merge(p, { tags: { [KEEP_TAG]: undefined } }).catch(() => {});
    }
    const missing: PeerId[] = [];
    for (const p of want) {
      const id = p.toString();
      if (!kept.has(id)) {
        kept.add(id);
        await libp2p.peerStore.merge(p, { tags: { [KEEP_TAG]: { value: KEEP_TAG_VALUE } } }).catch(() => {});
      }
      const direct = libp2p.getConnections(p).some((c) => c.status === 'open' && !isCircuit(c));
      const b = keepBackoff.get(id);
      if (!direct && (!b || Date.now() >= b.until)) missing.push(p);
    }
    // Dial what is missing, a few at a time, direct addresses only (a relayed connection is not ours to keep).
    for (let i = 0; i < missing.length; i += KEEP_DIAL_CONCURRENCY) {
      if (stopped) return;
      await Promise.all(
        missing.slice(i, i + KEEP_DIAL_CONCURRENCY).map(async (p) => {
          const id = p.toString();
          const addrs = await libp2p.peerStore.get(p).then(
            (x) => x.addresses.map((a) => a.multiaddr).filter((a) => !a.toString().includes('/p2p-circuit')),
            () => []
          );
          if (addrs.length === 0) return;
          try {
            await libp2p.dial(
              addrs.map((a) => (a.toString().includes('/p2p/') ? a : a.encapsulate(`/p2p/${id}`))),
              { signal: AbortSignal.timeout(KEEP_DIAL_TIMEOUT_MS) }
            );
            keepBackoff.delete(id);
          } catch {
            const ms = Math.min((keepBackoff.get(id)?.ms ?? KEEP_BACKOFF_MS / 2) * 2, KEEP_BACKOFF_MAX_MS);
            keepBackoff.set(id, { until: Date.now() + ms, ms });
          }
        })
      );
    }
  }

  async function reserve(): Promise<void> {
    // auto: from the start until an address of ours is dialled back, not only once a check said no: a peer
    // behind NAT must be reachable by the time others first try it (they leave a peer that failed them out
    // of their candidates for a while). A dialable peer's reservation lapses at the relay (short TTL).
    const wanted = relayClient === true || (relayClient === 'auto' && dialable !== true);
    const t = Date.now();
    for (const [relay, expiresAt] of reservations)
      if (expiresAt <= t || !libp2p.getConnections().some((c) => c.remotePeer.toString() === relay && !isCircuit(c))) reservations.delete(relay);
    if (!wanted) {
      reservations.clear(); // no longer renewed: they lapse at the relays
      return;
    }
    const candidates: Connection[] = [];
    const seen = new Set<string>();
    for (const c of libp2p.getConnections()) {
      const id = c.remotePeer.toString();
      if (c.status !== 'open' || isCircuit(c) || seen.has(id)) continue;
      seen.add(id);
      if ((await protocolsOf(c.remotePeer)).includes(RELAY_HOP_PROTOCOL)) candidates.push(c);
    }
    // Renew what is due, then take new relays up to RELAY_RESERVATIONS.
    candidates.sort((a, b) => Number(reservations.has(b.remotePeer.toString())) - Number(reservations.has(a.remotePeer.toString())));
    for (const c of candidates) {
      const id = c.remotePeer.toString();
      const held = reservations.get(id);
      if (held === undefined && reservations.size >= RELAY_RESERVATIONS) continue;
      if (held !== undefined && held - Date.now() > RELAY_RENEW_MS) continue;
      try {
        const r = await reserveOn(c, AbortSignal.timeout(RESERVE_TIMEOUT_MS));
        reservations.set(id, r.expiresAt);
      } catch {
        reservations.delete(id);
      }
    }
  }

  function maintain(): Promise<void> {
    maintaining ??= (async () => {
      try {
        await keep();
      } catch {
        /* next pass */
      }
      try {
        await reserve();
      } catch {
        /* next pass */
      }
    })().finally(() => {
      maintaining = null;
    });
    return maintaining;
  }

  async function tick(): Promise<void> {
    if (stopped) return;
    const addrs = ownAddrs().map(formatTcp).sort().join(' ');
    const due = Date.now() >= nextCheckAt || (addrs !== lastAddrs && checkedAt !== null);
    if (due && libp2p.getConnections().length > 0) await check().catch(() => {});
    await maintain();
  }

  function schedule(): void {
    if (stopped) return;
    // Quick ticks while starting (the first answer, peers found by the first DHT walks), then the keep interval.
    const starting = dialable === null || Date.now() - startedAt < STARTUP_MS;
    const ms = starting ? Math.min(firstCheck, keepInterval) : keepInterval;
    timer = setTimeout(() => {
      void tick().finally(schedule);
    }, ms);
    timer.unref();
  }

  function ways(): ReachWay[] {
    const out: ReachWay[] = [];
    for (const k of ['public', 'upnp', 'ipv6'] as const) if ([...confirmed.keys()].some((a) => kindOf(a) === k)) out.push(k);
    if (dialable !== true && [...kept].some((id) => libp2p.getConnections().some((c) => c.remotePeer.toString() === id && !isCircuit(c))))
      out.push('own-connections');
    if (reservations.size > 0) out.push('relay');
    return out;
  }

  let locals = localIps();
  function kindOf(addr: string): AddressKind {
    const a = tcpAddr(addr);
    if (a?.family === 6) return 'ipv6';
    // An address that is none of our interfaces' was mapped for us: by UPnP if we asked for it, else by
    // hand (a port forward), which we count as public.
    if (init.upnp && a && !locals.has(a.ip.toLowerCase())) return 'upnp';
    return 'public';
  }

  function report(): ReachabilityReport {
    locals = localIps();
    const keptOpen = [...kept].filter((id) => libp2p.getConnections().some((c) => c.remotePeer.toString() === id && !isCircuit(c))).length;
    const w = ways();
    const parts: string[] = [];
    const conf = [...confirmed.keys()];
    for (const k of ['public', 'upnp', 'ipv6'] as const) {
      const as = conf.filter((a) => kindOf(a) === k);
      if (as.length) parts.push(`${k === 'ipv6' ? 'IPv6' : k === 'upnp' ? 'UPnP' : 'public'} (${as.join(', ')})`);
    }
    if (w.includes('own-connections')) parts.push(`own connections (${keptOpen} kept open)`);
    if (reservations.size) parts.push(`relay ${[...reservations.keys()].join(', ')}`);
    const summary = parts.length
      ? parts.join('; ')
      : dialable === null
        ? 'not checked yet'
        : 'not reachable: no address dialled back, no connection kept, no relay';
    return {
      ways: w,
      summary,
      dialable,
      checkedAt,
      confirmed: conf.map((address) => ({ address, kind: kindOf(address), by: [...confirmed.get(address)!] })),
      unconfirmed: [...unconfirmed],
      relays: [...reservations].map(([peer, expiresAt]) => ({ peer, expiresAt })),
      ownConnections: { kept: keptOpen, target: dialable === true ? 0 : kept.size },
      relayServer: init.relayServer?.stats() ?? null
    };
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      startedAt = Date.now();
      nextCheckAt = Date.now() + firstCheck;
      schedule();
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
    },
    report,
    check,
    maintain
  };
}
