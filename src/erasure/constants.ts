// Fixed numbers of the erasure code: field, limits, memory layout of the wasm kernel and tuning knobs.

/** Irreducible polynomial of GF(2^8): x^8 + x^4 + x^3 + x^2 + 1 (same as Backblaze / klauspost / reed-solomon-erasure). */
export const GF_POLYNOMIAL = 0x11d;
/** Most shards (data + parity) a code may have: one field element per shard row. */
export const MAX_TOTAL_SHARDS = 256;
/** Bytes reserved in kernel memory for one coefficient matrix (at most 256 x 256). */
export const COEF_REGION_BYTES = 256 * 256;
/** Bytes reserved in kernel memory for the input and output pointer tables (256 u32 each). */
export const PTR_REGION_BYTES = 2 * 256 * 4;
/** Scratch bytes per matrix coefficient: its 16-byte low and 16-byte high nibble table, laid out in kernel order. */
export const TABLE_BYTES_PER_COEF = 32;
/** Alignment of every shard slot in kernel memory. */
export const SLOT_ALIGN = 64;
/**
 * Extra bytes between shard slots of 4 KiB or more (17 cache lines: an odd count, so up to 64 shards start in
 * distinct L1 sets). Measured here on 1 MiB shards: 10+4 encode 6.4 -> 7.7 GB/s, 17+3 7.0 -> 7.6 GB/s; with
 * slots exactly 1 MiB apart every stream maps to the same cache sets and stores 4 KiB-alias the loads.
 */
export const SLOT_STAGGER = 1088;
/**
 * Bytes per strip for the fused kernel (a multiple of 64): with more than 4 output rows, later row groups find
 * the strip's inputs still in L1. Up to 4 rows (10+4, 17+3, 4+2) one pass reads each input once and the strip
 * only bounds the loop. Measured before the multi-row kernel: 8 KiB strips 3.4 / 4.3 GB/s, 1 KiB 4.1-4.2 /
 * 5.6-5.9 GB/s (10+4 / 17+3 at 1 MiB); with it, 1-16 KiB are within the noise of this shared machine.
 */
export const STRIP_BYTES = 1024;
/**
 * Data bytes (k x shard length) from which the parallel codec splits a call over its threads; smaller calls
 * run on the calling thread alone. Waking a sleeping worker and waiting for it costs about 20 us here.
 * Measured on 2 cores with the second one free: 4+2 at 64 KiB (256 KiB of data) 0.8x of one thread when split,
 * 10+4 at 64 KiB (640 KiB) 1.3x, 17+3 at 64 KiB (1.1 MB) 1.5x, 10+4 at 1 MiB 1.8x.
 */
export const PARALLEL_MIN_BYTES = 512 * 1024;
/**
 * The parallel codec cuts a call into about this many column ranges per thread, none under PARALLEL_MIN_CHUNK
 * bytes: enough that a thread the OS runs less often (another program on its core) holds the others up by
 * one small range only, few enough that claiming ranges (one Atomics.add each) costs nothing measurable.
 */
export const PARALLEL_CHUNKS_PER_THREAD = 8;
export const PARALLEL_MIN_CHUNK = 4096; // bytes of shard length
/** Decode matrices cached per erasure pattern (least recently used are evicted). */
export const DECODE_CACHE_SIZE = 64;
/** WebAssembly page size. */
export const WASM_PAGE = 65536;
