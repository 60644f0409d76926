// Storage protocol framing: encode, decode and validate frames; FrameReader turns a libp2p v3 stream
// (an event target of Uint8Array | Uint8ArrayList chunks) into frames with backpressure and an idle timeout.
import { Uint8ArrayList } from 'uint8arraylist';
import { StreamStateError, type Stream } from '@libp2p/interface';
import { boundedBy } from '../common/wait.ts';
import {
  BODY_FIXED_BYTES,
  FRAME_PREFIX_BYTES,
  IDLE_TIMEOUT_MS,
  MAX_FRAME_BODY,
  MAX_HEADER_BYTES,
  MAX_PAYLOAD_BYTES,
  MAX_READ_RANGES,
  MAX_READ_TOTAL,
  MSG,
  READ_HIGH_WATER,
  SEND_BUFFER_BYTES,
  STREAM_READ_BUFFER
} from './constants.ts';
import { FrameTooLargeError, NetError, ProtocolError, StreamTimeoutError, AbortedError } from './errors.ts';

export type Header = Record<string, unknown>;
export interface Frame {
  type: number;
  header: Header;
  payload: Uint8Array;
}

const EMPTY = new Uint8Array(0);
const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/** Encode one frame as a list of buffers (no payload copy). A payload given as parts is sent as their
 *  concatenation, each part appended as it is (a READ answer's ranges: no buffer made to join them). */
export function encodeFrame(type: number, header: Header = {}, payload: Uint8Array | readonly Uint8Array[] = EMPTY): Uint8ArrayList {
  const parts = payload instanceof Uint8Array ? [payload] : payload;
  let payloadLen = 0;
  for (const p of parts) payloadLen += p.byteLength;
  const h = Object.keys(header).length ? enc.encode(JSON.stringify(header)) : EMPTY;
  if (h.byteLength > MAX_HEADER_BYTES) throw new ProtocolError(`header of ${h.byteLength} bytes exceeds ${MAX_HEADER_BYTES}`);
  if (payloadLen > MAX_PAYLOAD_BYTES) throw new ProtocolError(`payload of ${payloadLen} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
  const bodyLen = BODY_FIXED_BYTES + h.byteLength + payloadLen;
  const pre = new Uint8Array(FRAME_PREFIX_BYTES + BODY_FIXED_BYTES + h.byteLength);
  const dv = new DataView(pre.buffer);
  dv.setUint32(0, bodyLen);
  dv.setUint8(4, type);
  dv.setUint16(5, h.byteLength);
  pre.set(h, 7);
  const out = new Uint8ArrayList(pre);
  for (const p of parts) if (p.byteLength) out.append(p as Uint8Array<ArrayBuffer>);
  return out;
}

/** Decode a frame body (without its length prefix). Throws ProtocolError on any malformation. */
export function decodeBody(body: Uint8Array): Frame {
  if (body.byteLength < BODY_FIXED_BYTES) throw new ProtocolError('frame body too short');
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const type = dv.getUint8(0);
  const hlen = dv.getUint16(1);
  if (hlen > MAX_HEADER_BYTES) throw new ProtocolError(`header length ${hlen} exceeds ${MAX_HEADER_BYTES}`);
  if (BODY_FIXED_BYTES + hlen > body.byteLength) throw new ProtocolError('header length runs past the frame');
  let header: Header = {};
  if (hlen > 0) {
    let v: unknown;
    try {
      v = JSON.parse(dec.decode(body.subarray(BODY_FIXED_BYTES, BODY_FIXED_BYTES + hlen)));
    } catch {
      throw new ProtocolError('header is not valid UTF-8 JSON');
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ProtocolError('header must be a JSON object');
    header = v as Header;
  }
  const payload = body.subarray(BODY_FIXED_BYTES + hlen);
  if (payload.byteLength > MAX_PAYLOAD_BYTES) throw new ProtocolError('payload too large');
  return { type, header, payload };
}

// ---- strict header validation -------------------------------------------------------------------------

type FieldKind =
  'si' | 'shareNum' | 'uint' | 'string' | 'bool' | 'ranges' | 'shareNums' | 'listing' | 'lengths' | 'slotStatus' | 'hash' | 'hashes' | 'ueb' | 'any';
interface FieldSpec {
  kind: FieldKind;
  optional?: boolean;
}
export type Schema = Record<string, FieldSpec>;

const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isShareNum = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255;

function checkField(name: string, kind: FieldKind, v: unknown): void {
  const bad = (what: string) => {
    throw new ProtocolError(`field "${name}" ${what}`, { field: name });
  };
  switch (kind) {
    case 'si':
      if (typeof v !== 'string' || !/^[0-9a-f]{32}$/.test(v)) bad('must be 32 lowercase hex digits');
      break;
    case 'shareNum':
      if (!isShareNum(v)) bad('must be an integer 0..255');
      break;
    case 'uint':
      if (!isUint(v)) bad('must be a non-negative safe integer');
      break;
    case 'string':
      if (typeof v !== 'string' || v.length > 1024) bad('must be a string');
      break;
    case 'bool':
      if (typeof v !== 'boolean') bad('must be a boolean');
      break;
    case 'ranges': {
      if (!Array.isArray(v) || v.length === 0 || v.length > MAX_READ_RANGES) bad(`must be 1..${MAX_READ_RANGES} [offset, length] pairs`);
      let total = 0;
      for (const r of v as unknown[]) {
        if (!Array.isArray(r) || r.length !== 2 || !isUint(r[0]) || !isUint(r[1])) bad('entries must be [offset, length] non-negative integers');
        total += (r as number[])[1];
      }
      if (total > MAX_READ_TOTAL) bad(`asks for ${total} bytes, more than ${MAX_READ_TOTAL} per request`);
      break;
    }
    case 'shareNums':
      if (v !== 'all' && (!Array.isArray(v) || v.length === 0 || v.length > 256 || !v.every(isShareNum) || new Set(v).size !== v.length))
        bad('must be "all" or distinct share numbers');
      break;
    case 'listing':
      if (
        !Array.isArray(v) ||
        v.length > 256 ||
        !v.every((e) => e && typeof e === 'object' && isShareNum(e.shareNum) && isUint(e.size) && Object.keys(e).length === 2)
      )
        bad('must be [{shareNum, size}]');
      break;
    case 'lengths':
      if (!Array.isArray(v) || v.length > MAX_READ_RANGES || !v.every(isUint)) bad('must be byte counts');
      break;
    case 'hash':
      if (typeof v !== 'string' || !/^[0-9a-f]{64}$/.test(v)) bad('must be 64 lowercase hex digits');
      break;
    case 'ueb':
      if (typeof v !== 'string' || !/^[0-9a-f]{144}$/.test(v)) bad('must be 144 lowercase hex digits (a 72-byte UEB)');
      break;
    case 'hashes':
      if (!Array.isArray(v) || v.length > 40 || !v.every((x) => typeof x === 'string' && /^[0-9a-f]{64}$/.test(x)))
        bad('must be at most 40 hashes of 64 hex digits');
      break;
    case 'slotStatus':
      if (v !== 'stored' && v !== 'unchanged') bad('must be "stored" or "unchanged"');
      break;
    case 'any':
      break;
  }
}

/**
 * Check a header against a schema: required fields present and typed, no unknown fields. Own properties only:
 * `key in schema` would accept `__proto__`, `constructor` or `toString` as known fields (they are inherited from
 * Object.prototype), and JSON.parse makes `"__proto__"` an own property of the header.
 */
export function validate(header: Header, schema: Schema): void {
  for (const key of Object.keys(header)) if (!Object.hasOwn(schema, key)) throw new ProtocolError(`unknown field "${key}"`, { field: key });
  for (const [name, spec] of Object.entries(schema)) {
    if (!Object.hasOwn(header, name)) {
      if (spec.optional) continue;
      throw new ProtocolError(`missing field "${name}"`, { field: name });
    }
    checkField(name, spec.kind, header[name]);
  }
}

/** Request schemas (client → server). */
export const REQUEST_SCHEMAS: Record<number, Schema> = {
  [MSG.HELLO]: {},
  [MSG.ACCEPT]: { si: { kind: 'si' }, shareNum: { kind: 'shareNum' }, size: { kind: 'uint' } },
  [MSG.WRITE]: {
    si: { kind: 'si' },
    shareNum: { kind: 'shareNum' },
    size: { kind: 'uint' },
    ueb: { kind: 'ueb' },
    leaseUntil: { kind: 'uint', optional: true }
  },
  [MSG.DATA]: {},
  [MSG.COMMIT]: {},
  [MSG.READ]: { si: { kind: 'si' }, shareNum: { kind: 'shareNum' }, ranges: { kind: 'ranges' } },
  [MSG.LIST]: { si: { kind: 'si' } },
  [MSG.RENEW]: { si: { kind: 'si' }, shareNums: { kind: 'shareNums' }, until: { kind: 'uint' } },
  [MSG.DELETE]: { si: { kind: 'si' }, shareNum: { kind: 'shareNum' } },
  [MSG.SLOT_PUT]: { si: { kind: 'si' }, leaseUntil: { kind: 'uint', optional: true } },
  [MSG.SLOT_GET]: { si: { kind: 'si' } },
  [MSG.AUDIT]: { si: { kind: 'si' }, shareNum: { kind: 'shareNum' }, segment: { kind: 'uint' }, nonce: { kind: 'hash' } }
};
/** Requests that carry a payload (the others must not). */
export const REQUESTS_WITH_PAYLOAD: ReadonlySet<number> = new Set([MSG.SLOT_PUT]);
/** Answers that carry a payload. */
export const ANSWERS_WITH_PAYLOAD: ReadonlySet<number> = new Set([MSG.READ, MSG.SLOT_GET, MSG.AUDIT]);

/** Response schemas, keyed by the request they answer. */
export const RESPONSE_SCHEMAS: Record<number, Schema> = {
  [MSG.HELLO]: { offered: { kind: 'uint' }, used: { kind: 'uint' }, free: { kind: 'uint' }, shares: { kind: 'uint' }, maxPayload: { kind: 'uint' } },
  [MSG.ACCEPT]: { ok: { kind: 'bool' }, reason: { kind: 'string', optional: true }, message: { kind: 'string', optional: true } },
  [MSG.WRITE]: {},
  [MSG.COMMIT]: { size: { kind: 'uint' }, leaseExpiry: { kind: 'uint' } },
  [MSG.READ]: { lengths: { kind: 'lengths' } },
  [MSG.LIST]: { shares: { kind: 'listing' } },
  [MSG.RENEW]: { renewed: { kind: 'uint' } },
  [MSG.DELETE]: {},
  [MSG.SLOT_PUT]: { status: { kind: 'slotStatus' }, seq: { kind: 'uint' }, leaseExpiry: { kind: 'uint' } },
  [MSG.SLOT_GET]: {},
  [MSG.AUDIT]: { leaf: { kind: 'hash' }, path: { kind: 'hashes' }, proof: { kind: 'hash' } }
};
export const ERROR_SCHEMA: Schema = { code: { kind: 'string' }, message: { kind: 'string' }, reason: { kind: 'string', optional: true } };

// ---- reading frames off a stream ---------------------------------------------------------------------

export interface FrameReaderOptions {
  maxBody?: number;
  idleMs?: number;
  /** Aborts the reader; a signal whose reason is a NetError (a deadline) fails next() with that error. */
  signal?: AbortSignal;
  /** Pause the stream above this many buffered bytes (default READ_HIGH_WATER). */
  highWater?: number;
  /** The stream's own read buffer limit, reached only while paused (default STREAM_READ_BUFFER); beyond it libp2p resets the stream. */
  readBuffer?: number;
  /**
   * Bytes the stream must begin with, taken before the first frame: a lazily selected stream's multistream-select
   * echo (src/net/lazy-select.ts). Anything else there (a listener that answers "na") is a ProtocolError.
   */
  echo?: Uint8Array;
}

/**
 * Pulls frames from a libp2p v3 stream. Pauses the stream when more than READ_HIGH_WATER bytes wait
 * (Yamux then stops granting window, so the sender blocks), resumes as frames are consumed.
 * A length prefix above maxBody throws FrameTooLargeError before the body is buffered.
 */
export class FrameReader {
  private readonly buf = new Uint8ArrayList();
  private readonly stream: Stream;
  private maxBody: number;
  private highWater: number;
  private readonly idleMs: number;
  private readonly signal?: AbortSignal;
  private ended = false;
  /** The stream had ended before this reader listened: ended once the bytes it still held were dispatched. */
  private endPending = false;
  private error: Error | undefined;
  private paused = false;
  /** What the stream must still begin with (FrameReaderOptions.echo), null once taken. */
  private echo: Uint8Array | null;
  private wake: (() => void) | undefined;
  private readonly onMessage = (evt: { data: Uint8Array | Uint8ArrayList }) => {
    this.buf.append(evt.data);
    if (!this.paused && this.buf.byteLength > this.highWater) {
      this.paused = true;
      this.stream.pause();
    }
    this.notify();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.notify();
  };
  private readonly onClose = (evt: Event) => {
    const err = (evt as Event & { error?: Error }).error;
    if (err && !this.error) this.error = err;
    this.ended = true;
    this.notify();
  };
  private readonly onAbort = () => {
    const reason: unknown = this.signal?.reason;
    this.error ??= reason instanceof NetError ? reason : new AbortedError();
    this.notify();
  };

  constructor(stream: Stream, opts: FrameReaderOptions = {}) {
    this.stream = stream;
    this.maxBody = opts.maxBody ?? MAX_FRAME_BODY;
    this.highWater = opts.highWater ?? READ_HIGH_WATER;
    this.idleMs = opts.idleMs ?? IDLE_TIMEOUT_MS;
    this.signal = opts.signal;
    this.echo = opts.echo?.length ? opts.echo : null;
    stream.maxReadBufferLength = opts.readBuffer ?? STREAM_READ_BUFFER;
    stream.addEventListener('message', this.onMessage as never);
    stream.addEventListener('end', this.onEnd);
    stream.addEventListener('close', this.onClose);
    this.signal?.addEventListener('abort', this.onAbort);
    if (this.signal?.aborted) this.onAbort();
    // A stream can already have ended while bytes still wait in its own buffer: multistream-select read the
    // answer and the remote's close together and handed the answer back (unshift) after 'end' went out. Adding
    // our 'message' listener dispatches those bytes in a microtask, so the end counts only after that.
    if (stream.readableEnded || stream.status !== 'open') this.endPending = stream.readableEnded || stream.readStatus === 'closed';
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /**
   * Raise (or lower) the limits for the next phase of a stream, e.g. a server reading a small request first
   * and a share's DATA frames only once it accepted the WRITE.
   */
  setLimits(o: { maxBody?: number; highWater?: number; readBuffer?: number }): void {
    if (o.maxBody !== undefined) this.maxBody = o.maxBody;
    if (o.highWater !== undefined) this.highWater = o.highWater;
    if (o.readBuffer !== undefined) this.stream.maxReadBufferLength = o.readBuffer;
  }

  /**
   * The buffered frame of body length `len` with its payload copied into `dest`, if that is its payload's length
   * (`fit` 'exact'), or into the start of `dest` if it fits there ('prefix': the payload is a view of `dest`).
   */
  private frameInto(len: number, dest: Uint8Array | undefined, fit: 'exact' | 'prefix'): Frame | null {
    if (!dest) return null;
    const hlen = this.buf.getUint16(FRAME_PREFIX_BYTES + 1);
    const start = FRAME_PREFIX_BYTES + BODY_FIXED_BYTES + hlen;
    const plen = FRAME_PREFIX_BYTES + len - start;
    if (start > FRAME_PREFIX_BYTES + len || (fit === 'exact' ? plen !== dest.length : plen > dest.length)) return null;
    const frame = decodeBody(this.buf.subarray(FRAME_PREFIX_BYTES, start)); // type and header, checked as always
    if (plen > MAX_PAYLOAD_BYTES) throw new ProtocolError('payload too large');
    let at = 0;
    for (const piece of this.buf.sublist(start, FRAME_PREFIX_BYTES + len)) {
      dest.set(piece, at);
      at += piece.length;
    }
    return { ...frame, payload: plen === dest.length ? dest : dest.subarray(0, plen) };
  }

  /** Bytes received and not yet returned as frames. */
  get buffered(): number {
    return this.buf.byteLength;
  }

  /** A complete frame is already buffered (or the stream failed): lets a sender notice an early answer. */
  hasInput(): boolean {
    return this.error !== undefined || this.buf.byteLength >= (this.echo?.length ?? 0) + FRAME_PREFIX_BYTES;
  }

  /** Take the expected echo off the front once it is all there (true); throws as soon as a byte differs. */
  private takeEcho(echo: Uint8Array): boolean {
    const have = Math.min(this.buf.byteLength, echo.length);
    for (let i = 0; i < have; i++) {
      if (this.buf.get(i) !== echo[i]) throw new ProtocolError('the peer did not select the protocol (multistream-select answered otherwise)');
    }
    if (have < echo.length) return false;
    this.buf.consume(have);
    this.echo = null;
    return true;
  }

  /**
   * Next frame, or null at a clean end of stream. `dest`: where a payload of exactly its length goes, copied
   * from the received pieces (the frame's payload is then `dest`); a body in several pieces is otherwise joined
   * into fresh memory first, which is then copied again by a caller assembling a bigger buffer. With `fit`
   * 'prefix', a payload of at most its length goes to the start of `dest` (a scratch buffer the caller reuses
   * frame after frame: the payload is a view of it, valid until the caller writes `dest` again).
   */
  async next(dest?: Uint8Array, fit: 'exact' | 'prefix' = 'exact'): Promise<Frame | null> {
    for (;;) {
      if (this.echo && !this.takeEcho(this.echo)) {
        // still waiting for the rest of the echo: no frame can start before it
      } else if (this.buf.byteLength >= FRAME_PREFIX_BYTES) {
        const len = this.buf.getUint32(0);
        if (len > this.maxBody) throw new FrameTooLargeError(len, this.maxBody);
        if (len < BODY_FIXED_BYTES) throw new ProtocolError(`frame body length ${len} is too short`);
        if (this.buf.byteLength >= FRAME_PREFIX_BYTES + len) {
          const frame = this.frameInto(len, dest, fit) ?? decodeBody(this.buf.subarray(FRAME_PREFIX_BYTES, FRAME_PREFIX_BYTES + len));
          this.buf.consume(FRAME_PREFIX_BYTES + len);
          if (this.paused && this.buf.byteLength < this.highWater / 2) {
            this.paused = false;
            this.stream.resume();
          }
          return frame;
        }
      }
      if (this.error) throw this.error;
      if (this.endPending) {
        this.endPending = false;
        await new Promise<void>((resolve) => setImmediate(resolve));
        this.ended = true;
        continue;
      }
      if (this.ended) {
        if (this.echo) throw new ProtocolError('the peer closed the stream before it selected the protocol');
        if (this.buf.byteLength > 0) throw new ProtocolError('stream ended inside a frame');
        return null;
      }
      if (this.paused) {
        this.paused = false;
        this.stream.resume();
      } // need more bytes than buffered: let them in
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => {
          this.wake = undefined;
          reject(new StreamTimeoutError(this.idleMs));
        }, this.idleMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  release(): void {
    this.stream.removeEventListener('message', this.onMessage as never);
    this.stream.removeEventListener('end', this.onEnd);
    this.stream.removeEventListener('close', this.onClose);
    this.signal?.removeEventListener('abort', this.onAbort);
  }
}

/**
 * Send one frame; return once the stream holds at most SEND_BUFFER_BYTES not yet handed to its muxer. Waiting
 * stops after `idleMs` without progress (the stream's buffer did not shrink): a peer whose packets stop arriving
 * (cut off, not closed) never opens its window again, and TCP would take many minutes to notice. The stream is
 * aborted on that timeout (StreamTimeoutError).
 *
 * Not libp2p's `onDrain`: in @libp2p/utils 7 its promise, once resolved, stays resolved for every later wait of
 * the stream, and every stream of a connection is told 'drain' when the connection drains, whatever its own window.
 * A bulk upload's frames then all went into the stream's buffer at once: "sent" long before any byte left, a 1 GiB
 * backup's shares held in memory twice, and a share's commit answer waited for all of it under the idle timeout
 * (4 shares of 8 MiB to one peer over 8 Mbit/s: every upload failed after 30 s, test/net/backpressure.test.ts).
 */
export async function sendFrame(stream: Stream, frame: Uint8ArrayList, signal?: AbortSignal, idleMs = IDLE_TIMEOUT_MS): Promise<void> {
  stream.send(frame);
  if (stream.writeBufferLength > SEND_BUFFER_BYTES) await drainedTo(stream, SEND_BUFFER_BYTES, signal, idleMs);
}

/** Until `stream` holds at most `mark` unsent bytes; see sendFrame. Rejects when the stream closes first. */
function drainedTo(stream: Stream, mark: number, signal: AbortSignal | undefined, idleMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let left = stream.writeBufferLength;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (err?: unknown): void => {
      clearTimeout(timer);
      stream.removeEventListener('drain', onDrain);
      stream.removeEventListener('idle', check);
      stream.removeEventListener('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      if (err === undefined) resolve();
      else reject(err);
    };
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(onTimeout, idleMs);
      timer.unref(); // a wait never keeps the process alive
    };
    function check(): void {
      if (stream.status !== 'open') return finish(new StreamStateError(`the stream is ${stream.status}`));
      const now = stream.writeBufferLength;
      if (now <= mark) return finish();
      if (now < left) {
        left = now;
        arm();
      }
    }
    // The stream's own 'drain' listener (added first) queues its send; look once that ran.
    const onDrain = (): void => queueMicrotask(check);
    const onClose = (evt: Event): void =>
      finish((evt as Event & { error?: Error }).error ?? new StreamStateError('the stream closed before its frames were sent'));
    const onAbort = (): void => finish(signal!.reason);
    function onTimeout(): void {
      const err = new StreamTimeoutError(idleMs);
      finish(err);
      stream.abort(err);
    }
    if (signal?.aborted) return finish(signal.reason);
    stream.addEventListener('drain', onDrain);
    stream.addEventListener('idle', check);
    stream.addEventListener('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
    arm();
    check();
  });
}

/** Close our side of a stream (waiting for what is queued to go out), at most `idleMs`; then aborted. Never throws. */
export async function closeStream(stream: Stream, signal?: AbortSignal, idleMs = IDLE_TIMEOUT_MS): Promise<void> {
  try {
    await boundedBy(signal, idleMs, (s) => stream.close({ signal: s }));
  } catch (e) {
    if (stream.status === 'open' || stream.status === 'closing') stream.abort(e as Error);
  }
}
