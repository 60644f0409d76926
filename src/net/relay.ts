// Relays that carry storage traffic between two peers behind NAT (circuit relay v2, docs/PROTOCOL.md
// §Reachability), on both sides:
//
// Server (`--relay-server`, a member with a public address). libp2p's relay limits every circuit to 128 KiB
// and 2 minutes by default: enough to introduce two peers, never enough for a share. Ours grants circuits
// without a per-connection limit (so they are not "limited" connections and the storage protocol runs on
// them like on any other) and bounds what it carries with its own budget instead:
//   - bytes a member may SEND through the relay per day (RELAY_DAILY_BYTES; over it, its circuits are
//     cut and new ones refused until the day's window turns), counted as the bytes arrive;
//   - bytes per second over all circuits (RELAY_RATE; 0 = the link decides): a stream whose bytes find the
//     bucket empty is paused, so Yamux stops granting its sender window (backpressure, not buffering).
// Who may use it: whoever can connect, i.e. in a private swarm only holders of the swarm key (pnet).
// Circuits are metered on their two streams, hop (the dialling member -> relay) and stop (relay -> the
// member dialled), by wrapping the relay service's onHop and stopHop (public methods of the library's
// CircuitRelayServer; checked at start-up), so the library's relay code runs unchanged. (libp2p 3.3's
// stream middleware would be the natural hook, but for inbound streams it appends the protocol handler to
// the shared middleware list on every stream, so the second hop stream ran the handler twice.)
//
// Client. libp2p's relay transport finds relays by a random walk of the DHT that never stops while no relay
// answers (measured: a whole core in a 5-peer swarm without a relay), so we do not listen on /p2p-circuit;
// `reserveOn` asks one relay we are connected to for a reservation (the spec's HOP RESERVE message), and
// the transport, already handling the stop protocol, accepts the circuits that relay then opens to us.
// const relay = createRelayServer({ rate: 5e6 }); services.relay = relay.service; later relay.attach(libp2p)
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface';
import { circuitRelayServer, type CircuitRelayService } from '@libp2p/circuit-relay-v2';
import { Uint8ArrayList } from 'uint8arraylist';
import { P2PBackupError } from '../common/errors.ts';
import { RELAY_BUDGET_WINDOW_MS, RELAY_DAILY_BYTES, RELAY_HOP_PROTOCOL, RELAY_MAX_RESERVATIONS, RELAY_RATE, RELAY_RESERVATION_TTL_MS } from './constants.ts';
import { ProtocolError } from './errors.ts';

/** The two methods of the library's CircuitRelayServer the meter wraps (hop: a member's request; stop: the
 *  stream we open to the member dialled, resolved once it accepted). */
interface MeteredRelay {
  onHop(stream: Stream, connection: Connection): Promise<void>;
  stopHop(o: { connection: Connection; request: unknown }, options: { signal?: AbortSignal }): Promise<Stream | undefined>;
}

export interface RelayServerInit {
  /** Reservations held for others at once (default RELAY_MAX_RESERVATIONS). */
  maxReservations?: number;
  /** Bytes per second over all circuits; 0 = no cap (default RELAY_RATE). */
  rate?: number;
  /** Bytes one member may send through the relay per window; 0 = no cap (default RELAY_DAILY_BYTES). */
  dailyBytes?: number;
  /** The budget's window (ms; default a day). */
  windowMs?: number;
  now?: () => number;
}

export interface RelayStats {
  /** Reservations held for members now. */
  reservations: number;
  /** Circuits open now (one per relayed connection). */
  circuits: number;
  /** Bytes carried since start (both directions). */
  bytesRelayed: number;
  /** Circuits refused or cut because a member's budget was spent. */
  overBudget: number;
  /** Times a stream was paused to hold the rate. */
  throttled: number;
  rate: number;
  dailyBytes: number;
  /** The members that sent most in the current window (at most 10), bytes. */
  members: { peer: string; bytes: number }[];
}

/** A member spent its relay budget for the current window. */
export class RelayBudgetError extends P2PBackupError {
  constructor(peer: string, budget: number) {
    super('ERR_RELAY_BUDGET', `peer ${peer} sent its ${budget} bytes through this relay for today`, { peer, budget });
  }
}

/** The relay server: its libp2p service, its connection-gater hooks, and the meter (attach after start). */
export interface RelayServer {
  /** For createLibp2p's `services.relay`. */
  service: ReturnType<typeof circuitRelayServer>;
  /** Connection-gater hooks: circuits from or to a member over budget are refused. */
  gater: { denyOutboundRelayedConnection(src: PeerId, dst: PeerId): boolean };
  /** Let stats() count the reservations of `libp2p`'s relay service; call once the node exists. */
  attach(libp2p: Libp2p<{ relay?: CircuitRelayService }>): void;
  stats(): RelayStats;
}

export function createRelayServer(init: RelayServerInit = {}): RelayServer {
  const rate = init.rate ?? RELAY_RATE;
  const dailyBytes = init.dailyBytes ?? RELAY_DAILY_BYTES;
  const windowMs = init.windowMs ?? RELAY_BUDGET_WINDOW_MS;
  const now = init.now ?? Date.now;
  const spent = new Map<string, { since: number; bytes: number }>();
  // Token bucket in bytes: at most a quarter second of rate (and 256 KiB, one Yamux frame burst) ahead.
  const capacity = Math.max(rate / 4, 256 * 1024);
  let tokens = capacity;
  let refilledAt = now();
  const counters = { bytes: 0, overBudget: 0, throttled: 0, circuits: 0 };
  let lib: Libp2p<{ relay?: CircuitRelayService }> | null = null;

  const account = (peer: string) => {
    let a = spent.get(peer);
    if (!a || now() - a.since >= windowMs) {
      a = { since: now(), bytes: 0 };
      spent.set(peer, a);
    }
    return a;
  };
  const overBudget = (peer: string) => dailyBytes > 0 && account(peer).bytes >= dailyBytes;

  /** Count the bytes `member` sends on `stream` (they arrive here), hold the rate, enforce the budget. */
  function meter(stream: Stream, member: string, circuit: boolean): void {
    if (circuit) counters.circuits++;
    let paused = false;
    const onMessage = (evt: { data: Uint8Array | Uint8ArrayList }) => {
      const n = evt.data.byteLength;
      counters.bytes += n;
      const a = account(member);
      a.bytes += n;
      if (dailyBytes > 0 && a.bytes > dailyBytes) {
        counters.overBudget++;
        stream.abort(new RelayBudgetError(member, dailyBytes));
        return;
      }
      if (rate <= 0) return;
      const t = now();
      tokens = Math.min(capacity, tokens + ((t - refilledAt) / 1000) * rate);
      refilledAt = t;
      tokens -= n;
      if (tokens < 0 && !paused && stream.status === 'open') {
        paused = true;
        counters.throttled++;
        stream.pause();
        setTimeout(
          () => {
            paused = false;
            if (stream.status === 'open' && stream.readStatus === 'paused') stream.resume();
          },
          Math.ceil((-tokens / rate) * 1000)
        ).unref();
      }
    };
    stream.addEventListener('message', onMessage as never);
    stream.addEventListener(
      'close',
      () => {
        stream.removeEventListener('message', onMessage as never);
        if (circuit) counters.circuits--;
      },
      { once: true }
    );
  }

  const factory = circuitRelayServer({
    // No per-circuit limit (not a "limited" connection): the budget above bounds what is carried.
    reservations: { maxReservations: init.maxReservations ?? RELAY_MAX_RESERVATIONS, applyDefaultLimit: false, reservationTtl: RELAY_RESERVATION_TTL_MS }
  });
  const service: typeof factory = (components) => {
    const s = factory(components) as CircuitRelayService & Partial<MeteredRelay>;
    const { onHop, stopHop } = s;
    if (typeof onHop !== 'function' || typeof stopHop !== 'function') {
      throw new Error('@libp2p/circuit-relay-v2 no longer has onHop/stopHop: the relay cannot be metered (src/net/relay.ts)');
    }
    // onHop is registered as the hop handler at start (after this), so replacing it here takes effect.
    s.onHop = (stream, connection) => {
      meter(stream, connection.remotePeer.toString(), false);
      return onHop.call(s, stream, connection);
    };
    s.stopHop = async (o, opts) => {
      const dst = await stopHop.call(s, o, opts);
      if (dst) meter(dst, o.connection.remotePeer.toString(), true);
      return dst;
    };
    return s;
  };

  return {
    service,
    gater: {
      denyOutboundRelayedConnection(src, dst) {
        const deny = overBudget(src.toString()) || overBudget(dst.toString());
        if (deny) counters.overBudget++;
        return deny;
      }
    },
    attach(libp2p) {
      lib = libp2p;
    },
    stats() {
      const t = now();
      const members = [...spent]
        .filter(([, a]) => t - a.since < windowMs && a.bytes > 0)
        .sort((x, y) => y[1].bytes - x[1].bytes)
        .slice(0, 10)
        .map(([peer, a]) => ({ peer, bytes: a.bytes }));
      return {
        reservations: lib?.services.relay?.reservations.size ?? 0,
        circuits: counters.circuits,
        bytesRelayed: counters.bytes,
        overBudget: counters.overBudget,
        throttled: counters.throttled,
        rate,
        dailyBytes,
        members
      };
    }
  };
}

// ---- the client side: one HOP RESERVE (libp2p specs, relay/circuit-v2.md) ---------------------------------

/** Status OK in the circuit relay v2 protobuf. */
const STATUS_OK = 100;
/** A HOP answer larger than this is refused (it holds a status, a reservation with a few addresses, a voucher). */
const MAX_HOP_MESSAGE = 4096;
/** HopMessage { type: RESERVE } as protobuf, length-prefixed (uvarint): field 1, varint 0. */
const RESERVE_REQUEST = Uint8Array.from([0x02, 0x08, 0x00]);

export interface Reservation {
  relay: string;
  expiresAt: number;
}

/** Ask the relay at the other end of `connection` (a direct one) for a reservation; when it expires (ms since epoch). */
export async function reserveOn(connection: Connection, signal: AbortSignal): Promise<Reservation> {
  if (connection.remoteAddr.toString().includes('/p2p-circuit')) throw new ProtocolError('no reservation over a relayed connection');
  const stream = await connection.newStream(RELAY_HOP_PROTOCOL, { signal });
  try {
    stream.send(RESERVE_REQUEST);
    const msg = await readDelimited(stream, signal);
    const { status, expire } = parseHopStatus(msg);
    if (status !== STATUS_OK) throw new ProtocolError(`relay ${connection.remotePeer} refused a reservation (status ${status ?? 'missing'})`, { status });
    return { relay: connection.remotePeer.toString(), expiresAt: expire !== undefined ? expire * 1000 : Date.now() + RELAY_RESERVATION_TTL_MS };
  } finally {
    await stream.close({ signal }).catch(() => stream.abort(new Error('reservation done')));
  }
}

/** One uvarint-length-prefixed message off a stream (at most MAX_HOP_MESSAGE bytes). */
async function readDelimited(stream: Stream, signal: AbortSignal): Promise<Uint8Array> {
  const buf = new Uint8ArrayList();
  return new Promise<Uint8Array>((resolve, reject) => {
    const done = (err: Error | null, v?: Uint8Array) => {
      stream.removeEventListener('message', onMessage as never);
      stream.removeEventListener('close', onClose);
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(v!);
    };
    const onMessage = (evt: { data: Uint8Array | Uint8ArrayList }) => {
      buf.append(evt.data);
      const bytes = buf.subarray();
      let len = 0;
      let shift = 0;
      let i = 0;
      for (; i < bytes.length && i < 3; i++) {
        len |= (bytes[i] & 0x7f) << shift;
        shift += 7;
        if ((bytes[i] & 0x80) === 0) break;
      }
      if (i >= bytes.length) return; // the length itself is incomplete
      if (i >= 3 || len > MAX_HOP_MESSAGE) return done(new ProtocolError('relay answer too large'));
      if (bytes.length >= i + 1 + len) done(null, bytes.subarray(i + 1, i + 1 + len));
    };
    const onClose = () => done(new ProtocolError('relay closed the stream without answering'));
    const onAbort = () => done(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    stream.addEventListener('message', onMessage as never);
    stream.addEventListener('close', onClose);
    signal.addEventListener('abort', onAbort);
  });
}

/** `status` (field 5) and the reservation's `expire` (field 3 -> field 1, seconds) of a HopMessage. */
export function parseHopStatus(msg: Uint8Array): { status?: number; expire?: number } {
  const out: { status?: number; expire?: number } = {};
  walkFields(msg, (field, wire, value) => {
    if (field === 5 && wire === 0) out.status = Number(value as bigint);
    if (field === 3 && wire === 2)
      walkFields(value as Uint8Array, (f, w, v) => {
        if (f === 1 && w === 0) out.expire = Number(v as bigint);
      });
  });
  return out;
}

/** Call `fn` for each top-level protobuf field of `buf` (varint, 64-bit, length-delimited, 32-bit). */
function walkFields(buf: Uint8Array, fn: (field: number, wire: number, value: bigint | Uint8Array) => void): void {
  let pos = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (pos >= buf.length) throw new ProtocolError('truncated protobuf varint');
      const b = buf[pos++];
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
      shift += 7n;
    }
    throw new ProtocolError('protobuf varint too long');
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wire = key & 7;
    if (wire === 0) fn(field, wire, varint());
    else if (wire === 2) {
      const len = Number(varint());
      if (pos + len > buf.length) throw new ProtocolError('truncated protobuf field');
      fn(field, wire, buf.subarray(pos, pos + len));
      pos += len;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new ProtocolError(`protobuf wire type ${wire} not expected`);
    if (pos > buf.length) throw new ProtocolError('truncated protobuf field');
  }
}
