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
 * Bytes per strip for the fused kernel: inputs of one strip stay in L1 while all outputs use them.
 * Measured here (10+4 and 17+3 at 1 MiB shards, whose power-of-two-spaced buffers contend for the
 * same cache sets): 8 KiB strips 3.4 / 4.3 GB/s, 1 KiB strips 4.1-4.2 / 5.6-5.9 GB/s; 64 KiB shards
 * unchanged (about 4.9 / 6.5 GB/s).
 */
export const STRIP_BYTES = 1024;
/** Decode matrices cached per erasure pattern (least recently used are evicted). */
export const DECODE_CACHE_SIZE = 64;
/** WebAssembly page size. */
export const WASM_PAGE = 65536;
