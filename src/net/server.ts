// Serves /p2pbackup/storage/1.0.0 from a ShareStore: one request per stream, owner = the Noise-authenticated remote peer.
// Every byte comes from a peer that may be hostile, so each stream is bounded (docs/PROTOCOL.md "Limits"):
// - a remote peer has at most MAX_STREAMS_PER_PEER streams served at once, over all its connections;
// - the request frame must arrive whole within REQUEST_DEADLINE_MS, and until a WRITE is accepted the stream
//   buffers at most REQUEST_READ_BUFFER bytes; after a request that carries no share, the read side is closed
//   (anything more is dropped, not buffered while the answer goes out);
// - a share upload must average MIN_WRITE_RATE bytes/s after WRITE_RATE_GRACE_MS, or it is dropped with its
//   reservation (the store limits each owner's open writes and reserved bytes).
// So a peer's memory here is at most MAX_STREAMS_PER_PEER x REQUEST_READ_BUFFER plus, per open write,
// READ_HIGH_WATER + STREAM_READ_BUFFER.
import type { Connection, Libp2p, Stream } from '@libp2p/interface';
import type { ShareStore, ShareWriter } from '../store/index.ts';
import { P2PBackupError, UnsupportedError } from '../common/errors.ts';
import { boundedBy } from '../common/wait.ts';
import { BufferPool } from '../common/buffer-pool.ts';
import {
  IDLE_TIMEOUT_MS,
  MAX_FRAME_BODY,
  MAX_INBOUND_STREAMS,
  MAX_PAYLOAD_BYTES,
  MAX_REQUEST_BODY,
  MAX_STREAMS_PER_PEER,
  MIN_WRITE_RATE,
  MSG,
  RATE_CHECK_MS,
  READ_HIGH_WATER,
  RECEIVE_POOL_BYTES,
  RECEIVE_POOL_IDLE_MS,
  REQUEST_DEADLINE_MS,
  REQUEST_READ_BUFFER,
  STORAGE_PROTOCOL,
  STREAM_READ_BUFFER,
  WRITE_RATE_GRACE_MS
} from './constants.ts';
import { PeerBusyError, ProtocolError, TooSlowError } from './errors.ts';
import { FrameReader, REQUESTS_WITH_PAYLOAD, REQUEST_SCHEMAS, encodeFrame, sendFrame, validate } from './frame.ts';
import { OutOfRangeError, ShareNotFoundError, ShareRefusedError, SlotNotFoundError } from '../store/index.ts';
import { proveBlock } from '../format/audit.ts';
import { startShareCheck, type ShareCheck } from '../format/check.ts';
import type { Frame, Header } from './frame.ts';

/** How long a refused stream's answer may take to go out before the stream is reset (ms). */
const REFUSE_CLOSE_MS = 10_000;

/** Bounds on what one remote peer may cost this server (defaults in constants.ts; tests shorten the times). */
export interface ServerLimits {
  requestDeadlineMs: number;
  writeMinRate: number;
  writeGraceMs: number;
  maxStreamsPerPeer: number;
}

export interface StorageServerOptions {
  idleMs?: number;
  maxInboundStreams?: number;
  limits?: Partial<ServerLimits>;
  /** Called with every request's outcome, for the daemon's log (core code never prints). */
  onEvent?: (e: { type: 'request'; op: string; peer: string; ok: boolean; code?: string; si?: string }) => void;
}

/** Request type -> the op name events and logs use (the adversarial test peer names them alike). */
export const OPS: Record<number, string> = {
  [MSG.HELLO]: 'hello',
  [MSG.ACCEPT]: 'accept',
  [MSG.WRITE]: 'write',
  [MSG.READ]: 'read',
  [MSG.LIST]: 'list',
  [MSG.RENEW]: 'renew',
  [MSG.DELETE]: 'delete',
  [MSG.SLOT_PUT]: 'slot-put',
  [MSG.SLOT_GET]: 'slot-get',
  [MSG.AUDIT]: 'audit'
};

const siBytes = (hex: unknown) => Uint8Array.from(Buffer.from(hex as string, 'hex'));

/** What answering one request needs (built once per server). */
export interface ServeContext {
  store: ShareStore;
  idleMs: number;
  limits: ServerLimits;
  onEvent?: StorageServerOptions['onEvent'];
}

export function serverContext(store: ShareStore, opts: StorageServerOptions = {}): ServeContext {
  return {
    store,
    idleMs: opts.idleMs ?? IDLE_TIMEOUT_MS,
    onEvent: opts.onEvent,
    limits: {
      requestDeadlineMs: opts.limits?.requestDeadlineMs ?? REQUEST_DEADLINE_MS,
      writeMinRate: opts.limits?.writeMinRate ?? MIN_WRITE_RATE,
      writeGraceMs: opts.limits?.writeGraceMs ?? WRITE_RATE_GRACE_MS,
      maxStreamsPerPeer: opts.limits?.maxStreamsPerPeer ?? MAX_STREAMS_PER_PEER
    }
  };
}

/** Register the storage protocol handler on `node`; returns a function that unregisters it. */
export async function serveStorage(node: Libp2p, store: ShareStore, opts: StorageServerOptions = {}): Promise<() => Promise<void>> {
  const ctx = serverContext(store, opts);
  const open = new Map<string, number>(); // streams being served, per remote peer
  const handler = (stream: Stream, connection: Connection) => {
    const peer = connection.remotePeer.toString();
    const n = open.get(peer) ?? 0;
    if (n >= ctx.limits.maxStreamsPerPeer) {
      refuse(stream, new PeerBusyError(ctx.limits.maxStreamsPerPeer));
      return;
    }
    open.set(peer, n + 1);
    handleStream(ctx, stream, peer)
      .catch(() => {})
      .finally(() => {
        const left = (open.get(peer) ?? 1) - 1;
        if (left > 0) open.set(peer, left);
        else open.delete(peer);
      });
  };
  await node.handle(STORAGE_PROTOCOL, handler, { maxInboundStreams: opts.maxInboundStreams ?? MAX_INBOUND_STREAMS });
  return () => node.unhandle(STORAGE_PROTOCOL);
}

/** Answer ERROR without reading anything, then reset: used before any memory is spent on the stream. */
function refuse(stream: Stream, err: P2PBackupError): void {
  try {
    stream.maxReadBufferLength = REQUEST_READ_BUFFER; // nobody reads it: a peer sending more than a request is reset
    stream.send(encodeFrame(MSG.ERROR, { code: err.code, message: err.message }));
    // Aborting resets the stream and drops the unsent answer, so the close gets time even on a starved event
    // loop (a refused stream holds no more than its small read buffer meanwhile).
    void stream.close({ signal: AbortSignal.timeout(REFUSE_CLOSE_MS) }).catch(() => stream.abort(err));
  } catch {
    stream.abort(err);
  }
}

async function handleStream(ctx: ServeContext, stream: Stream, owner: string): Promise<void> {
  // One controller per stream: the request deadline and the write rate floor both end it through the reader.
  const deadline = new AbortController();
  const reader = new FrameReader(stream, {
    maxBody: MAX_REQUEST_BODY,
    idleMs: ctx.idleMs,
    signal: deadline.signal,
    highWater: MAX_REQUEST_BODY,
    readBuffer: REQUEST_READ_BUFFER
  });
  const timer = setTimeout(
    () => deadline.abort(new TooSlowError(`the request did not arrive within ${ctx.limits.requestDeadlineMs} ms`)),
    ctx.limits.requestDeadlineMs
  );
  try {
    let req: Frame | null;
    try {
      req = await reader.next();
      if (!req) throw new ProtocolError('stream closed before a request');
    } catch (e) {
      await answerError(ctx, stream, 'unknown', owner, e);
      return;
    } finally {
      clearTimeout(timer);
    }
    await answerRequest(ctx, stream, reader, req, owner, deadline);
  } finally {
    reader.release();
  }
}

/**
 * Answer one request already read from `reader` (its first frame), then close the stream; failures are
 * answered with ERROR. Exported for test/adversary, whose misbehaving peer answers honestly through it
 * whenever it is not told to misbehave: no misbehaviour lives in this module.
 */
export async function answerRequest(
  ctx: ServeContext,
  stream: Stream,
  reader: FrameReader,
  req: Frame,
  owner: string,
  deadline = new AbortController()
): Promise<void> {
  let op = 'unknown';
  try {
    op = OPS[req.type] ?? `0x${req.type.toString(16)}`;
    const schema = REQUEST_SCHEMAS[req.type];
    if (!schema || req.type === MSG.DATA || req.type === MSG.COMMIT) throw new ProtocolError(`unexpected request type 0x${req.type.toString(16)}`);
    validate(req.header, schema);
    if (!REQUESTS_WITH_PAYLOAD.has(req.type) && req.payload.byteLength) throw new ProtocolError('this request carries no payload');
    if (req.type !== MSG.WRITE) {
      // Nothing more may come: anything the peer still sends is dropped as it arrives, not buffered.
      if (reader.buffered > 0) throw new ProtocolError('data after the request');
      reader.release();
      await stream.closeRead().catch(() => {});
    }
    await dispatch(ctx, stream, reader, req, owner, deadline);
    ctx.onEvent?.({ type: 'request', op, peer: owner, ok: true, si: typeof req.header.si === 'string' ? req.header.si : undefined });
    await boundedBy(undefined, ctx.idleMs, (s) => stream.close({ signal: s })); // once per request: gone with the close
  } catch (e) {
    await answerError(ctx, stream, op, owner, e);
  }
}

/** Answer ERROR {code, message, reason?} (internal errors say no more than that), close, and reset what is left. */
async function answerError(ctx: ServeContext, stream: Stream, op: string, owner: string, e: unknown): Promise<void> {
  const err = e as Error & { code?: string; reason?: string };
  const code = err instanceof P2PBackupError ? err.code : 'ERR_INTERNAL';
  ctx.onEvent?.({ type: 'request', op, peer: owner, ok: false, code });
  const header: Header = { code, message: err instanceof P2PBackupError ? err.message : 'internal error' };
  if (typeof err.reason === 'string') header.reason = err.reason;
  try {
    if (stream.writeStatus === 'writable') {
      stream.send(encodeFrame(MSG.ERROR, header));
      await stream.close({ signal: AbortSignal.timeout(2000) });
    }
  } catch {
    /* peer gone */
  }
  if (stream.status === 'open') stream.abort(err);
}

async function reply(stream: Stream, header: Header = {}, payload?: Uint8Array | readonly Uint8Array[]): Promise<void> {
  await sendFrame(stream, encodeFrame(MSG.OK, header, payload));
}

async function dispatch(ctx: ServeContext, stream: Stream, reader: FrameReader, req: Frame, owner: string, deadline: AbortController): Promise<void> {
  const { store } = ctx;
  const h = req.header;
  switch (req.type) {
    case MSG.HELLO: {
      const s = store.stats();
      return reply(stream, { offered: s.offered, used: s.used, free: s.free, shares: s.shares, maxPayload: MAX_PAYLOAD_BYTES });
    }
    case MSG.ACCEPT: {
      const d = await store.canAccept(siBytes(h.si), h.shareNum as number, h.size as number, owner);
      return reply(stream, d.ok ? { ok: true } : { ok: false, reason: d.reason, message: d.message });
    }
    case MSG.WRITE: {
      if (req.payload.byteLength) throw new ProtocolError('write request carries no payload; send DATA frames');
      if (reader.buffered > 0) throw new ProtocolError('DATA before the WRITE was accepted');
      // The share must belong to this storage index (its UEB hashes to it) and have the size the UEB implies;
      // its bytes are checked against that UEB as they arrive and before the commit (src/format/check.ts).
      const check = startShareCheck(siBytes(h.si), h.shareNum as number, h.size as number, Buffer.from(h.ueb as string, 'hex'));
      if (typeof check === 'string') throw new ShareRefusedError('invalid', `not a share of this storage index: ${check}`, { si: h.si, shareNum: h.shareNum });
      const writer = await store.beginWrite(siBytes(h.si), h.shareNum as number, owner, h.size as number, { leaseUntil: h.leaseUntil as number | undefined });
      try {
        // Accepted: now (and only now) the stream may buffer what a share upload needs.
        reader.setLimits({ maxBody: MAX_FRAME_BODY, highWater: READ_HIGH_WATER, readBuffer: STREAM_READ_BUFFER });
        await reply(stream);
        await receiveShare(reader, writer, check, ctx.limits, deadline);
        const rec = await writer.commit();
        return await reply(stream, { size: rec.size, leaseExpiry: rec.leaseExpiry });
      } finally {
        await writer.abort(); // no-op after a successful commit
      }
    }
    case MSG.READ: {
      const si = siBytes(h.si);
      const parts: Uint8Array[] = [];
      for (const [off, len] of h.ranges as [number, number][]) parts.push(await store.read(si, h.shareNum as number, off, len));
      return reply(stream, { lengths: parts.map((p) => p.byteLength) }, parts); // sent as they are: no joined copy
    }
    case MSG.LIST:
      return reply(stream, { shares: await store.list(siBytes(h.si)) });
    case MSG.RENEW: {
      const si = siBytes(h.si);
      let renewed = 0;
      if (h.shareNums === 'all') renewed = await store.renewLease(si, 'all', owner, h.until as number);
      else for (const n of h.shareNums as number[]) renewed += await store.renewLease(si, n, owner, h.until as number);
      return reply(stream, { renewed });
    }
    case MSG.DELETE:
      await store.delete(siBytes(h.si), h.shareNum as number, owner);
      return reply(stream);
    case MSG.SLOT_PUT: {
      // Anyone may put: the store checks the record's key against the slot, its signature and its seq, and
      // charges the slot to the peer that first stored it (owner), under the same admission rule as shares.
      if (!store.putSlot) throw new UnsupportedError('this peer does not store mutable slots');
      const r = await store.putSlot(siBytes(h.si), req.payload, owner, { leaseUntil: h.leaseUntil as number | undefined });
      return reply(stream, { status: r.status, seq: r.seq, leaseExpiry: r.leaseExpiry });
    }
    case MSG.SLOT_GET: {
      if (!store.getSlot) throw new UnsupportedError('this peer does not store mutable slots');
      const rec = await store.getSlot(siBytes(h.si));
      if (!rec) throw new SlotNotFoundError(h.si as string);
      return reply(stream, {}, rec);
    }
    case MSG.AUDIT: {
      // Open to any peer, like READ: the answer is ciphertext plus hashes (docs/HEALTH.md "Audits").
      const si = siBytes(h.si);
      const shareNum = h.shareNum as number;
      const rec = await store.get(si, shareNum);
      if (!rec) throw new ShareNotFoundError(h.si as string, shareNum);
      let a;
      try {
        a = await proveBlock((off, len) => store.read(si, shareNum, off, len), rec.size, h.segment as number, Buffer.from(h.nonce as string, 'hex'));
      } catch (e) {
        if (e instanceof RangeError) throw new OutOfRangeError(e.message, { si: h.si, shareNum });
        throw e;
      }
      const x = (b: Uint8Array) => Buffer.from(b).toString('hex');
      return reply(stream, { leaf: x(a.leaf), path: a.path.map(x), proof: x(a.proof) }, a.block);
    }
  }
}

/**
 * DATA frames into `writer` until COMMIT. Once `writeGraceMs` have passed, the bytes received must keep up with
 * `writeMinRate` per second since the start, checked every RATE_CHECK_MS; a peer that falls behind is cut off
 * (ERR_TOO_SLOW) and the writer aborted, which frees its reservation.
 */
async function receiveShare(reader: FrameReader, writer: ShareWriter, share: ShareCheck, limits: ServerLimits, deadline: AbortController): Promise<void> {
  // Each DATA payload is copied out of the received pieces into one scratch buffer, reused frame after frame:
  // the check hashes it and the writer is done with it once write() resolves (ShareWriter), so nothing keeps a
  // view of it past the next frame. Joined into fresh memory instead, each block (about 341 KiB) was a new
  // mapping under the daemons' mmap threshold of then (128 KiB), its pages faulted in one by one (about 1,000 per GiB received).
  const scratch = receivePool.take(MAX_PAYLOAD_BYTES);
  const started = Date.now();
  let received = 0;
  const check = setInterval(() => {
    const owed = ((Date.now() - started - limits.writeGraceMs) / 1000) * limits.writeMinRate;
    if (owed > received)
      deadline.abort(new TooSlowError(`share upload below ${limits.writeMinRate} bytes/s (${received} bytes in ${Date.now() - started} ms)`, { received }));
  }, RATE_CHECK_MS);
  check.unref();
  try {
    for (;;) {
      const f = await reader.next(scratch, 'prefix');
      if (!f) throw new ProtocolError('stream ended before commit');
      if (f.type === MSG.DATA) {
        if (Object.keys(f.header).length) throw new ProtocolError('DATA frames carry no header');
        received += f.payload.byteLength;
        const wrong = share.push(f.payload);
        if (wrong) throw new ShareRefusedError('invalid', `the share's bytes are not the ones its UEB commits to: ${wrong}`);
        await writer.write(f.payload);
      } else if (f.type === MSG.COMMIT) {
        if (Object.keys(f.header).length || f.payload.byteLength) throw new ProtocolError('COMMIT carries nothing');
        const wrong = share.finish();
        if (wrong) throw new ShareRefusedError('invalid', `the share's bytes are not the ones its UEB commits to: ${wrong}`);
        return;
      } else {
        throw new ProtocolError(`unexpected frame type 0x${f.type.toString(16)} during a write`);
      }
    }
  } finally {
    clearInterval(check);
    receivePool.give(scratch); // every write() has settled here: each is awaited before the next frame is read
  }
}

/** Scratch buffers of receiveShare: one per share being received, kept a while for the next. */
const receivePool = new BufferPool({ maxBytes: RECEIVE_POOL_BYTES, idleMs: RECEIVE_POOL_IDLE_MS, unit: MAX_PAYLOAD_BYTES });
