// Keep-alive of connections, in place of libp2p's connection monitor.
//
// libp2p's monitor pings every connection from both of its ends every interval, each ping a new stream (a
// protocol negotiation, a peer-store update, a few encrypted frames each way). Every peer of a swarm is
// connected to every other, so that cost grows with the swarm: measured 2026-12-06, an idle peer of a 20-peer
// loopback swarm cost 0.49% of a core with a ping a minute and 0.22% with one every 10 minutes, and 50 idle
// peers in namespaces 62-65% of a core together (docs/ARCHITECTURE.md).
//
// Here a connection that received anything during the last interval counts as alive and is not pinged: a live
// peer's Yamux sends its own ping frame on every connection every 30 s (YAMUX_KEEPALIVE_MS), so an idle live
// connection receives that at least, and a busy one its data and window updates. A connection silent for a whole
// interval is pinged, one ping at a time, and aborted when the ping fails or has no answer within the timeout:
// a peer gone without closing its connections (a cut link, a frozen process) is still dropped, within
// 1.5 intervals plus the timeout.
//
// What a connection receives is seen through the 'message' events of its MultiaddrConnection, which libp2p's
// Connection keeps in `maConn` (not part of its typed interface). A connection without one (an upstream change)
// is pinged every interval whatever it receives, as libp2p's monitor did, and counted in `stats.unwatched`
// (test/net/keepalive.test.ts fails then).
import { randomBytes } from 'node:crypto';
import { byteStream } from '@libp2p/utils';
import type { Connection, Libp2p, Stream } from '@libp2p/interface';

/** The ping protocol (@libp2p/ping's, answered by every node's ping service). */
export const PING_PROTOCOL = '/ipfs/ping/1.0.0';
const PING_BYTES = 32;
/** Yamux's keep-alive ping interval (its default; node.ts leaves it on): the pace a live connection receives at, at least. */
export const YAMUX_KEEPALIVE_MS = 30_000;

export interface KeepAliveOptions {
  /** A connection silent this long (ms) is pinged; checked every half of it. */
  intervalMs: number;
  /** A ping not answered within this long (ms) aborts its connection. */
  timeoutMs: number;
}

export interface KeepAliveStats {
  /** Pings sent (connections found silent, or unwatched). */
  pings: number;
  /** Connections aborted for a failed or unanswered ping. */
  aborted: number;
  /** Connections whose received bytes could not be watched (pinged every interval). */
  unwatched: number;
}

export interface KeepAlive {
  readonly stats: KeepAliveStats;
  stop(): void;
}

interface Watch {
  /** Date.now() of the last bytes received or ping ended (until then: of the first check that saw the connection). */
  lastRx: number;
  pinging: boolean;
}

type Listenable = { addEventListener?: (type: string, fn: () => void) => void };

export function startKeepAlive(libp2p: Pick<Libp2p, 'getConnections'>, o: KeepAliveOptions): KeepAlive {
  const stats: KeepAliveStats = { pings: 0, aborted: 0, unwatched: 0 };
  const watches = new WeakMap<Connection, Watch>();
  const stopping = new AbortController();

  const watch = (conn: Connection): Watch => {
    const known = watches.get(conn);
    if (known) return known;
    const entry: Watch = { lastRx: Date.now(), pinging: false };
    const maConn = (conn as unknown as { maConn?: Listenable }).maConn;
    if (typeof maConn?.addEventListener === 'function') {
      maConn.addEventListener('message', () => {
        entry.lastRx = Date.now();
      });
    } else stats.unwatched++;
    watches.set(conn, entry);
    return entry;
  };

  const ping = async (conn: Connection, w: Watch): Promise<void> => {
    w.pinging = true;
    stats.pings++;
    const signal = AbortSignal.any([stopping.signal, AbortSignal.timeout(o.timeoutMs)]);
    let stream: Stream | undefined;
    try {
      stream = await conn.newStream(PING_PROTOCOL, { signal, runOnLimitedConnection: true });
      const bytes = byteStream(stream);
      const sent = randomBytes(PING_BYTES);
      const [, back] = await Promise.all([bytes.write(sent, { signal }), bytes.read({ bytes: PING_BYTES, signal })]);
      if (!sent.equals(back.subarray())) throw new Error('the ping came back changed');
      await stream.close({ signal });
    } catch (err) {
      stream?.abort(err as Error);
      if (stopping.signal.aborted) return;
      // It answered the protocol negotiation: it is there, it just does not serve pings.
      if ((err as Error)?.name === 'UnsupportedProtocolError') return;
      stats.aborted++;
      conn.abort(err as Error);
    } finally {
      w.pinging = false;
      w.lastRx = Date.now(); // its end was heard (a connection that failed is gone): the next one an interval on
    }
  };

  const tick = () => {
    const now = Date.now();
    for (const conn of libp2p.getConnections()) {
      if (conn.status !== 'open') continue;
      const w = watch(conn);
      if (w.pinging || now - w.lastRx < o.intervalMs) continue;
      void ping(conn, w);
    }
  };

  const timer = setInterval(tick, Math.max(1, Math.floor(o.intervalMs / 2)));
  timer.unref();
  return {
    stats,
    stop() {
      clearInterval(timer);
      stopping.abort();
    }
  };
}
