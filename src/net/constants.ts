// Limits, units and protocol identifiers of the network layer. Byte format: docs/PROTOCOL.md.
import { SLOT_MAX_RECORD_BYTES } from '../store/constants.ts';

/** Storage protocol (one request per libp2p stream). */
export const STORAGE_PROTOCOL = '/p2pbackup/storage/1.0.0';
/** Kad-DHT protocol: our own, so we never join (or pollute) the public IPFS DHT. */
export const DHT_PROTOCOL = '/p2pbackup/kad/1.0.0';
/** Default listen address for daemons; tests use /ip4/127.0.0.1/tcp/0. */
export const DEFAULT_LISTEN = ['/ip4/0.0.0.0/tcp/0'];

/** Frame = u32 BE body length + body. Body = type u8 + u16 BE header length + JSON header + payload. */
export const FRAME_PREFIX_BYTES = 4;
export const BODY_FIXED_BYTES = 3;
/** Largest JSON header (bytes of UTF-8). */
export const MAX_HEADER_BYTES = 8 * 1024;
/** Largest binary payload of one frame (write chunk, read answer): 1 MiB. */
export const MAX_PAYLOAD_BYTES = 1024 * 1024;
/** Hard max frame body; a larger length prefix is rejected before any of it is buffered. */
export const MAX_FRAME_BODY = BODY_FIXED_BYTES + MAX_HEADER_BYTES + MAX_PAYLOAD_BYTES;
/** One read request: at most this many ranges, summing to at most MAX_PAYLOAD_BYTES (clients split larger reads). */
export const MAX_READ_RANGES = 256;
export const MAX_READ_TOTAL = MAX_PAYLOAD_BYTES;
/** A client's read bigger than one request sends this many requests at once (each on its own stream). */
export const READ_REQUESTS_IN_FLIGHT = 4;
/**
 * READ requests this client has in flight to one peer at once, over all reads; the rest wait. Below the streams
 * a server serves one peer at once (MAX_STREAMS_PER_PEER) and libp2p's outbound streams per protocol and
 * connection (64), which a restore's reads side by side would otherwise reach, with room for writes beside.
 */
export const READ_REQUESTS_PER_PEER = 24;
/** A stream with no frame in either direction for this long is closed (ms). */
export const IDLE_TIMEOUT_MS = 30_000;
/** Default deadline for opening a stream to a peer (ms). */
export const DIAL_TIMEOUT_MS = 10_000;
/** Concurrent inbound storage streams per connection. */
export const MAX_INBOUND_STREAMS = 64;
/** Reader pauses the libp2p stream above this many buffered bytes (backpressure to the sender via Yamux windows). */
export const READ_HIGH_WATER = 4 * 1024 * 1024;
/**
 * Scratch buffers (MAX_PAYLOAD_BYTES each) a server keeps for the next share it receives: in use, one per share
 * being received; kept, at most this many bytes, and none once RECEIVE_POOL_IDLE_MS passed without a receive.
 */
export const RECEIVE_POOL_BYTES = 8 * MAX_PAYLOAD_BYTES;
export const RECEIVE_POOL_IDLE_MS = 10_000;
/**
 * sendFrame returns once the stream holds at most this many bytes not yet handed to its muxer: a sender's bytes
 * wait in the connection and the socket, not in every stream, and a frame counts as sent when it left.
 */
export const SEND_BUFFER_BYTES = 256 * 1024;
/** Yamux windows grow to 16 MiB, so a paused stream can receive that much: allow it rather than reset. */
export const STREAM_READ_BUFFER = 32 * 1024 * 1024;

/**
 * A request frame is at most a header plus a slot record (only SLOT_PUT carries a payload; a share's bytes
 * come later, in DATA frames, once the server accepted the WRITE): 3 + 8 KiB + 65,692 bytes.
 */
export const MAX_REQUEST_BODY = BODY_FIXED_BYTES + MAX_HEADER_BYTES + SLOT_MAX_RECORD_BYTES;
/**
 * A server stream's read buffer until its request is accepted (bytes): room for one request frame, far below
 * the 32 MiB a share upload may need. A peer sending more than its request before the answer is reset.
 */
export const REQUEST_READ_BUFFER = 256 * 1024;
/** The whole request frame must arrive within this (ms) of the stream opening: one byte per idle period is not a request. */
export const REQUEST_DEADLINE_MS = 30_000;
/**
 * How long libp2p lets a new stream select its protocol, both ends (its default: 10 s). A new stream's first bytes
 * leave behind what its connection already queued (the muxer's buffer and the socket's, up to a few MB): 1 MB
 * per peer on a 40 Mbit/s uplink shared by five uploads is seconds, and on slower uplinks more. At 10 s the
 * peers reset share streams mid-backup ("The stream has been reset", `bench wan` at 40 Mbit/s). A storage
 * request must arrive within REQUEST_DEADLINE_MS anyway: the same bound for every protocol.
 */
export const PROTOCOL_NEGOTIATION_TIMEOUT_MS = REQUEST_DEADLINE_MS;
/**
 * A share upload must average at least MIN_WRITE_RATE bytes/s once WRITE_RATE_GRACE_MS have passed, else the
 * server drops it and its reservation (ERR_TOO_SLOW). The floor is low on purpose: a 1 Mbit/s uplink shared by
 * ten uploads of five shares each gives every stream about 2.5 KiB/s. What it stops is a peer holding a
 * reservation and a file descriptor with a byte every idle period (docs/PROTOCOL.md "Limits").
 */
export const MIN_WRITE_RATE = 1024;
export const WRITE_RATE_GRACE_MS = 60_000;
/** How often a stream's progress is compared with its floor (ms). */
export const RATE_CHECK_MS = 1_000;
/** Streams one remote peer may have open with this server at once, over all its connections. */
export const MAX_STREAMS_PER_PEER = 64;

/** Request types (client → server). 0x20–0x2f are mutable slots (0x22–0x2f still free). */
export const MSG = {
  HELLO: 0x01,
  ACCEPT: 0x02,
  WRITE: 0x03,
  DATA: 0x04,
  COMMIT: 0x05,
  READ: 0x06,
  LIST: 0x07,
  RENEW: 0x08,
  DELETE: 0x09,
  /** Store a signed slot record (payload); the server validates it against the slot. */
  SLOT_PUT: 0x20,
  /** Fetch a slot's record (answer payload). */
  SLOT_GET: 0x21,
  /** Proof of storage of one block: the holder answers a nonce challenge (0x30–0x3f: health). */
  AUDIT: 0x30,
  /** Responses (server → client). */
  OK: 0x80,
  ERROR: 0xff
} as const;
export type MsgType = (typeof MSG)[keyof typeof MSG];

export const SWARM_KEY_FILE = 'swarm.key';
/** Standard go-ipfs/libp2p swarm.key text format (v1 PSK, base16). */
export const SWARM_KEY_HEADER = '/key/swarm/psk/1.0.0/';
export const SWARM_KEY_ENCODING = '/base16/';
export const SWARM_KEY_BYTES = 32;

/** Best-effort DHT provider operations give up after this long (ms). */
export const PROVIDE_TIMEOUT_MS = 15_000;
export const CLOSEST_PEERS_TIMEOUT_MS = 10_000;
/** A node with no connection at all dials its bootstrap list again this often (node.ts). */
export const BOOTSTRAP_REDIAL_MS = 5_000;

// ---- Reachability: paths to a peer, dial-back checks, kept connections, relays (docs/PROTOCOL.md §Reachability) ----

/** Handled (as a marker: any stream is closed at once) by a peer none of whose addresses was dialled back:
 *  identify tells its peers, which then call the connection it opened to them its own (src/net/paths.ts). */
export const OWN_CONNECTIONS_PROTOCOL = '/p2pbackup/own-connections/1.0.0';
/** Dial-back protocol: "dial me back at these addresses" (AutoNAT-style; one request, one answer per stream). */
export const DIALBACK_PROTOCOL = '/p2pbackup/dialback/1.0.0';
/** The circuit relay v2 protocols (libp2p spec relay/circuit-v2.md). */
export const RELAY_HOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/hop';
export const RELAY_STOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/stop';
/** A dial-back request names at most this many addresses; the server dials at most DIALBACK_MAX_DIALS of them. */
export const DIALBACK_MAX_ADDRS = 16;
export const DIALBACK_MAX_DIALS = 4;
/** One dial-back dial gives up after this long (ms): a NAT that drops SYNs looks like this. */
export const DIALBACK_DIAL_TIMEOUT_MS = 5_000;
/** A peer may ask us for a dial-back at most this often (ms); more is refused (busy). */
export const DIALBACK_MIN_INTERVAL_MS = 10_000;
/** Reachability checks: first soon after start, then while unknown every RETRY, once known every INTERVAL (ms). */
export const REACH_FIRST_CHECK_MS = 2_000;
export const REACH_RETRY_MS = 15_000;
export const REACH_CHECK_INTERVAL_MS = 10 * 60_000;
/** Peers asked per check (distinct peers; one success confirms an address). */
export const REACH_CHECK_PEERS = 3;
/** Outbound connections a peer that cannot be dialled keeps open, so that others reach it over them. */
export const KEEP_CONNECTIONS = 32;
/** How often the kept set is refreshed and missing connections redialled (ms). */
export const KEEP_INTERVAL_MS = 10_000;
/** A kept peer that failed to connect is retried after this long, doubled per failure up to KEEP_BACKOFF_MAX_MS. */
export const KEEP_BACKOFF_MS = 15_000;
export const KEEP_BACKOFF_MAX_MS = 10 * 60_000;
/** Relays a peer that cannot be dialled holds a reservation on. */
export const RELAY_RESERVATIONS = 2;
/** Reservations are renewed this long before they expire (ms). */
export const RELAY_RENEW_MS = 5 * 60_000;
/** A direct dial (not through a relay) gives up after this long when a relay could still be tried (ms). */
export const DIRECT_DIAL_TIMEOUT_MS = 5_000;
/** A direct dial gets this head start before relays are tried alongside it (ms; happy eyeballs). */
export const DIRECT_HEAD_START_MS = 1_000;
/** After a failed direct dial, a peer is reached through a relay without trying direct again for this long (ms). */
export const DIRECT_RETRY_MS = 5 * 60_000;
/** Relays tried per connect, after the direct path failed. */
export const RELAY_TRIES = 3;
/** Relay server defaults (config relay.*): reservations held for others; time-to-live of one (ms). */
export const RELAY_MAX_RESERVATIONS = 128;
export const RELAY_RESERVATION_TTL_MS = 15 * 60_000; // short: a peer found dialable stops renewing, its slot frees soon
/** Bytes a member may send through this relay per day (0: no cap); 20 GiB a day is a desktop's backup churn, not a mirror. */
export const RELAY_DAILY_BYTES = 20 * 2 ** 30;
/** Relayed bytes per second, all circuits together (0: the link decides). */
export const RELAY_RATE = 0;
/** The daily budget's window (ms). */
export const RELAY_BUDGET_WINDOW_MS = 24 * 3_600_000;
/** A whole connect to one peer (direct, then up to RELAY_TRIES relays) gives up after this long (ms). */
export const CONNECT_TIMEOUT_MS = 20_000;
/** A connection whose keep-alive ping has not come back within this long is aborted (ms). libp2p's floor of 5 s cut a 40 Mbit/s backup's own connections (bench wan) and relayed circuits mid-upload. */
export const CONNECTION_PING_TIMEOUT_MS = 60_000;
/**
 * A connection that received nothing for this long is pinged (ms; src/net/keepalive.ts). libp2p's own monitor,
 * replaced by it, pinged every connection from both ends every interval (its default 10 s), each ping a new stream
 * (multistream-select, a peer-store update, a few encrypted frames each way): at 20 s they were most of an idle
 * peer's CPU (bench idle: 0.28% of a core per peer in a 5-peer swarm), and as every peer is connected to every
 * other the cost grew with the swarm. A live connection receives Yamux's own ping (a frame, no stream) every 30 s,
 * so it is never silent this long and never pinged; one that is gets its ping within 1.5 intervals. A minute still
 * sends something on every connection well within a NAT's TCP timeout (RFC 5382: at least 2 h 4 min), and a peer
 * that went away without closing its connections is dropped within 90 s + CONNECTION_PING_TIMEOUT_MS; one that
 * closes them (a stopped or killed process) is seen at once. Yamux's ping also measures the round trip that its
 * stream windows grow by (node.ts).
 */
export const CONNECTION_PING_INTERVAL_MS = 60_000;
/**
 * Ping streams one connection may have open at once, each way. libp2p's ping allows one outbound and two inbound
 * streams: with its connection monitor (a ping every interval, answered or not) a ping still waiting behind queued
 * share bytes got the next one refused ("Too many outbound protocol streams") and the connection aborted for it,
 * cutting a 1 GiB backup over a 40 Mbit/s uplink at 73 s (bench wan). Our keep-alive has one ping in flight per
 * connection, but Kad-DHT pings contacts through the same service, and a peer may still run libp2p's monitor:
 * an idle limit costs nothing.
 */
export const PING_STREAMS = 8;
