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
  const windowLog = Math.max(ZSTD_MIN_WINDOW_LOG, Math.ceil(Math.log2(Math.max(1, plain.length))));
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
  const z = zlib.zstdCompressSync(probe, zstdOptions(probe, ZSTD_MIN_LEVEL));
  return probe.length - z.length >= Math.ceil(probe.length / COMPRESS_MIN_SAVING_DIVISOR);
}

/** zstd if it saves at least 1/32 of the chunk, else the chunk itself. Synchronous (runs on the calling thread). */
export function compressAuto(plain: Uint8Array, options: CompressOptions = {}): Compressed {
  const opts = zstdOptions(plain, options.level ?? ZSTD_DEFAULT_LEVEL);
  if (plain.length === 0 || !worthCompressing(plain)) return { method: COMPRESSION_RAW, bytes: plain };
  return choose(plain, zlib.zstdCompressSync(plain, opts));
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

function zstdDecodeOptions(expectedLength: number): zlib.ZstdOptions {
  // maxOutputLength: never produce (or allocate) more than the entry declares. windowLogMax: a frame of n bytes
  // written by compressAuto never needs a window over 2^ceil(log2 n), so a frame asking for more (up to zstd's
  // default 128 MiB of decoder memory) is refused before any allocation.
  const windowLog = Math.max(ZSTD_MIN_WINDOW_LOG, Math.ceil(Math.log2(Math.max(1, expectedLength))));
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
 */
export function decompress(method: number, bytes: Uint8Array, expectedLength: number): Uint8Array {
  checkExpected(method, expectedLength);
  if (method === COMPRESSION_RAW) return checkLength(COMPRESSION_RAW, bytes, expectedLength);
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
