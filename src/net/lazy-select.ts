// Storage streams open without waiting for multistream-select's answer (a round trip less per request).
//
// js-libp2p 3 negotiates every outbound stream in full before it hands it over: it writes the multistream header and
// the protocol, then waits for the listener to echo both. Only then can the request go out, so each storage request
// (a share write, a slot read, a proof) pays one round trip more than its own. go-libp2p and rust-libp2p dialers
// select lazily when they offer one protocol: header, protocol and the first data leave together, and the echo is
// read in front of the answer. A js-libp2p listener takes that as it is (multistream-select's `handle` hands back
// the bytes read past the protocol line), so only the dialer changes.
//
// js-libp2p skips its negotiation when the muxer returns a stream whose protocol is already set (transports that
// negotiate themselves). `installLazySelect` wraps the stream muxers' `createStream` once per process (createNode
// calls it): a stream asked for with `lazySelect: true` and a single protocol comes back with that protocol set and
// marked. `takeLazySelect` then gives the caller the protocol lines: sent in front of its first frame (in the same
// message: a send of their own costs the listener a message more), and echoed by a listener that serves the protocol
// in front of its first answer. An unmarked stream (the wrapper not installed, more than one protocol) was negotiated
// as usual and gives null.
//   const stream = await conn.newStream(PROTOCOL, { signal, lazySelect: true } as NewStreamOptions);
//   const lines = takeLazySelect(stream); // Uint8Array | null
//   if (lines) frame.prepend(lines);      // and new FrameReader(stream, { echo: lines }) reads the echo off first
import { AbstractStreamMuxer } from '@libp2p/utils';
import type { Stream } from '@libp2p/interface';

/** Multistream-select's own protocol id (the first line each side writes). */
export const MULTISTREAM_ID = '/multistream/1.0.0';
const PENDING = Symbol('p2pbackup.lazySelect');
const INSTALLED = Symbol('p2pbackup.lazySelectInstalled');

/** A protocol line as multistream-select writes it: varint length, then the line with its newline. */
export function protocolLine(protocol: string): Uint8Array {
  const text = new TextEncoder().encode(`${protocol}\n`);
  const len: number[] = [];
  for (let n = text.length; ; n >>>= 7) {
    if (n < 0x80) {
      len.push(n);
      break;
    }
    len.push((n & 0x7f) | 0x80);
  }
  const out = new Uint8Array(len.length + text.length);
  out.set(len, 0);
  out.set(text, len.length);
  return out;
}

/** The header line, then the protocol line: what the dialer sends first, and what a listener that serves it echoes. */
export function selectBytes(protocol: string): Uint8Array {
  const a = protocolLine(MULTISTREAM_ID);
  const b = protocolLine(protocol);
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** selectBytes by protocol, built once (a node selects a handful of protocols, for every request); never written to. */
const linesOf = new Map<string, Uint8Array>();

interface CreateStreamOptions {
  protocol?: string;
  lazySelect?: boolean;
}

/**
 * Wrap `createStream` of `target` (default: every stream muxer built on @libp2p/utils' AbstractStreamMuxer, which
 * yamux is), idempotent. Returns whether it is in place (false: no such method upstream).
 */
export function installLazySelect(target: object = AbstractStreamMuxer.prototype): boolean {
  const proto = target as { createStream?: ((options?: CreateStreamOptions) => Promise<Stream>) & { [INSTALLED]?: true } };
  if (proto.createStream?.[INSTALLED]) return true;
  if (typeof proto.createStream !== 'function') return false;
  const upstream = proto.createStream;
  const createStream = async function (this: unknown, options?: CreateStreamOptions): Promise<Stream> {
    const stream = await upstream.call(this, options);
    if (options?.lazySelect === true && typeof options.protocol === 'string' && stream.protocol === '') {
      stream.protocol = options.protocol;
      (stream as Stream & { [PENDING]?: string })[PENDING] = options.protocol;
    }
    return stream;
  };
  (createStream as typeof createStream & { [INSTALLED]: true })[INSTALLED] = true;
  proto.createStream = createStream;
  return true;
}

/**
 * For a stream opened with `lazySelect` and not negotiated: its protocol lines (selectBytes), to send before anything
 * else and to read back first, since a listener that serves the protocol echoes them. Null for a negotiated stream.
 * Once per stream. Shared and read-only: prepend it, never change it.
 */
export function takeLazySelect(stream: Stream): Uint8Array | null {
  const s = stream as Stream & { [PENDING]?: string };
  const protocol = s[PENDING];
  if (protocol === undefined) return null;
  delete s[PENDING];
  let lines = linesOf.get(protocol);
  if (!lines) linesOf.set(protocol, (lines = selectBytes(protocol)));
  return lines;
}
