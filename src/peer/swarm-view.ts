// The swarm as this peer sees it now (GET /api/swarm, the web UI's peers table and space totals): each
// connected peer asked for its space over the storage protocol (HELLO: offered, used, free, shares) and
// pinged for its round trip; the totals add this peer's own store. Answers are kept CACHE_MS so a page
// that refreshes often does not turn into a stream of requests to every peer.
// const view = createSwarmView({ node, store }); const { peers, totals } = await view();
import type { PeerId } from '@libp2p/interface';
import { mapLimit } from '../common/pool.ts';
import { STORAGE_PROTOCOL, type P2PNode } from '../net/index.ts';
import type { SwarmOverview } from '../api/service.ts';

export const CACHE_MS = 5_000; // an overview this fresh is answered again as is
export const ASK_TIMEOUT_MS = 3_000; // HELLO and ping, each: a peer slower than this is shown without numbers
export const ASK_MAX_PEERS = 64; // peers asked per overview (the connected ones, in libp2p's order)
const ASK_CONCURRENCY = 8;

export interface SwarmViewInit {
  node: Pick<P2PNode, 'libp2p' | 'storage'>;
  /** This peer's own store (a read-only node offers 0). */
  store: { stats(): { offered: number; used: number; free?: number } };
  now?: () => number;
}

export function createSwarmView(init: SwarmViewInit): () => Promise<SwarmOverview> {
  const now = init.now ?? Date.now;
  let cached: { at: number; value: Promise<SwarmOverview> } | null = null;

  async function ask(id: PeerId): Promise<SwarmOverview['peers'][number]> {
    const out: SwarmOverview['peers'][number] = { id: id.toString(), latencyMs: null, offered: null, used: null, free: null, shares: null };
    const protocols = await init.node.libp2p.peerStore.get(id).then(
      (p) => p.protocols,
      (): string[] => []
    );
    const [ping, hello] = await Promise.allSettled([
      init.node.libp2p.services.ping.ping(id, { signal: AbortSignal.timeout(ASK_TIMEOUT_MS) }),
      // A peer known (through identify) not to serve storage, a client offering no disk, is not asked.
      protocols.length && !protocols.includes(STORAGE_PROTOCOL)
        ? Promise.reject(new Error('serves no storage'))
        : init.node.storage(id).stats({ signal: AbortSignal.timeout(ASK_TIMEOUT_MS) })
    ]);
    if (ping.status === 'fulfilled') out.latencyMs = ping.value;
    if (hello.status === 'fulfilled')
      Object.assign(out, { offered: hello.value.offered, used: hello.value.used, free: hello.value.free, shares: hello.value.shares });
    else out.error = String((hello.reason as Error)?.message ?? hello.reason).slice(0, 200);
    return out;
  }

  async function overview(): Promise<SwarmOverview> {
    const at = now();
    const ids = init.node.libp2p.getPeers().slice(0, ASK_MAX_PEERS);
    const peers = await mapLimit(ids, ASK_CONCURRENCY, ask);
    const own = init.store.stats();
    const answered = peers.filter((p) => p.offered !== null);
    const sum = (k: 'offered' | 'used' | 'free') => answered.reduce((a, p) => a + (p[k] ?? 0), 0);
    return {
      at,
      peers,
      totals: {
        peers: peers.length + 1,
        answered: answered.length + 1,
        offered: own.offered + sum('offered'),
        used: own.used + sum('used'),
        free: (own.free ?? Math.max(0, own.offered - own.used)) + sum('free')
      }
    };
  }

  return () => {
    if (!cached || now() - cached.at >= CACHE_MS) {
      const value = overview();
      cached = { at: now(), value };
      value.catch(() => {
        cached = null;
      });
    }
    return cached.value;
  };
}
