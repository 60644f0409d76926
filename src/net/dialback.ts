// Dial-back (/p2pbackup/dialback/1.0.0): "dial me back at these addresses and tell me which worked", the
// AutoNAT idea reduced to what a backup swarm needs. A peer behind a NAT learns that nobody can dial it (so it
// keeps its own connections open and takes relay reservations); a peer with a public address, a UPnP
// mapping or a global IPv6 address learns which of them work. Byte format: docs/PROTOCOL.md §Reachability.
//
// The server dials only the IP address the request came from (the connection's observed address), with
// the ports named in the request: it can never be made to dial a third party (no amplification), and a
// private address behind a NAT is tried as the NAT's public address with the same port, which is exactly
// what a port forward or a UPnP mapping would answer on. It dials at most DIALBACK_MAX_DIALS addresses,
// each with a fresh connection (`force`: the requester's open connection proves nothing), authenticated
// by Noise as the requester's peer id, closed at once; and serves each peer at most every
// DIALBACK_MIN_INTERVAL_MS. Requests over relayed connections are refused (there is no address to test).
// await serveDialback(libp2p); const results = await requestDialback(connection, ['/ip4/192.168.1.2/tcp/7171']);
import type { Connection, Libp2p, Stream } from '@libp2p/interface';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { P2PBackupError } from '../common/errors.ts';
import {
  DIALBACK_DIAL_TIMEOUT_MS,
  DIALBACK_MAX_ADDRS,
  DIALBACK_MAX_DIALS,
  DIALBACK_MIN_INTERVAL_MS,
  DIALBACK_PROTOCOL,
  IDLE_TIMEOUT_MS,
  MSG
} from './constants.ts';
import { ProtocolError } from './errors.ts';
import { FrameReader, closeStream, encodeFrame, sendFrame } from './frame.ts';

/** Request type of the dial-back protocol (0x40–0x4f: reachability). */
export const DIALBACK_REQUEST = 0x40;
/** Largest frame body either side accepts: 16 addresses of at most 256 characters, with room for JSON. */
const DIALBACK_MAX_BODY = 8 * 1024;
const MAX_ADDR_CHARS = 256;

export interface DialbackResult {
  /** The address the server dialled (the observed IP with a requested port). */
  addr: string;
  ok: boolean;
}

/** One TCP address as the dial-back protocol names it: family, IP, port (no peer id, no relay). */
export interface TcpAddr {
  family: 4 | 6;
  ip: string;
  port: number;
}

/** `/ip4|ip6/<ip>/tcp/<port>[/p2p/<id>]` as a TcpAddr, or null for anything else (relays, DNS, QUIC...). */
export function tcpAddr(ma: Multiaddr | string): TcpAddr | null {
  let parts;
  try {
    parts = (typeof ma === 'string' ? multiaddr(ma) : ma).getComponents();
  } catch {
    return null;
  }
  if (parts.length < 2 || parts.length > 3) return null;
  const [ipPart, tcpPart, rest] = parts;
  if ((ipPart.name !== 'ip4' && ipPart.name !== 'ip6') || tcpPart.name !== 'tcp' || (rest && rest.name !== 'p2p')) return null;
  const port = Number(tcpPart.value);
  if (!Number.isInteger(port) || port < 1 || port > 65535 || !ipPart.value) return null;
  return { family: ipPart.name === 'ip4' ? 4 : 6, ip: ipPart.value, port };
}

export const formatTcp = (a: TcpAddr): string => `/ip${a.family}/${a.ip}/tcp/${a.port}`;

/** The dial-back server refused a request (too soon, relayed connection, nothing to dial). */
export class DialbackRefusedError extends P2PBackupError {
  constructor(reason: string, message: string) {
    super('ERR_REMOTE_REFUSED', message, { reason });
  }
}

/**
 * What the server dials for a request from `observed`: every requested port at the observed IP (a private
 * listen address stands for the NAT's public one), same family only, deduplicated, at most DIALBACK_MAX_DIALS.
 */
export function dialbackTargets(observed: TcpAddr, requested: string[]): TcpAddr[] {
  const out = new Map<string, TcpAddr>();
  for (const r of requested) {
    const a = tcpAddr(r);
    if (!a || a.family !== observed.family) continue;
    const t: TcpAddr = { family: observed.family, ip: observed.ip, port: a.port };
    out.set(formatTcp(t), t);
    if (out.size >= DIALBACK_MAX_DIALS) break;
  }
  return [...out.values()];
}

export interface DialbackServerOptions {
  dialTimeoutMs?: number;
  minIntervalMs?: number;
  now?: () => number;
}

/** Answer dial-back requests on `libp2p`; returns a function that stops answering. */
export async function serveDialback(libp2p: Libp2p, opts: DialbackServerOptions = {}): Promise<() => Promise<void>> {
  const dialTimeout = opts.dialTimeoutMs ?? DIALBACK_DIAL_TIMEOUT_MS;
  const minInterval = opts.minIntervalMs ?? DIALBACK_MIN_INTERVAL_MS;
  const now = opts.now ?? Date.now;
  const served = new Map<string, number>();
  const handler = (stream: Stream, connection: Connection) => {
    void answer(stream, connection).catch(() => {});
  };
  async function answer(stream: Stream, connection: Connection): Promise<void> {
    const reader = new FrameReader(stream, { maxBody: DIALBACK_MAX_BODY, idleMs: IDLE_TIMEOUT_MS });
    try {
      const req = await reader.next();
      if (!req || req.type !== DIALBACK_REQUEST) throw new ProtocolError('expected a dial-back request');
      const addrs = req.header.addrs;
      if (
        Object.keys(req.header).length !== 1 ||
        !Array.isArray(addrs) ||
        addrs.length > DIALBACK_MAX_ADDRS ||
        addrs.some((a) => typeof a !== 'string' || a.length > MAX_ADDR_CHARS)
      ) {
        throw new ProtocolError(`"addrs" must be at most ${DIALBACK_MAX_ADDRS} address strings`);
      }
      const peer = connection.remotePeer.toString();
      const observed = tcpAddr(connection.remoteAddr);
      if (!observed) throw new DialbackRefusedError('relayed', 'dial-back needs a direct connection (its observed address is the one tested)');
      const last = served.get(peer);
      if (last !== undefined && now() - last < minInterval) throw new DialbackRefusedError('busy', `one dial-back per ${minInterval} ms`);
      served.set(peer, now());
      if (served.size > 4096) for (const [k, t] of served) if (now() - t >= minInterval) served.delete(k);
      const results: DialbackResult[] = [];
      for (const t of dialbackTargets(observed, addrs as string[])) {
        const addr = formatTcp(t);
        let ok = false;
        try {
          const conn = await libp2p.dial(multiaddr(`${addr}/p2p/${peer}`), { signal: AbortSignal.timeout(dialTimeout), force: true });
          ok = conn.remotePeer.equals(connection.remotePeer);
          await conn.close().catch(() => {});
        } catch {
          ok = false;
        }
        results.push({ addr, ok });
      }
      await sendFrame(stream, encodeFrame(MSG.OK, { results }));
      await closeStream(stream);
    } catch (e) {
      const err = e as Error & { code?: string };
      const code = err instanceof P2PBackupError ? err.code : 'ERR_INTERNAL';
      const reason = (err as { details?: { reason?: string } }).details?.reason;
      try {
        if (stream.writeStatus === 'writable') {
          stream.send(encodeFrame(MSG.ERROR, { code, message: err instanceof P2PBackupError ? err.message : 'internal error', ...(reason ? { reason } : {}) }));
          await closeStream(stream, undefined, 2_000);
        }
      } catch {
        /* peer gone */
      }
    } finally {
      reader.release();
    }
  }
  // runOnLimitedConnection stays off: a relayed connection has no address of the requester to test.
  await libp2p.handle(DIALBACK_PROTOCOL, handler, { maxInboundStreams: 2 });
  return () => libp2p.unhandle(DIALBACK_PROTOCOL);
}

/** Ask the peer at the other end of `connection` to dial us back at `addrs`; its answer, validated. */
export async function requestDialback(connection: Connection, addrs: string[], signal: AbortSignal): Promise<DialbackResult[]> {
  const stream = await connection.newStream(DIALBACK_PROTOCOL, { signal });
  const reader = new FrameReader(stream, { maxBody: DIALBACK_MAX_BODY, idleMs: IDLE_TIMEOUT_MS, signal });
  try {
    await sendFrame(stream, encodeFrame(DIALBACK_REQUEST, { addrs: addrs.slice(0, DIALBACK_MAX_ADDRS) }), signal);
    await closeStream(stream, signal);
    const f = await reader.next();
    if (!f) throw new ProtocolError('dial-back: the peer closed the stream without answering');
    if (f.type === MSG.ERROR) {
      const reason = typeof f.header.reason === 'string' ? f.header.reason : 'refused';
      throw new DialbackRefusedError(reason.slice(0, 64), `dial-back refused: ${String(f.header.message ?? '').slice(0, 200)}`);
    }
    const results = f.header.results;
    if (f.type !== MSG.OK || !Array.isArray(results) || results.length > DIALBACK_MAX_DIALS) throw new ProtocolError('dial-back: malformed answer');
    return results.map((r: unknown) => {
      const x = r as Record<string, unknown>;
      if (x == null || typeof x !== 'object' || typeof x.ok !== 'boolean' || typeof x.addr !== 'string' || !tcpAddr(x.addr))
        throw new ProtocolError('dial-back: malformed result');
      return { addr: formatTcp(tcpAddr(x.addr)!), ok: x.ok };
    });
  } finally {
    reader.release();
    if (stream.status === 'open') stream.abort(new Error('dial-back done'));
  }
}
