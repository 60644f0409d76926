// StorageClient: talks /p2pbackup/storage/1.0.0 to one remote peer; remote errors become named errors.
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { Uint8ArrayList } from 'uint8arraylist';
import { ShareNotFoundError, OutOfRangeError, SlotNotFoundError, siToHex, checkSi, checkShareNum } from '../store/index.ts';
import type { AcceptDecision, RefusalReason, ShareListing } from '../store/index.ts';
import {
  DIAL_TIMEOUT_MS,
  IDLE_TIMEOUT_MS,
  MAX_PAYLOAD_BYTES,
  MAX_READ_RANGES,
  MAX_READ_TOTAL,
  MSG,
  READ_REQUESTS_IN_FLIGHT,
  STORAGE_PROTOCOL
} from './constants.ts';
import { forEachLimit } from '../common/pool.ts';
import { boundedBy } from '../common/wait.ts';
import { AbortedError, PeerUnreachableError, ProtocolError, RemoteError, RemoteRefusedError } from './errors.ts';
import { ANSWERS_WITH_PAYLOAD, ERROR_SCHEMA, FrameReader, RESPONSE_SCHEMAS, closeStream, encodeFrame, sendFrame, validate } from './frame.ts';
import type { Frame, Header } from './frame.ts';
import { takeLazySelect } from './lazy-select.ts';

export interface RemoteStats {
  offered: number;
  used: number;
  free: number;
  shares: number;
  maxPayload: number;
}
export interface WriteProgress {
  type: 'write-progress';
  peer: string;
  si: string;
  shareNum: number;
  sent: number;
  total: number;
}
export interface WriteShareOptions {
  /** The pack's UEB (72 bytes): the server checks the share against it before it commits (src/format/check.ts). */
  ueb: Uint8Array;
  signal?: AbortSignal;
  onProgress?: (e: WriteProgress) => void;
  /** Lease expiry to ask for (ms since epoch); the server clamps it. */
  leaseUntil?: number;
}
export type WriteShareResult = { status: 'written'; size: number; leaseExpiry: number } | { status: 'exists' };
export interface OpOptions {
  signal?: AbortSignal;
}
export interface PutSlotOptions extends OpOptions {
  /** Lease expiry to ask for (ms since epoch); the server clamps it and never shortens a lease. */
  leaseUntil?: number;
}
/** `stored`: the peer now holds this record; `unchanged`: it already held these exact bytes (lease renewed). */
export interface PutSlotResult {
  status: 'stored' | 'unchanged';
  seq: number;
  leaseExpiry: number;
}
export type ByteRange = [offset: number, length: number];

export interface StorageClientOptions {
  idleMs?: number;
  dialTimeoutMs?: number;
  /** How to get a connection to the peer (src/net/paths.ts: direct, own connection, relay); absent: libp2p dials. */
  connect?: (peer: PeerId | Multiaddr, signal: AbortSignal) => Promise<Connection>;
  /**
   * Shared by every client of one peer (src/net/node.ts): READ requests to that peer wait here, so reads side by
   * side (a restore's many files, each read split into requests) stay below the streams a peer serves at once.
   */
  readGate?: <T>(task: () => Promise<T>) => Promise<T>;
}

/** A lazily selected stream's first frame goes out behind the protocol lines, in the same message. */
function withPreamble(preamble: Uint8Array | null, frame: Uint8ArrayList): Uint8ArrayList {
  if (preamble) frame.prepend(preamble);
  return frame;
}

export class StorageClient {
  readonly node: Libp2p;
  readonly peer: PeerId | Multiaddr;
  private readonly idleMs: number;
  private readonly dialTimeoutMs: number;
  private readonly connect?: StorageClientOptions['connect'];
  private readonly readGate?: StorageClientOptions['readGate'];

  constructor(node: Libp2p, peer: PeerId | Multiaddr, opts: StorageClientOptions = {}) {
    this.node = node;
    this.peer = peer;
    this.idleMs = opts.idleMs ?? IDLE_TIMEOUT_MS;
    this.dialTimeoutMs = opts.dialTimeoutMs ?? DIAL_TIMEOUT_MS;
    this.connect = opts.connect;
    this.readGate = opts.readGate;
  }

  private get peerName(): string {
    return this.peer.toString();
  }

  /**
   * A stream for one request, and the reader of its answers. Selected lazily (src/net/lazy-select.ts): the protocol
   * goes out with the request, and the reader takes the listener's echo of it before the first answer.
   */
  private async open(signal?: AbortSignal): Promise<{ stream: Stream; reader: FrameReader; preamble: Uint8Array | null }> {
    if (signal?.aborted) throw new AbortedError();
    // One stream per request: its deadline goes away once the stream is open (common/wait.ts says why).
    let stream: Stream;
    try {
      const options = (s: AbortSignal) => ({ signal: s, lazySelect: true }) as { signal: AbortSignal };
      if (!this.connect) stream = await boundedBy(signal, this.dialTimeoutMs, (s) => this.node.dialProtocol(this.peer, STORAGE_PROTOCOL, options(s)));
      else {
        // The connector picks the path and bounds it itself (a direct dial, then relays); the stream its own deadline.
        const conn = await this.connect(this.peer, signal ?? new AbortController().signal);
        stream = await boundedBy(signal, this.dialTimeoutMs, (s) => conn.newStream(STORAGE_PROTOCOL, options(s)));
      }
    } catch (e) {
      if (signal?.aborted) throw new AbortedError();
      throw new PeerUnreachableError(this.peerName, e);
    }
    const lines = takeLazySelect(stream);
    return { stream, reader: new FrameReader(stream, { idleMs: this.idleMs, signal, echo: lines ?? undefined }), preamble: lines };
  }

  /** Read the answer to `reqType`: OK → validated header; ERROR → mapped error. */
  private async answer(reader: FrameReader, reqType: number, ctx: { si?: string; shareNum?: number }, dest?: Uint8Array): Promise<Frame> {
    let f: Frame | null;
    try {
      f = await reader.next(dest);
    } catch (e) {
      if (e instanceof ProtocolError || e instanceof AbortedError) throw e;
      throw new PeerUnreachableError(this.peerName, e);
    }
    if (!f) throw new ProtocolError('peer closed the stream without answering', { peer: this.peerName });
    if (f.type === MSG.ERROR) {
      validate(f.header, ERROR_SCHEMA);
      throw mapRemoteError(f.header, this.peerName, ctx);
    }
    if (f.type !== MSG.OK) throw new ProtocolError(`unexpected answer type 0x${f.type.toString(16)}`, { peer: this.peerName });
    validate(f.header, RESPONSE_SCHEMAS[reqType]);
    if (!ANSWERS_WITH_PAYLOAD.has(reqType) && f.payload.byteLength) throw new ProtocolError('unexpected payload in answer');
    return f;
  }

  /** One request, one answer (its payload written into `dest` when it is exactly that long: FrameReader.next). */
  private async call(
    type: number,
    header: Header,
    ctx: { si?: string; shareNum?: number },
    opts: OpOptions = {},
    payload?: Uint8Array,
    dest?: Uint8Array
  ): Promise<Frame> {
    const { stream, reader, preamble } = await this.open(opts.signal);
    const lazy = preamble !== null;
    try {
      await sendFrame(stream, withPreamble(preamble, encodeFrame(type, header, payload)), opts.signal, this.idleMs);
      // The request is one frame: the server needs no end of stream to answer it. A lazily selected stream stays open
      // until the answer: js-libp2p's listener hands the request back after the protocol line only while our side is
      // open (the `unshift` of a closed stream throws, and the stream is reset).
      if (!lazy) await closeStream(stream, opts.signal, this.idleMs);
      return await this.answer(reader, type, ctx, dest);
    } finally {
      reader.release();
      if (stream.status === 'open') stream.abort(new Error('done'));
    }
  }

  async stats(opts?: OpOptions): Promise<RemoteStats> {
    const f = await this.call(MSG.HELLO, {}, {}, opts);
    return f.header as unknown as RemoteStats;
  }

  async canAccept(si: Uint8Array, shareNum: number, size: number, opts?: OpOptions): Promise<AcceptDecision> {
    checkSi(si);
    checkShareNum(shareNum);
    const f = await this.call(MSG.ACCEPT, { si: siToHex(si), shareNum, size }, { si: siToHex(si), shareNum }, opts);
    const h = f.header as { ok: boolean; reason?: string; message?: string };
    return h.ok ? { ok: true } : { ok: false, reason: (h.reason ?? 'policy') as RefusalReason, message: h.message ?? '' };
  }

  /**
   * Upload one share. Resolves {status:'written'} once the remote committed it (fsynced), or {status:'exists'}
   * when this peer already holds it from us (count it as placed). Refusals throw RemoteRefusedError.
   */
  async writeShare(
    si: Uint8Array,
    shareNum: number,
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> | Uint8Array,
    size: number,
    opts: WriteShareOptions
  ): Promise<WriteShareResult> {
    checkSi(si);
    checkShareNum(shareNum);
    const siHex = siToHex(si);
    const ctx = { si: siHex, shareNum };
    const { stream, reader, preamble } = await this.open(opts.signal);
    try {
      const header: Header = { si: siHex, shareNum, size, ueb: Buffer.from(opts.ueb).toString('hex') };
      if (opts.leaseUntil !== undefined) header.leaseUntil = opts.leaseUntil;
      await sendFrame(stream, withPreamble(preamble, encodeFrame(MSG.WRITE, header)), opts.signal, this.idleMs);
      try {
        await this.answer(reader, MSG.WRITE, ctx);
      } catch (e) {
        if (e instanceof RemoteRefusedError && e.reason === 'exists') return { status: 'exists' };
        throw e;
      }
      let sent = 0;
      const chunks = source instanceof Uint8Array ? [source] : source;
      for await (const chunk of chunks) {
        for (let off = 0; off < chunk.byteLength; off += MAX_PAYLOAD_BYTES) {
          if (opts.signal?.aborted) throw new AbortedError();
          if (reader.hasInput()) return await this.earlyAnswer(reader, ctx); // the server gave up on us
          const piece = chunk.subarray(off, off + MAX_PAYLOAD_BYTES);
          sent += piece.byteLength;
          if (sent > size) throw new ProtocolError(`source produced more than the announced ${size} bytes`);
          await sendFrame(stream, encodeFrame(MSG.DATA, {}, piece), opts.signal, this.idleMs);
          opts.onProgress?.({ type: 'write-progress', peer: this.peerName, si: siHex, shareNum, sent, total: size });
        }
      }
      if (sent !== size) throw new ProtocolError(`source produced ${sent} bytes, announced ${size}`);
      await sendFrame(stream, encodeFrame(MSG.COMMIT), opts.signal, this.idleMs);
      await closeStream(stream, opts.signal, this.idleMs);
      const f = await this.answer(reader, MSG.COMMIT, ctx);
      return { status: 'written', size: f.header.size as number, leaseExpiry: f.header.leaseExpiry as number };
    } catch (e) {
      if (opts.signal?.aborted && !(e instanceof AbortedError)) throw new AbortedError();
      throw e;
    } finally {
      reader.release();
      if (stream.status === 'open') stream.abort(new Error('write finished or failed'));
    }
  }

  private async earlyAnswer(reader: FrameReader, ctx: { si?: string; shareNum?: number }): Promise<never> {
    await this.answer(reader, MSG.COMMIT, ctx);
    throw new ProtocolError('peer answered before the share was complete');
  }

  /**
   * Read byte ranges of a share; requests bigger than one frame are split transparently. `into` (one range, at
   * least its length): where a range split over several answers is assembled instead of a new buffer; the caller
   * may reuse it once this resolves (after a failure, answers still arriving may write it).
   */
  async read(si: Uint8Array, shareNum: number, ranges: ByteRange[], opts?: OpOptions & { into?: Uint8Array }): Promise<Uint8Array[]> {
    checkSi(si);
    checkShareNum(shareNum);
    const ctx = { si: siToHex(si), shareNum };
    // Split into pieces of ≤ MAX_READ_TOTAL bytes, batched ≤ MAX_READ_RANGES per request.
    const pieces: { idx: number; off: number; len: number }[] = [];
    ranges.forEach(([off, len], idx) => {
      if (!Number.isSafeInteger(off) || !Number.isSafeInteger(len) || off < 0 || len < 0)
        throw new OutOfRangeError(`bad range [${off}, +${len})`, { offset: off, length: len });
      if (len === 0) pieces.push({ idx, off, len: 0 });
      for (let o = 0; o < len; o += MAX_READ_TOTAL) pieces.push({ idx, off: off + o, len: Math.min(MAX_READ_TOTAL, len - o) });
    });
    // A range answered in one piece is a view of its answer (fresh memory the reader decoded, ours alone); only a
    // range split over several pieces is assembled in a buffer of its own.
    const split = new Set(pieces.filter((p, i) => i > 0 && pieces[i - 1].idx === p.idx).map((p) => p.idx));
    const into = ranges.length === 1 && opts?.into && opts.into.length >= ranges[0][1] ? opts.into : undefined;
    const out: Uint8Array[] = ranges.map(([, len], i) => (!split.has(i) ? new Uint8Array(0) : into ? into.subarray(0, len) : new Uint8Array(len)));
    const batches: { pieces: typeof pieces; total: number }[] = [];
    for (let i = 0; i < pieces.length;) {
      const batch: typeof pieces = [];
      let total = 0;
      while (i < pieces.length && batch.length < MAX_READ_RANGES && total + pieces[i].len <= MAX_READ_TOTAL) {
        total += pieces[i].len;
        batch.push(pieces[i++]);
      }
      batches.push({ pieces: batch, total });
    }
    // Up to READ_REQUESTS_IN_FLIGHT requests at once (each its own stream): one after the other, a read of a
    // whole share (up to 8 MiB) pays a round trip per MiB plus each new stream's 256 KiB starting window on a
    // long link. (Not measurable on this machine's links, which queue but add no latency: the relay get row
    // was the same with one request at a time.)
    const offsets = ranges.map(() => 0);
    const at = batches.map((b) =>
      b.pieces.map((p) => {
        const o = offsets[p.idx];
        offsets[p.idx] += p.len;
        return o;
      })
    );
    const gate = this.readGate ?? ((task) => task());
    await forEachLimit(batches, READ_REQUESTS_IN_FLIGHT, async ({ pieces: batch, total }, b) => {
      // A batch that is one piece of an assembled range is answered straight into its place there.
      const one = batch.length === 1 && split.has(batch[0].idx) ? out[batch[0].idx].subarray(at[b][0], at[b][0] + batch[0].len) : undefined;
      const f = await gate(() => this.call(MSG.READ, { si: ctx.si, shareNum, ranges: batch.map((p) => [p.off, p.len]) }, ctx, opts, undefined, one));
      const lengths = f.header.lengths as number[];
      if (lengths.length !== batch.length || lengths.some((l, j) => l !== batch[j].len) || f.payload.byteLength !== total) {
        throw new ProtocolError('read answer does not match the ranges asked', { peer: this.peerName });
      }
      let pos = 0;
      batch.forEach((p, j) => {
        const piece = f.payload.subarray(pos, pos + p.len);
        if (split.has(p.idx)) {
          if (f.payload !== one) out[p.idx].set(piece, at[b][j]); // else it is there already
        } else out[p.idx] = new Uint8Array(piece.buffer, piece.byteOffset, piece.length); // a plain view (a Buffer's slice() would not copy)
        pos += p.len;
      });
    });
    return out;
  }

  async list(si: Uint8Array, opts?: OpOptions): Promise<ShareListing[]> {
    checkSi(si);
    const f = await this.call(MSG.LIST, { si: siToHex(si) }, { si: siToHex(si) }, opts);
    return f.header.shares as ShareListing[];
  }

  /** Extend leases of our shares of `si` (all of them, or the listed numbers); returns how many were renewed. */
  async renew(si: Uint8Array, shareNums: number[] | 'all', until: number, opts?: OpOptions): Promise<number> {
    checkSi(si);
    const f = await this.call(MSG.RENEW, { si: siToHex(si), shareNums, until }, { si: siToHex(si) }, opts);
    return f.header.renewed as number;
  }

  async delete(si: Uint8Array, shareNum: number, opts?: OpOptions): Promise<void> {
    checkSi(si);
    checkShareNum(shareNum);
    await this.call(MSG.DELETE, { si: siToHex(si), shareNum }, { si: siToHex(si), shareNum }, opts);
  }

  /**
   * Store a signed record in mutable slot `si` on this peer. The peer checks it belongs to the slot, is signed
   * and is newer than what it holds; refusals throw RemoteRefusedError (reason stale, wrong-slot, bad-signature,
   * invalid, too-large, quota).
   */
  async putSlot(si: Uint8Array, record: Uint8Array, opts: PutSlotOptions = {}): Promise<PutSlotResult> {
    checkSi(si);
    const header: Header = { si: siToHex(si) };
    if (opts.leaseUntil !== undefined) header.leaseUntil = opts.leaseUntil;
    const f = await this.call(MSG.SLOT_PUT, header, { si: siToHex(si) }, opts, record);
    return f.header as unknown as PutSlotResult;
  }

  /** Challenge this peer to prove it holds block `segment` of share `shareNum` (check the answer with checkAuditAnswer). */
  async audit(
    si: Uint8Array,
    shareNum: number,
    segment: number,
    nonce: Uint8Array,
    opts?: OpOptions
  ): Promise<{ block: Uint8Array; leaf: Uint8Array; path: Uint8Array[]; proof: Uint8Array }> {
    checkSi(si);
    checkShareNum(shareNum);
    const f = await this.call(
      MSG.AUDIT,
      { si: siToHex(si), shareNum, segment, nonce: Buffer.from(nonce).toString('hex') },
      { si: siToHex(si), shareNum },
      opts
    );
    const b = (x: unknown) => Uint8Array.from(Buffer.from(x as string, 'hex'));
    return { block: Uint8Array.from(f.payload), leaf: b(f.header.leaf), path: (f.header.path as string[]).map(b), proof: b(f.header.proof) };
  }

  /** The record this peer holds for slot `si` (unverified: check it with the cap), or null if it has none. */
  async getSlot(si: Uint8Array, opts?: OpOptions): Promise<Uint8Array | null> {
    checkSi(si);
    try {
      const f = await this.call(MSG.SLOT_GET, { si: siToHex(si) }, { si: siToHex(si) }, opts);
      return Uint8Array.from(f.payload);
    } catch (e) {
      if (e instanceof SlotNotFoundError) return null;
      throw e;
    }
  }
}

function mapRemoteError(h: Header, peer: string, ctx: { si?: string; shareNum?: number }): Error {
  const code = h.code as string;
  const message = `peer ${peer}: ${h.message as string}`;
  switch (code) {
    case 'ERR_SHARE_REFUSED':
      return new RemoteRefusedError((h.reason as string) ?? 'policy', message, { peer, ...ctx });
    case 'ERR_NOT_OWNER':
      return new RemoteRefusedError('not-owner', message, { peer, ...ctx });
    case 'ERR_SHARE_NOT_FOUND':
      return new ShareNotFoundError(ctx.si ?? '?', ctx.shareNum ?? -1);
    case 'ERR_SLOT_REFUSED':
      return new RemoteRefusedError((h.reason as string) ?? 'invalid', message, { peer, ...ctx });
    case 'ERR_SLOT_NOT_FOUND':
      return new SlotNotFoundError(ctx.si ?? '?');
    case 'ERR_OUT_OF_RANGE':
      return new OutOfRangeError(message, { peer, ...ctx });
    case 'ERR_PROTOCOL':
    case 'ERR_FRAME_TOO_LARGE':
      return new ProtocolError(message, { peer, remoteCode: code });
    default:
      return new RemoteError(code, message, { peer, ...ctx });
  }
}
