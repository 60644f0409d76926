// Chunk compression for format v2 (docs/FORMAT.md "Chunking and compression"): zstd through Node's built-in zlib,
// in an "auto" mode that keeps a chunk raw when zstd does not shrink it by at least 1/32, so media, archives
// and encrypted files cost no decompression on restore. Compress, then seal: the seal authenticates the
// compressed bytes, so no zstd checksum is added (a corrupt stream never reaches decompress()).
//   const { method, bytes } = compressAuto(chunk);            // method 0: bytes === chunk (no copy)
//   const plain = decompress(method, bytes, chunk.length);     // never allocates more than chunk.length
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { DecompressError, DecompressedLengthError, InvalidParamsError, UnknownCompressionError } from './errors.ts';

/** Method byte of a stored chunk: the bytes are the plaintext. */
export const COMPRESSION_RAW = 0;
/** Method byte of a stored chunk: the bytes are one zstd frame (RFC 8878) of the plaintext. */
export const COMPRESSION_ZSTD = 1;
export type CompressionMethod = typeof COMPRESSION_RAW | typeof COMPRESSION_ZSTD;

/**
 * zstd level. Measured here on the chunker's chunks (docs/FORMAT.md): level 3 stores 8% fewer bytes than level 1
 * on /usr/include (ratio 0.186 against 0.202; with the whole-chunk window, 0.139 against 0.151 where chunks
 * reach 8 MiB) and 6-7% fewer on /usr/share, compressing at 290-350 MB/s of CPU against 380-430; on random data
 * it still gives up early (1,400-1,700 MB/s). Bytes on the wire are what this format minimizes, so 3.
 */
export const ZSTD_DEFAULT_LEVEL = 3;
/** Levels accepted by compressAuto (zstd's positive range; higher levels are far slower for little gain). */
export const ZSTD_MIN_LEVEL = 1;
export const ZSTD_MAX_LEVEL = 19;
/**
 * zstd output is kept only if it saves at least plaintext / COMPRESS_MIN_SAVING_DIVISOR bytes (1/32 = 3.1%).
 * Measured here: chunks of JPEG/PNG-like media, .gz and most of .zip/.jar files shrink by 0 to 3% (zstd finds
 * only headers and entropy-coder slack), text and code by 50 to 90%. Under 3%, a 1 MiB chunk saves under 32 KB
 * (about 6 ms of a 40 Mbit/s uplink) while every restore would pay a decompression; above it the wire saving wins.
 */
export const COMPRESS_MIN_SAVING_DIVISOR = 32;
/** Largest expectedLength decompress() accepts, bytes: far above a chunk (8 MiB), far below memory trouble. */
export const DECOMPRESS_MAX_BYTES = 256 * 1024 * 1024;
/** zstd's smallest window log (ZSTD_WINDOWLOG_ABSOLUTEMIN). */
const ZSTD_MIN_WINDOW_LOG = 10;

export interface Compressed {
  method: CompressionMethod;
  /** Method 0: the plaintext itself (the same object, not a copy). Method 1: a zstd frame the caller owns. */
  bytes: Uint8Array;
}

export interface CompressOptions {
  /** zstd level, ZSTD_MIN_LEVEL..ZSTD_MAX_LEVEL; default ZSTD_DEFAULT_LEVEL. */
  level?: number;
}

function zstdOptions(plain: Uint8Array, level: number): zlib.ZstdOptions {
  if (!Number.isInteger(level) || level < ZSTD_MIN_LEVEL || level > ZSTD_MAX_LEVEL) {
    throw new InvalidParamsError(`zstd level must be an integer in ${ZSTD_MIN_LEVEL}..${ZSTD_MAX_LEVEL}, got ${String(level)}`, {
      param: 'level',
      value: level
    });
  }
  // The window is the whole chunk: matches reach across all of it (levels 1-3 default to 512 KiB-2 MiB windows;
  // where a repetitive tree (/usr/include) makes chunks of up to 8 MiB, level 3 then stores 5% fewer bytes, level
  // 1 25% fewer, at about the same speed),
  // and never beyond it, which is what lets decompress() cap the decoder's window by the expected length. The
  // pledged size puts the content size in the frame header.
  const windowLog = windowLogFor(plain.length);
  return { params: { [zlib.constants.ZSTD_c_compressionLevel]: level, [zlib.constants.ZSTD_c_windowLog]: windowLog }, pledgedSrcSize: plain.length };
}

/** Node returns small outputs as views of a 16 KiB buffer: copy those, so a kept chunk does not pin the rest. */
function owned(b: Buffer): Uint8Array {
  if (b.byteOffset === 0 && b.buffer.byteLength === b.length) return new Uint8Array(b.buffer, 0, b.length);
  if (b.buffer.byteLength <= 2 * b.length) return new Uint8Array(b.buffer, b.byteOffset, b.length);
  return new Uint8Array(b);
}

function choose(plain: Uint8Array, z: Buffer): Compressed {
  const saving = plain.length - z.length;
  if (plain.length === 0 || saving < Math.ceil(plain.length / COMPRESS_MIN_SAVING_DIVISOR)) return { method: COMPRESSION_RAW, bytes: plain };
  return { method: COMPRESSION_ZSTD, bytes: owned(z) };
}

/**
 * Chunks of at least PROBE_MIN_BYTES are probed before zstd sees all of them: PROBE_SLICES slices of
 * PROBE_SLICE_BYTES spread evenly over the chunk are compressed at level 1 as one input, and a probe that does not
 * save 1/32 of itself says the chunk would not either (media, archives, encrypted files: zstd over a whole
 * random 1 GiB file was 1.3 s of the backup's main thread and a gigabyte of output thrown away, profile of
 * `bench backup`). A chunk whose probe compresses is compressed whole and judged by the same 1/32 rule; one
 * whose sampled slices are all incompressible while the rest is not (rare) is stored raw.
 */
export const PROBE_MIN_BYTES = 256 * 1024;
export const PROBE_SLICES = 4;
/**
 * 4 KiB: a probe of 16 KiB costs 0.05 ms in a daemon, one of 64 KiB (16 KiB slices) 0.7 ms, because zstd's
 * context for 64 KiB of input was over the daemons' mmap threshold of then (128 KiB; src/peer/swarm.ts DAEMON_ENV): a
 * fresh mapping faulted in page by page on every call. Per GiB of random chunks that was 0.7 s of the main thread.
 */
export const PROBE_SLICE_BYTES = 4 * 1024;
/** The probe's input, reused: worthCompressing is synchronous and zstd copies what it keeps. */
const probe = new Uint8Array(PROBE_SLICES * PROBE_SLICE_BYTES);

/** Whether a chunk is worth compressing whole: false only when its probe (above) saves less than 1/32. */
export function worthCompressing(plain: Uint8Array): boolean {
  if (plain.length < PROBE_MIN_BYTES) return true;
  const step = Math.floor((plain.length - PROBE_SLICE_BYTES) / (PROBE_SLICES - 1));
  for (let i = 0; i < PROBE_SLICES; i++) probe.set(plain.subarray(i * step, i * step + PROBE_SLICE_BYTES), i * PROBE_SLICE_BYTES);
  return zstdWithin(probe, ZSTD_MIN_LEVEL, keptLimit(probe.length)) !== null;
}

/** Largest zstd output worth keeping for a chunk of `length` bytes (it must save at least 1/32). */
const keptLimit = (length: number) => length - Math.ceil(length / COMPRESS_MIN_SAVING_DIVISOR);

/** zstd if it saves at least 1/32 of the chunk, else the chunk itself. Synchronous (runs on the calling thread). */
export function compressAuto(plain: Uint8Array, options: CompressOptions = {}): Compressed {
  const level = options.level ?? ZSTD_DEFAULT_LEVEL;
  zstdOptions(plain, level); // checks the level
  if (plain.length === 0 || !worthCompressing(plain)) return { method: COMPRESSION_RAW, bytes: plain };
  const z = zstdWithin(plain, level, keptLimit(plain.length));
  return z === null ? { method: COMPRESSION_RAW, bytes: plain } : { method: COMPRESSION_ZSTD, bytes: z };
}

/**
 * One zstd frame of `plain` at `level` (window = the input, content size in the header, as zstdOptions) in a
 * buffer of its own, or null when it would take more than `limit` bytes. Compressed with a context kept for the
 * next call (below) when this Node allows it, else with zlib.zstdCompressSync.
 */
function zstdWithin(plain: Uint8Array, level: number, limit: number): Uint8Array | null {
  const kept = plain.length <= ZSTD_KEPT_MAX_INPUT ? keptContext(level) : null;
  if (kept) {
    const z = kept.compress(plain, limit);
    if (z !== undefined) {
      counts.kept++;
      return z;
    }
    releaseZstdContexts(); // the native handle reported an error: never reused; this chunk goes the one-shot way
  }
  const z = zlib.zstdCompressSync(plain, zstdOptions(plain, level));
  counts.oneShot++;
  return z.length <= limit ? owned(z) : null;
}

// Compression contexts kept between chunks. zlib.zstdCompressSync makes a new zstd context for every call
// (0.2-2 MiB, cleared on creation) and collects its output in 16 KiB pieces that it then joins: in a backup of
// many small files that churn is both CPU and memory the allocator keeps (measured on 30,000 files of
// /usr/share, 381 MB compressed twice, MALLOC_MMAP_THRESHOLD_=1048576: 6.1-7.7 s and 935-945 MiB peak RSS with
// zstdCompressSync, 4.4-4.7 s and 482-491 MiB with one kept context per level; same total output size).
// Node has no public synchronous API for a reused zstd context, so this drives the zlib stream's native handle
// the way Node's own synchronous path does (writeSync into a caller's buffer); a finished frame leaves the
// context ready for the next with the same parameters (a frame given up over its limit is finished first). One
// context per level serves every size: its windowLog is set for the largest input, and zstd sizes each frame's
// window (and tables) from the frame's input, known because each frame is compressed in one ZSTD_e_end call,
// which also writes the content size into the frame header. The handle's shape is checked when a context is
// made, and the first frame of each context is compared with zstdCompressSync's: on any difference, or an error
// from the handle, this process goes back to zstdCompressSync for good. Contexts and their output buffer are let
// go once unused for ZSTD_KEPT_IDLE_MS, so an idle daemon holds none of it.

/** Largest input compressed with a kept context (MAX_BLOB_BYTES, docs/FORMAT.md): its windowLog is set for this. */
const ZSTD_KEPT_MAX_INPUT = 16 * 1024 * 1024;
/** Kept contexts and their output buffer are released after this long unused: ms. */
export const ZSTD_KEPT_IDLE_MS = 10_000;

interface ZstdHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  onerror: unknown;
}

/**
 * A zlib zstd stream's native handle, driven synchronously as Node's own sync path does: `state` is
 * [output room left, input left] after each writeSync; `failed` once the handle reported an error.
 */
class KeptHandle {
  protected failed = false;
  protected readonly handle: ZstdHandle;
  protected readonly state: Uint32Array;
  private readonly engine: zlib.ZstdCompress | zlib.ZstdDecompress;
  protected constructor(engine: zlib.ZstdCompress | zlib.ZstdDecompress, handle: ZstdHandle, state: Uint32Array) {
    this.engine = engine;
    this.handle = handle;
    this.state = state;
    handle.onerror = () => {
      this.failed = true;
    };
  }

  /** The engine's handle and write state, or null (engine closed) when this Node's zlib is not shaped as expected. */
  protected static parts(engine: zlib.ZstdCompress | zlib.ZstdDecompress): { handle: ZstdHandle; state: Uint32Array } | null {
    const inner = engine as unknown as { _handle?: Partial<ZstdHandle>; _writeState?: unknown };
    const { _handle: handle, _writeState: state } = inner;
    if (handle && typeof handle.writeSync === 'function' && state instanceof Uint32Array && state.length === 2) return { handle: handle as ZstdHandle, state };
    engine.close();
    return null;
  }

  close(): void {
    this.engine.close();
  }
}

class KeptContext extends KeptHandle {
  /** A context at `level` for inputs up to ZSTD_KEPT_MAX_INPUT; null when the handle is not as expected. */
  static open(level: number): KeptContext | null {
    const engine = zlib.createZstdCompress({
      params: { [zlib.constants.ZSTD_c_compressionLevel]: level, [zlib.constants.ZSTD_c_windowLog]: Math.log2(ZSTD_KEPT_MAX_INPUT) }
    });
    const p = KeptHandle.parts(engine);
    return p && new KeptContext(engine, p.handle, p.state);
  }

  /** The frame in a buffer of its own, null when over `limit` bytes, undefined when the handle failed. */
  compress(plain: Uint8Array, limit: number): Uint8Array | null | undefined {
    const room = limit + 1; // a frame that fills the room is over the limit (zstd may have stopped mid-frame)
    const out = outputBuffer(room);
    try {
      this.handle.writeSync(zlib.constants.ZSTD_e_end, plain, 0, plain.length, out, 0, room);
      if (this.state[0] === 0) {
        // Over the limit: the frame is finished into the same buffer and thrown away, so the context is at the
        // start of a frame again with its parameters (the handle's reset() would also reset them to defaults).
        // The whole buffer (at least 64 KiB) per pass: zstd makes no progress in a room of a few bytes.
        let at = plain.length - this.state[1];
        for (let pass = 0; !this.failed && this.state[0] === 0; pass++) {
          if (pass > plain.length / out.length + 8)
            this.failed = true; // no progress: never expected
          else this.handle.writeSync(zlib.constants.ZSTD_e_end, plain, at, plain.length - at, out, 0, out.length);
          at = plain.length - this.state[1];
        }
        return this.failed ? undefined : null;
      }
    } catch {
      this.failed = true;
    }
    if (this.failed || this.state[1] !== 0) return undefined; // room was left, so zstd must have taken all the input
    const length = room - this.state[0];
    if (!isWholeFrame(out.subarray(0, length), plain.length)) return undefined;
    const frame = Buffer.allocUnsafeSlow(length);
    frame.set(out.subarray(0, length));
    return new Uint8Array(frame.buffer, 0, length);
  }
}

/**
 * Whether `f` is exactly one finished zstd frame (RFC 8878 §3.1.1) that declares `contentSize` and has no
 * checksum: its blocks chain from the header to its last byte and the last one says it is last. Walks block
 * headers only (at most one per 128 KiB of content). A kept context's output is trusted only after this, so a
 * frame cut short by the handle never reaches a pack as if it were whole.
 */
export function isWholeFrame(f: Uint8Array, contentSize: number): boolean {
  return wholeFrame(f)?.contentSize === contentSize;
}

/** The content size and window size a whole frame (as isWholeFrame) declares; null for anything else. */
function wholeFrame(f: Uint8Array): { contentSize: number; windowSize: number } | null {
  if (f.length < 6 || f[0] !== 0x28 || f[1] !== 0xb5 || f[2] !== 0x2f || f[3] !== 0xfd) return null;
  const fhd = f[4];
  const fcsFlag = fhd >> 6,
    single = (fhd >> 5) & 1,
    checksum = (fhd >> 2) & 1,
    didBytes = [0, 1, 2, 4][fhd & 3];
  if (checksum || (fhd & 0x08) !== 0 || (fcsFlag === 0 && !single)) return null; // no content size: not ours
  const wd = single ? 0 : f[5];
  let at = 5 + (single ? 0 : 1) + didBytes;
  const fcsBytes = [1, 2, 4, 8][fcsFlag];
  if (at + fcsBytes > f.length) return null;
  let contentSize = 0;
  for (let i = fcsBytes - 1; i >= 0; i--) contentSize = contentSize * 256 + f[at + i];
  if (fcsBytes === 2) contentSize += 256;
  // Window_Descriptor (§3.1.1.1.2): 2^(10 + exponent) plus mantissa eighths of it; a single segment's is its content.
  const windowSize = single ? contentSize : 2 ** (10 + (wd >> 3)) * (1 + (wd & 7) / 8);
  at += fcsBytes;
  for (;;) {
    if (at + 3 > f.length) return null;
    const h = f[at] | (f[at + 1] << 8) | (f[at + 2] << 16);
    const type = (h >> 1) & 3,
      size = h >>> 3;
    if (type === 3) return null;
    at += 3 + (type === 1 ? 1 : size);
    if (h & 1) return at === f.length ? { contentSize, windowSize } : null;
  }
}

/**
 * A zstd decoder kept between chunks, as the compression contexts above: decodes a whole frame (wholeFrame) of
 * at most ZSTD_KEPT_MAX_INPUT bytes straight into a buffer of its declared size. Undefined when anything is
 * not as expected (the handle reported an error, the output is not exactly the declared size): the caller then
 * decodes with zlib.zstdDecompressSync, which gives the named error, and the decoder is let go (it may be in
 * the middle of a frame).
 */
class KeptDecoder extends KeptHandle {
  /** A decoder for windows up to ZSTD_KEPT_MAX_INPUT; null when the handle is not as expected. */
  static open(): KeptDecoder | null {
    const engine = zlib.createZstdDecompress({ params: { [zlib.constants.ZSTD_d_windowLogMax]: Math.log2(ZSTD_KEPT_MAX_INPUT) } });
    const p = KeptHandle.parts(engine);
    return p && new KeptDecoder(engine, p.handle, p.state);
  }

  /** The frame's `expectedLength` bytes, decoded into `into` when it has a byte more than that, else into a buffer of their own. */
  decode(frame: Uint8Array, expectedLength: number, into?: Uint8Array): Uint8Array | undefined {
    const out = into && into.length > expectedLength ? into : Buffer.allocUnsafeSlow(expectedLength + 1);
    try {
      // A byte of room more than expected: an overlong output shows.
      this.handle.writeSync(zlib.constants.ZSTD_e_end, frame, 0, frame.length, out, 0, expectedLength + 1);
    } catch {
      this.failed = true;
    }
    if (this.failed || this.state[0] !== 1 || this.state[1] !== 0) return undefined;
    return new Uint8Array(out.buffer, out.byteOffset, expectedLength);
  }
}

let decoder: KeptDecoder | null = null;
let decoderBroken = false;

/** Frames made and decoded with a kept context or one-shot since the process started (tests). */
const counts = { kept: 0, oneShot: 0, keptDecoded: 0, oneShotDecoded: 0 };
export function zstdCounts(): Readonly<typeof counts> {
  return { ...counts };
}

function keptDecoder(): KeptDecoder | null {
  touchKept();
  if (decoder || decoderBroken) return decoder;
  try {
    decoder = KeptDecoder.open();
  } catch {
    decoder = null;
  }
  if (!decoder) decoderBroken = true;
  return decoder;
}

/** The kept decoder's output for a whole frame of `expectedLength` within its window cap, else undefined. */
function decodeKept(bytes: Uint8Array, expectedLength: number, into?: Uint8Array): Uint8Array | undefined {
  if (expectedLength > ZSTD_KEPT_MAX_INPUT) return undefined;
  const f = wholeFrame(bytes);
  if (!f || f.contentSize !== expectedLength || f.windowSize > 2 ** windowLogFor(expectedLength)) return undefined;
  const d = keptDecoder();
  const out = d?.decode(bytes, expectedLength, into);
  if (d && !out) {
    d.close();
    decoder = null;
  }
  return out;
}

const contexts = new Map<number, KeptContext>();
let keptBroken = false;
let scratch: Uint8Array | null = null;
let lastUse = 0;
let idleTimer: NodeJS.Timeout | null = null;

function outputBuffer(size: number): Uint8Array {
  if (!scratch || scratch.length < size) scratch = new Uint8Array(Buffer.allocUnsafeSlow(Math.max(size, 64 * 1024)).buffer);
  return scratch;
}

function touchKept(): void {
  lastUse = Date.now();
  idleTimer ??= setTimeout(onIdleCheck, ZSTD_KEPT_IDLE_MS).unref();
}

function keptContext(level: number): KeptContext | null {
  touchKept();
  const have = contexts.get(level);
  if (have || keptBroken) return have ?? null;
  let ctx: KeptContext | null = null;
  try {
    ctx = KeptContext.open(level);
    if (ctx && !sameAsOneShot(ctx, level)) {
      ctx.close();
      ctx = null;
    }
  } catch {
    ctx = null;
  }
  if (!ctx) {
    keptBroken = true;
    return null;
  }
  contexts.set(level, ctx);
  return ctx;
}

/** A kept context's frame of a fixed text is zstdCompressSync's, byte for byte (they agree on inputs this small). */
function sameAsOneShot(ctx: KeptContext, level: number): boolean {
  const sample = new TextEncoder().encode('p2pbackup zstd context check '.repeat(40));
  const mine = ctx.compress(sample, sample.length);
  const ref = zlib.zstdCompressSync(sample, zstdOptions(sample, level));
  return mine instanceof Uint8Array && Buffer.compare(mine, ref) === 0;
}

function onIdleCheck(): void {
  idleTimer = null;
  const left = lastUse + ZSTD_KEPT_IDLE_MS - Date.now();
  if (left > 0) idleTimer = setTimeout(onIdleCheck, left).unref();
  else releaseZstdContexts();
}

/** Let every kept zstd context (compression and decoding) and the output buffer go (the next compression makes them again). */
export function releaseZstdContexts(): void {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = null;
  for (const c of contexts.values()) c.close();
  contexts.clear();
  decoder?.close();
  decoder = null;
  scratch = null;
}

/** Kept zstd contexts now, compression and decoding (tests; 0 once idle). */
export function zstdContextsKept(): number {
  return contexts.size + (decoder ? 1 : 0);
}

const zstdCompressAsync = promisify(zlib.zstdCompress) as (buf: Uint8Array, opts: zlib.ZstdOptions) => Promise<Buffer>;
const zstdDecompressAsync = promisify(zlib.zstdDecompress) as (buf: Uint8Array, opts: zlib.ZstdOptions) => Promise<Buffer>;

/** compressAuto on libuv's thread pool (several chunks compress on several cores). `plain` must not change until it resolves. */
export async function compressAutoAsync(plain: Uint8Array, options: CompressOptions = {}): Promise<Compressed> {
  const opts = zstdOptions(plain, options.level ?? ZSTD_DEFAULT_LEVEL);
  if (plain.length === 0 || !worthCompressing(plain)) return { method: COMPRESSION_RAW, bytes: plain };
  return choose(plain, await zstdCompressAsync(plain, opts));
}

function checkExpected(method: unknown, expectedLength: number): void {
  if (method !== COMPRESSION_RAW && method !== COMPRESSION_ZSTD) throw new UnknownCompressionError({ method });
  if (!Number.isSafeInteger(expectedLength) || expectedLength < 0 || expectedLength > DECOMPRESS_MAX_BYTES) {
    throw new InvalidParamsError(`expected length must be an integer in 0..${DECOMPRESS_MAX_BYTES}, got ${String(expectedLength)}`, {
      param: 'expectedLength',
      value: expectedLength
    });
  }
}

/** The largest window a frame of `length` bytes written by compressAuto uses: log2. */
const windowLogFor = (length: number) => Math.max(ZSTD_MIN_WINDOW_LOG, Math.ceil(Math.log2(Math.max(1, length))));

function zstdDecodeOptions(expectedLength: number): zlib.ZstdOptions {
  // maxOutputLength: never produce (or allocate) more than the entry declares. windowLogMax: a frame of n bytes
  // written by compressAuto never needs a window over 2^ceil(log2 n), so a frame asking for more (up to zstd's
  // default 128 MiB of decoder memory) is refused before any allocation.
  const windowLog = windowLogFor(expectedLength);
  return { maxOutputLength: Math.max(1, expectedLength), params: { [zlib.constants.ZSTD_d_windowLogMax]: windowLog } };
}

function zstdFailure(err: unknown, expectedLength: number): Error {
  const e = err as { code?: string; message?: string };
  if (e?.code === 'ERR_BUFFER_TOO_LARGE') return new DecompressedLengthError({ method: COMPRESSION_ZSTD, expected: expectedLength, got: null });
  return new DecompressError({ method: COMPRESSION_ZSTD, reason: e?.code ?? e?.message ?? String(err) }, { cause: err });
}

function checkLength(method: CompressionMethod, out: Uint8Array, expectedLength: number): Uint8Array {
  // zstd returns what it could decode from a truncated frame without an error: the length check catches it.
  if (out.length !== expectedLength) throw new DecompressedLengthError({ method, expected: expectedLength, got: out.length });
  return out;
}

/**
 * The plaintext of a stored chunk: exactly `expectedLength` bytes or a named error (UnknownCompressionError,
 * DecompressError, DecompressedLengthError). Method 0 returns `bytes` itself. Bytes after the first zstd frame
 * are ignored by the decoder (the seal has already authenticated everything).
 * `into` (at least expectedLength + 1 bytes): memory the output may be written to instead of a buffer of its own;
 * whether it was is told by the result's `buffer` (the kept decoder uses it, method 0 and the one-shot path do not).
 */
export function decompress(method: number, bytes: Uint8Array, expectedLength: number, into?: Uint8Array): Uint8Array {
  checkExpected(method, expectedLength);
  if (method === COMPRESSION_RAW) return checkLength(COMPRESSION_RAW, bytes, expectedLength);
  const kept = decodeKept(bytes, expectedLength, into);
  if (kept) {
    counts.keptDecoded++;
    return kept;
  }
  counts.oneShotDecoded++;
  let out: Buffer;
  try {
    out = zlib.zstdDecompressSync(bytes, zstdDecodeOptions(expectedLength));
  } catch (err) {
    throw zstdFailure(err, expectedLength);
  }
  return checkLength(COMPRESSION_ZSTD, owned(out), expectedLength);
}

/** decompress on libuv's thread pool. `bytes` must not change until it resolves. */
export async function decompressAsync(method: number, bytes: Uint8Array, expectedLength: number): Promise<Uint8Array> {
  checkExpected(method, expectedLength);
  if (method === COMPRESSION_RAW) return checkLength(COMPRESSION_RAW, bytes, expectedLength);
  let out: Buffer;
  try {
    out = await zstdDecompressAsync(bytes, zstdDecodeOptions(expectedLength));
  } catch (err) {
    throw zstdFailure(err, expectedLength);
  }
  return checkLength(COMPRESSION_ZSTD, owned(out), expectedLength);
}
