// Serves /p2pbackup/storage/1.0.0 from a ShareStore: one request per stream, owner = the Noise-authenticated remote peer.
import type { Connection, Libp2p, Stream } from '@libp2p/interface';
import type { ShareStore, ShareWriter } from '../store/index.ts';
import { P2PBackupError, UnsupportedError } from '../common/errors.ts';
import { IDLE_TIMEOUT_MS, MAX_FRAME_BODY, MAX_INBOUND_STREAMS, MAX_PAYLOAD_BYTES, MSG, STORAGE_PROTOCOL } from './constants.ts';
import { ProtocolError } from './errors.ts';
import { FrameReader, REQUESTS_WITH_PAYLOAD, REQUEST_SCHEMAS, encodeFrame, sendFrame, validate } from './frame.ts';
import { OutOfRangeError, ShareNotFoundError, SlotNotFoundError } from '../store/index.ts';
import { proveBlock } from '../format/audit.ts';
import type { Frame, Header } from './frame.ts';

export interface StorageServerOptions {
  idleMs?: number;
  maxInboundStreams?: number;
  /** Called with every request's outcome, for the daemon's log (core code never prints). */
  onEvent?: (e: { type: 'request'; op: string; peer: string; ok: boolean; code?: string; si?: string }) => void;
}

const OPS: Record<number, string> = {
  [MSG.HELLO]: 'hello', [MSG.ACCEPT]: 'accept', [MSG.WRITE]: 'write', [MSG.READ]: 'read',
  [MSG.LIST]: 'list', [MSG.RENEW]: 'renew', [MSG.DELETE]: 'delete', [MSG.SLOT_PUT]: 'slot-put', [MSG.SLOT_GET]: 'slot-get', [MSG.AUDIT]: 'audit',
};

const siBytes = (hex: unknown) => Uint8Array.from(Buffer.from(hex as string, 'hex'));

/** Register the storage protocol handler on `node`; returns a function that unregisters it. */
export async function serveStorage(node: Libp2p, store: ShareStore, opts: StorageServerOptions = {}): Promise<() => Promise<void>> {
  const idleMs = opts.idleMs ?? IDLE_TIMEOUT_MS;
  const handler = (stream: Stream, connection: Connection) => {
    handleStream(store, stream, connection.remotePeer.toString(), idleMs, opts.onEvent).catch(() => {});
  };
  await node.handle(STORAGE_PROTOCOL, handler, { maxInboundStreams: opts.maxInboundStreams ?? MAX_INBOUND_STREAMS });
  return () => node.unhandle(STORAGE_PROTOCOL);
}

async function handleStream(store: ShareStore, stream: Stream, owner: string, idleMs: number, onEvent: StorageServerOptions['onEvent']): Promise<void> {
  const reader = new FrameReader(stream, { maxBody: MAX_FRAME_BODY, idleMs });
  let op = 'unknown';
  try {
    const req = await reader.next();
    if (!req) throw new ProtocolError('stream closed before a request');
    op = OPS[req.type] ?? `0x${req.type.toString(16)}`;
    const schema = REQUEST_SCHEMAS[req.type];
    if (!schema || req.type === MSG.DATA || req.type === MSG.COMMIT) throw new ProtocolError(`unexpected request type 0x${req.type.toString(16)}`);
    validate(req.header, schema);
    if (!REQUESTS_WITH_PAYLOAD.has(req.type) && req.payload.byteLength) throw new ProtocolError('this request carries no payload');
    await dispatch(store, stream, reader, req, owner);
    onEvent?.({ type: 'request', op, peer: owner, ok: true, si: typeof req.header.si === 'string' ? req.header.si : undefined });
    await stream.close({ signal: AbortSignal.timeout(idleMs) });
  } catch (e) {
    const err = e as Error & { code?: string; reason?: string; details?: Record<string, unknown> };
    const code = err instanceof P2PBackupError ? err.code : 'ERR_INTERNAL';
    onEvent?.({ type: 'request', op, peer: owner, ok: false, code });
    const header: Header = { code, message: err instanceof P2PBackupError ? err.message : 'internal error' };
    if (typeof err.reason === 'string') header.reason = err.reason;
    try {
      if (stream.writeStatus === 'writable') {
        stream.send(encodeFrame(MSG.ERROR, header));
        await stream.close({ signal: AbortSignal.timeout(2000) });
      }
    } catch { /* peer gone */ }
    if (stream.status === 'open') stream.abort(err);
  } finally {
    reader.release();
  }
}

async function reply(stream: Stream, header: Header = {}, payload?: Uint8Array): Promise<void> {
  await sendFrame(stream, encodeFrame(MSG.OK, header, payload));
}

async function dispatch(store: ShareStore, stream: Stream, reader: FrameReader, req: Frame, owner: string): Promise<void> {
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
      const writer = await store.beginWrite(siBytes(h.si), h.shareNum as number, owner, h.size as number, { leaseUntil: h.leaseUntil as number | undefined });
      try {
        await reply(stream);
        await receiveShare(reader, writer);
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
      return reply(stream, { lengths: parts.map((p) => p.byteLength) }, Buffer.concat(parts));
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
      // Anyone may put: the store checks the record's key against the slot, its signature and its seq.
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

async function receiveShare(reader: FrameReader, writer: ShareWriter): Promise<void> {
  for (;;) {
    const f = await reader.next();
    if (!f) throw new ProtocolError('stream ended before commit');
    if (f.type === MSG.DATA) {
      if (Object.keys(f.header).length) throw new ProtocolError('DATA frames carry no header');
      await writer.write(f.payload);
    } else if (f.type === MSG.COMMIT) {
      if (Object.keys(f.header).length || f.payload.byteLength) throw new ProtocolError('COMMIT carries nothing');
      return;
    } else {
      throw new ProtocolError(`unexpected frame type 0x${f.type.toString(16)} during a write`);
    }
  }
}
