// Noise decryption without a copy of every message that arrived in more than one read.
//
// @chainsafe/libp2p-noise 17 decrypts each transport message with a `dst`: the message's own memory, which the
// WebAssembly ChaCha20-Poly1305 it uses for messages under 1,200 bytes decrypts into. It builds `dst` for every
// message, also the larger ones that Node's own cipher decrypts, which ignores it. A message that arrived in more
// than one socket read is a Uint8ArrayList, and its `dst` a concatenated copy: about every 64 KiB message of a bulk
// transfer, since a read brings 26-42 KB (/proc/PID/io of storage peers taking a 1 GiB backup). So a storage peer
// copied (and allocated, and faulted in) every byte it received once more, for nothing: 110 ms of `concat` in a
// peer's CPU profile for its 358 MB of a 1 GiB backup, and about a fifth of its page faults (perf, page-fault events).
//
// The package does not export the stream class, so `noiseLean` wraps the encrypter: the first connection it
// secures gives the class's prototype, whose `decrypt` is replaced once per process. The replacement builds `dst`
// only where it is used (small messages, as upstream) or free (a message in one piece: a view). It installs only
// over an upstream method written as this one expects (a changed upstream keeps its own behaviour, and
// test/net/noise-decrypt.test.ts fails).
//
// Each secured connection also gets a length decoder that does not throw. Upstream frames messages with
// @libp2p/utils' LengthPrefixedDecoder, which asks its length decoder for the next length until that throws a
// RangeError ("not enough bytes yet"): so every socket read ended in a new RangeError, its stack trace captured and
// thrown away. That was 8% of the CPU of a ping between two nodes (`uint16BEDecode`, self time; 1.3-1.6 ms of CPU
// per ping, both ends) and 0.1-0.2 s per process of a 1 GiB backup. The replacement answers length 0 while fewer
// than 2 bytes are buffered: the decoder then finds the 2 bytes of that frame missing and stops reading as it did
// on the RangeError; with 2 bytes or more it reads the length as upstream does.
import { noise } from '@chainsafe/libp2p-noise';
import { LengthPrefixedDecoder } from '@libp2p/utils';
import { Uint8ArrayList } from 'uint8arraylist';

/** Noise's largest transport message, tag included (the spec's 65535 bytes), and its ChaCha20-Poly1305 tag. */
const MESSAGE_MAX = 65535;
const TAG_BYTES = 16;
/** Under this many bytes (tag included) the package's default crypto decrypts into `dst` (crypto/index.js). */
const DST_USED_BELOW = 1200;

/** What decrypt uses of the package's stream (private upstream). */
export interface NoiseStreamState {
  handshake: { decrypt(ciphertext: Uint8Array | Uint8ArrayList, dst?: Uint8Array): Uint8Array | Uint8ArrayList };
  metrics?: { decryptedPackets: { increment(): void }; decryptErrors: { increment(): void } };
}

/** The replacement: upstream's loop, with `dst` only for a small message or one in a single piece. */
export function decrypt(this: NoiseStreamState, chunk: Uint8Array | Uint8ArrayList): Uint8ArrayList {
  const output = new Uint8ArrayList();
  const whole = chunk instanceof Uint8Array;
  for (let i = 0; i < chunk.byteLength; i += MESSAGE_MAX) {
    const end = Math.min(i + MESSAGE_MAX, chunk.byteLength);
    if (end - TAG_BYTES < i) throw new Error('Invalid chunk');
    const encrypted = whole ? chunk.subarray(i, end) : chunk.sublist(i, end);
    const dst = whole || end - i < DST_USED_BELOW ? chunk.subarray(i, end - TAG_BYTES) : undefined;
    try {
      output.append(this.handshake.decrypt(encrypted, dst));
      this.metrics?.decryptedPackets.increment();
    } catch (e) {
      this.metrics?.decryptErrors.increment();
      throw e;
    }
  }
  return output;
}

/** Marks in upstream's decrypt that this one is written against: its dst, its call, its counters. */
const UPSTREAM = [
  /chunk\.subarray\(i, end - CHACHA_TAG_LENGTH\)/,
  /this\.handshake\.decrypt\(encrypted, dst\)/,
  /decryptedPackets/,
  /decryptErrors/,
  /NOISE_MSG_MAX_LENGTH_BYTES/
];

/** Install the replacement on `proto` (the stream class's prototype); whether it is in place (idempotent). */
export function installNoiseDecrypt(proto: object): boolean {
  const p = proto as { decrypt?: unknown };
  if (p.decrypt === decrypt) return true;
  if (typeof p.decrypt !== 'function') return false;
  const upstream = String(p.decrypt);
  if (!UPSTREAM.every((re) => re.test(upstream))) return false;
  p.decrypt = decrypt;
  return true;
}

/** A Noise message's length (u16be) once 2 bytes are buffered; 0 before, never an exception (above). */
export function noiseLength(data: Uint8Array | Uint8ArrayList): number {
  if (data.byteLength < 2) return 0;
  if (data instanceof Uint8Array) return (data[0] << 8) | data[1];
  return data.getUint16(0);
}

/** A secured connection's framing decoder as upstream builds it (private): what installNoiseLength reads and sets. */
type FramingDecoder = { lengthDecoder: unknown; encodingLength(n: number): number };

/**
 * Give a secured connection the length decoder above; whether it took it. Only over upstream's own shape: a
 * LengthPrefixedDecoder whose lengths take 2 bytes and whose length decoder is the package's `uint16BEDecode`.
 */
export function installNoiseLength(connection: object): boolean {
  const d: unknown = (connection as { decoder?: unknown }).decoder;
  if (!(d instanceof LengthPrefixedDecoder)) return false;
  const f = d as unknown as FramingDecoder;
  if (f.lengthDecoder === noiseLength) return true;
  if (typeof f.lengthDecoder !== 'function' || f.lengthDecoder.name !== 'uint16BEDecode' || f.encodingLength(0) !== 2) return false;
  f.lengthDecoder = noiseLength;
  return true;
}

/**
 * How the replacements fared in this process: connections secured, the prototype the decrypt was installed on,
 * and connections that took the length decoder (tests).
 */
export const noiseDecryptStats: { secured: number; installed: boolean; prototype: object | null; lengthDecoders: number } = {
  secured: 0,
  installed: false,
  prototype: null,
  lengthDecoders: 0
};

/** `noise()` whose secured connections decrypt as above. */
export function noiseLean(): ReturnType<typeof noise> {
  const make = noise();
  return (components) => {
    const n = make(components);
    type Secure = (...args: unknown[]) => Promise<{ connection: object }>;
    const wrap =
      (up: Secure): Secure =>
      async (...args) => {
        const secured = await up(...args);
        noiseDecryptStats.secured++;
        if (installNoiseLength(secured.connection)) noiseDecryptStats.lengthDecoders++;
        if (!noiseDecryptStats.installed) {
          const proto = Object.getPrototypeOf(secured.connection) as object;
          noiseDecryptStats.installed = installNoiseDecrypt(proto);
          if (noiseDecryptStats.installed) noiseDecryptStats.prototype = proto;
        }
        return secured;
      };
    const m = n as unknown as Record<'secureInbound' | 'secureOutbound', Secure>;
    m.secureInbound = wrap(m.secureInbound.bind(n));
    m.secureOutbound = wrap(m.secureOutbound.bind(n));
    return n;
  };
}
