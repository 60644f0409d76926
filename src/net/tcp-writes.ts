// One system call per batch of Noise messages on a TCP connection, not one per buffer.
//
// @libp2p/tcp 11 hands each buffer of what the connection sends to its socket with its own `socket.write`: a Noise
// message is two buffers (its 2-byte length, then the ciphertext of up to 64 KiB), so every message costs two
// `write` calls and, with Nagle's algorithm off, a 2-byte TCP segment of its own that the receiver must take in
// and wake up for. Corking the socket around a batch hands the buffers to libuv as one `writev`.
// Measured on loopback (bench/floor-transport.ts, 1 GiB, 5 peers, 4 interleaved runs each): push 9.5 -> 7.8 s,
// 17.6 -> 14.5 CPU s (medians); in a 1 GiB backup the client's system time fell 2.5 -> 1.85 s.
//
// @libp2p/tcp exposes no option for it and does not export the connection class, so `tcpCorked` wraps the
// transport: each connection it dials or accepts has its `sendData` replaced before the upgrader sees it. The
// replacement relies only on the `socket` field, and is installed only over an upstream method that writes to
// `this.socket` (a changed upstream keeps its own behaviour, and test/net/tcp-writes.test.ts fails).
import type { Socket } from 'node:net';
import { tcp, type TCPComponents, type TCPOptions } from '@libp2p/tcp';
import type { MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface';

/** What the replacement reads of @libp2p/tcp's connection (a private field upstream). */
interface SocketConn {
  socket: Socket;
}

/**
 * The replacement: every buffer of the batch is written while the socket is corked, so the batch leaves in one
 * writev. As upstream, it reports whether the socket can take more (false: wait for its 'drain', which follows
 * because a write past the high-water mark set it up); unlike upstream it never leaves part of a batch unsent
 * (the socket's buffer takes it: at most one batch past the mark, which the caller held anyway).
 */
export function sendData(this: SocketConn, data: Iterable<Uint8Array>): { sentBytes: number; canSendMore: boolean } {
  const socket = this.socket;
  let sentBytes = 0;
  if (socket.destroyed) return { sentBytes, canSendMore: false };
  socket.cork();
  try {
    for (const buf of data) {
      sentBytes += buf.byteLength;
      socket.write(buf);
    }
  } finally {
    socket.uncork();
  }
  return { sentBytes, canSendMore: !socket.writableNeedDrain };
}

/** Whether an upstream sendData is the one this replaces (it writes each buffer to `this.socket`). */
export function replaceable(method: unknown): boolean {
  return typeof method === 'function' && /this\.socket\.write\(/.test(String(method));
}

/** Corked writes on one connection (`maConn`, as @libp2p/tcp makes it); false (left as it is) if not replaceable. */
export function corkWrites(maConn: object): boolean {
  const c = maConn as { sendData?: unknown; socket?: unknown };
  if (c.sendData === sendData) return true;
  if (!replaceable(c.sendData) || typeof (c.socket as Socket | undefined)?.cork !== 'function') return false;
  c.sendData = sendData;
  return true;
}

/** Connections seen by tcpCorked and how many got corked writes (tests: a changed upstream shows here). */
export const tcpWriteStats = { connections: 0, corked: 0 };

function corking(upgrader: Upgrader): Upgrader {
  const seen = (maConn: MultiaddrConnection) => {
    tcpWriteStats.connections++;
    if (corkWrites(maConn)) tcpWriteStats.corked++;
  };
  return new Proxy(upgrader, {
    get(target, prop, receiver) {
      if (prop === 'upgradeInbound' || prop === 'upgradeOutbound') {
        const upstream = Reflect.get(target, prop, receiver) as (maConn: MultiaddrConnection, opts: unknown) => unknown;
        return (maConn: MultiaddrConnection, opts: unknown) => {
          seen(maConn);
          return upstream.call(target, maConn, opts);
        };
      }
      return Reflect.get(target, prop, receiver);
    }
  });
}

/** `tcp(init)` whose connections write corked (above). */
export function tcpCorked(init?: TCPOptions): (components: TCPComponents) => Transport {
  const make = tcp(init);
  return (components) => {
    const t = make(components);
    const dial = t.dial.bind(t);
    const createListener = t.createListener.bind(t);
    t.dial = (ma, o) => dial(ma, { ...o, upgrader: corking(o.upgrader) });
    t.createListener = (o) => createListener({ ...o, upgrader: corking(o.upgrader) });
    return t;
  };
}
