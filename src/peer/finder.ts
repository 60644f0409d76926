// How this peer's client reaches storage peers: the ServerFinder the client declares (src/client/types.ts),
// built from the libp2p node, and the ShareServer of each peer, which is the node's StorageClient with two
// wrappers of the same interface around it:
//   withBackoff  - a peer that failed slowly (timed out) is left out of candidate lists for a while;
//   withFairness - no new shares for a peer in failed standing. Credit comes from the client (onPlaced) for
//                  shares written or proven, never for an unproven `exists`; audits of shares go to the ledger.
// const { finder } = createFinder({ node, fairness }); await upload(input, finder, opts);
import type { Logger } from 'pino';
import type { PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { rankByDistance, STORAGE_PROTOCOL, type P2PNode } from '../net/index.ts';
import type { ServerFinder, ShareServer } from '../client/index.ts';
import type { Fairness } from '../fairness/index.ts';
import { untilAborted } from '../common/wait.ts';

const KNOWN_LIST_MAX = 64; // the last-resort LIST (locate) asks at most this many known peers
const SLOW_FAILURE_MS = 1_000; // a failure that took this long was a timeout, not a refusal
const DOWN_BACKOFF_MS = 30_000; // a peer that failed to answer is left out of candidate lists this long
const DHT_REFRESH_MS = 30_000; // how often candidate selection may walk the DHT
const DHT_SHORT_REFRESH_MS = 5_000; // ... and while the last walk met fewer peers than were asked for
const PROVIDERS_TIMEOUT_MS = 2_000; // provider records are a fallback: do not wait long for them
/**
 * Whether a peer serves storage (its protocols, from identify) is looked up in the peer store again after this
 * long, or at once when identify runs again for it. Looked up for every candidate of every pack, it cost more
 * than the ranking itself: the store decodes the whole peer record and builds its PeerId on each get.
 */
export const SERVES_KNOWN_MS = 10_000;
const SERVES_KNOWN_MAX = 4_096;

/** One peer's StorageClient as the client's ShareServer. */
export function storageServer(node: Pick<P2PNode, 'storage'>, id: string): ShareServer {
  const c = node.storage(peerIdFromString(id));
  return {
    id,
    canAccept: (si, shareNum, size, o) => c.canAccept(si, shareNum, size, o),
    writeShare: (si, shareNum, source, size, o) => c.writeShare(si, shareNum, source, size, o),
    list: (si, o) => c.list(si, o),
    read: (si, shareNum, ranges, o) => c.read(si, shareNum, ranges, o),
    putSlot: (si, record, o) => c.putSlot(si, record, o),
    getSlot: (si, o) => c.getSlot(si, o),
    renew: (si, shareNums, until, o) => c.renew(si, shareNums, until, o),
    delete: (si, shareNum, o) => c.delete(si, shareNum, o),
    audit: (si, shareNum, segment, nonce, o) => c.audit(si, shareNum, segment, nonce, o)
  };
}

/**
 * Peers that failed SLOWLY (a dial or a stream that timed out, or an operation whose deadline passed) are
 * left out of candidate lists for DOWN_BACKOFF_MS: a host that vanished silently would otherwise cost every
 * LIST of every file a full timeout (measured: 2.5 s per check across network namespaces). Fast failures
 * (connection refused: the process is gone, it may be back in a moment) cost nothing and are not remembered.
 */
export function createBackoff(now: () => number = Date.now) {
  const down = new Map<string, number>();
  const answered = new Map<string, number>();
  return {
    /** Settle like `p`, noting whether peer `id` answered or failed slowly. */
    watch<T>(id: string, p: Promise<T>, signal?: AbortSignal): Promise<T> {
      const started = now();
      return p.then(
        (v) => {
          down.delete(id);
          answered.set(id, now());
          return v;
        },
        (err) => {
          const slow = now() - started >= SLOW_FAILURE_MS;
          // A deadline (AbortSignal.timeout) that fired is a timeout too, not the caller giving up; but not from a
          // peer that answered lately: on a full uplink our own requests wait behind the share bytes we are sending
          // it (bench wan, 40 Mbit/s), and leaving it out would leave the upload without peers.
          const deadline =
            err?.code === 'ERR_ABORTED' &&
            (signal?.reason as Error | undefined)?.name === 'TimeoutError' &&
            now() - (answered.get(id) ?? -Infinity) >= DOWN_BACKOFF_MS;
          if (slow && (err?.code === 'ERR_PEER_UNREACHABLE' || err?.code === 'ERR_STREAM_TIMEOUT' || deadline)) down.set(id, now());
          throw err;
        }
      );
    },
    /** Leave `id` out of candidate lists for a while (a holder abandoned as too slow by a hedged read). */
    mark(id: string): void {
      down.set(id, now());
    },
    /** Forget that `id` failed (it connected to us, or we to it, since). */
    clear(id: string): void {
      down.delete(id);
    },
    /** Peers down now (expired entries dropped). */
    down(): Set<string> {
      const t = now();
      for (const [id, at] of down) if (t - at >= DOWN_BACKOFF_MS) down.delete(id);
      return new Set(down.keys());
    }
  };
}
export type Backoff = ReturnType<typeof createBackoff>;

/** `server` with every call watched by the backoff. */
export function withBackoff(server: ShareServer, backoff: Backoff): ShareServer {
  const id = server.id;
  const w = <T>(p: Promise<T>, o?: { signal?: AbortSignal }) => backoff.watch(id, p, o?.signal);
  return {
    id,
    canAccept: (si, shareNum, size, o) => w(server.canAccept(si, shareNum, size, o), o),
    writeShare: (si, shareNum, source, size, o) => w(server.writeShare(si, shareNum, source, size, o), o),
    list: (si, o) => w(server.list(si, o), o),
    read: (si, shareNum, ranges, o) => w(server.read(si, shareNum, ranges, o), o),
    putSlot: (si, record, o) => w(server.putSlot(si, record, o), o),
    getSlot: (si, o) => w(server.getSlot(si, o), o),
    ...(server.renew && { renew: (si, shareNums, until, o) => w(server.renew!(si, shareNums, until, o), o) }),
    ...(server.delete && { delete: (si, shareNum, o) => w(server.delete!(si, shareNum, o), o) }),
    ...(server.audit && { audit: (si, shareNum, segment, nonce, o) => w(server.audit!(si, shareNum, segment, nonce, o), o) })
  } satisfies ShareServer;
}

/** `server` under the fairness layer: no new shares for a peer in failed standing (credit comes from onPlaced). */
export function withFairness(server: ShareServer, fairness: Pick<Fairness, 'guardPlacement'>): ShareServer {
  return {
    ...server,
    async writeShare(si, shareNum, source, size, o) {
      fairness.guardPlacement(server.id);
      return server.writeShare(si, shareNum, source, size, o);
    }
  };
}

export interface FinderInit {
  node: P2PNode;
  fairness: Fairness;
  log?: Logger;
  backoff?: Backoff;
  /** The clock walks are timed by (tests). */
  now?: () => number;
}

/** The finder, and the ShareServer of any peer by id (spot checks reach peers through it too). */
export function createFinder(init: FinderInit): {
  finder: ServerFinder;
  server: (id: string) => ShareServer;
  /** DHT walks for candidates: started, asked for by a caller that waited for one, finished. */
  walks: { readonly started: number; readonly waited: number; readonly done: number };
} {
  const { node, fairness } = init;
  const now = init.now ?? Date.now;
  const self = node.peerId.toString();
  const backoff = init.backoff ?? createBackoff();
  // A peer that failed slowly and has connected since (it came back, or, behind NAT, it now holds a relay
  // reservation and we reached it another way) is a candidate again at once.
  node.libp2p.addEventListener('peer:connect', (e) => backoff.clear(e.detail.toString()));
  const server = (id: string) => withFairness(withBackoff(storageServer(node, id), backoff), fairness);
  let dhtSeen: { at: number; ids: Map<string, PeerId> } = { at: 0, ids: new Map() };
  const serving = new Map<string, { serves: boolean; at: number }>();
  node.libp2p.addEventListener('peer:identify', (e) => serving.delete(e.detail.peerId.toString()));
  const servesStorage = async (p: PeerId): Promise<boolean> => {
    const id = p.toString();
    const t = now();
    const known = serving.get(id);
    if (known && t - known.at < SERVES_KNOWN_MS && t >= known.at) return known.serves;
    const protocols = await node.libp2p.peerStore.get(p).then(
      (x) => x.protocols,
      (): string[] => []
    );
    // Not known yet (no identify so far): a candidate, and asked again next time.
    const serves = protocols.length === 0 || protocols.includes(STORAGE_PROTOCOL);
    if (serving.size >= SERVES_KNOWN_MAX) serving.clear(); // a bound, however many peers pass by
    if (protocols.length) serving.set(id, { serves, at: t });
    else serving.delete(id);
    return serves;
  };
  // One walk at a time, shared by every caller: it is not bound to any caller's signal (it has its own
  // deadline, CLOSEST_PEERS_TIMEOUT_MS), so a caller giving up stops waiting, not the walk the others share.
  let walking: Promise<void> | null = null;
  const walks = { started: 0, waited: 0, done: 0 };
  const walk = (si: Uint8Array, count: number): Promise<void> => {
    if (walking) return walking;
    walks.started++;
    walking = node
      .closestPeers(si, count)
      .then((found) => {
        dhtSeen = { at: now(), ids: new Map(found.map((p) => [p.toString(), p])) };
      })
      .catch(() => {})
      .finally(() => {
        walking = null;
        walks.done++;
      });
    return walking;
  };
  const finder: ServerFinder = {
    // Candidates are ranked by XOR distance among the peers we know: the connected ones plus those a DHT
    // walk found. The walk runs at most every DHT_REFRESH_MS (not per file: a folder of 10,000 small
    // files must not cost 10,000 walks); in swarms of dozens of peers it finds them all anyway.
    // Only a caller with nothing to go on (no walk yet, no connection) or one that asks (`refresh`) waits
    // for a walk; the others get what the last walk and the connections give, and a walk due starts behind
    // them. A walk waits for every peer it asks, and a peer that is down holds it to its dial timeout
    // (measured across network namespaces with 2 of 6 hosts cut: 5 s a walk); in a swarm smaller than
    // `count` every walk meets fewer peers than asked for and was due again 5 s later, so locate() (two
    // candidate lists per degraded file) made each check of a file wait 7-23 s (a health round of 11 packs:
    // 81 s; test/multihost/e2e.test.ts).
    async candidates(si, count, o) {
      const age = now() - dhtSeen.at;
      const blind = dhtSeen.at === 0 || (dhtSeen.ids.size === 0 && node.libp2p.getPeers().length === 0);
      // A walk that met fewer peers than asked for (a swarm still forming: peers behind NAT join the DHT
      // only once they have connected out) is repeated sooner.
      const due = age > DHT_REFRESH_MS || (dhtSeen.ids.size < count && age > DHT_SHORT_REFRESH_MS);
      if (o?.refresh || blind) {
        walks.waited++;
        await untilAborted(walk(si, count), o?.signal);
      } else if (due) void walk(si, count);
      const pool = new Map(dhtSeen.ids);
      for (const p of node.libp2p.getPeers()) pool.set(p.toString(), p);
      pool.delete(self);
      // Even a peer libp2p still counts as connected is left out while down: a silently cut host keeps
      // its dead connection until keep-alive notices, while every request to it waits for a timeout ...
      const down = backoff.down();
      // ... unless every peer we know failed slowly: on an overloaded host (measured: 50 daemons on 2 cores)
      // every request can time out once, and slow peers are better than "no storage peers found". A caller that
      // looks again (`refresh`: too few candidates without them) gets them too: in the NAT test a client's
      // first record publication, before it knew its relay, marked both NATed peers down, and its backup
      // then failed "2 candidate peers" for the 30 s of their backoff.
      if (!o?.refresh && [...pool.keys()].some((id) => !down.has(id))) for (const id of down) pool.delete(id);
      // Peers known (through identify) not to serve storage, such as clients offering no disk, are skipped.
      const serves = await Promise.all([...pool.values()].map(async (p) => ((await servesStorage(p)) ? p : null)));
      // Fairness reorders within the closest set (balanced, reliable peers first) but never changes the set,
      // so downloads, which ask the same closest set, still find every share (src/fairness/rank.ts).
      return fairness.rank(
        rankByDistance(
          si,
          serves.filter((p): p is PeerId => p !== null)
        )
          .slice(0, count)
          .map((p) => server(p.toString()))
      );
    },
    // Last resort of locate(): every storage peer we know, nearest first (a holder that did not announce
    // because it was among the closest when it took the share, and the swarm has grown since).
    async known(si, o) {
      return finder.candidates(si, KNOWN_LIST_MAX, o);
    },
    async providers(si, o) {
      const ids = await node.findProviders(si, { signal: o?.signal, timeoutMs: PROVIDERS_TIMEOUT_MS });
      return ids
        .map((p) => p.toString())
        .filter((id) => id !== self)
        .map(server);
    },
    // Credit for a share a peer holds (written, or claimed and proven), with the pack cap a spot check proves it by.
    async onPlaced(p) {
      await fairness
        .recordPlacement(p.peer, p.si, p.shareNum, p.size, p.verifyCap)
        .catch((err) => init.log?.warn({ err: (err as Error).message }, 'fairness ledger write failed'));
    },
    async onDeleted(d) {
      await fairness.forgetPlacement(d.peer, d.si, d.shareNum).catch((err) => init.log?.warn({ err: (err as Error).message }, 'fairness ledger write failed'));
    },
    async onAudit(a) {
      await fairness
        .recordShareAudit(a.peer, a.si, a.shareNum, a.ok, a.reason)
        .catch((err) => init.log?.warn({ err: (err as Error).message }, 'fairness ledger write failed'));
    },
    // A holder abandoned as too slow (hedged reads) is left out of candidate lists like one that timed out.
    demote(id) {
      backoff.mark(id);
    }
  };
  return { finder, server, walks };
}
