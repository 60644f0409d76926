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
/** A stream with no frame in either direction for this long is closed (ms). */
export const IDLE_TIMEOUT_MS = 30_000;
/** Default deadline for opening a stream to a peer (ms). */
export const DIAL_TIMEOUT_MS = 10_000;
/** Concurrent inbound storage streams per connection. */
export const MAX_INBOUND_STREAMS = 64;
/** Reader pauses the libp2p stream above this many buffered bytes (backpressure to the sender via Yamux windows). */
export const READ_HIGH_WATER = 4 * 1024 * 1024;
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
  ERROR: 0xff,
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
