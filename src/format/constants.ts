// Sizes and limits of the pack share format (layout version 2). Sizes in bytes.
// Byte-by-byte description: docs/FORMAT.md.

/** Default plaintext segment: 1 MiB. Big enough that per-segment overhead (16-byte tag, n block hashes) is noise, small enough that memory stays at a few MiB. */
export const DEFAULT_SEGMENT_SIZE = 1024 * 1024;
/** Smallest segment accepted (tests use tiny segments to get many of them). */
export const MIN_SEGMENT_SIZE = 64;
/** Largest segment accepted (encoder and decoder hold ~2 segments of k+m blocks in memory). 64 MiB. */
export const MAX_SEGMENT_SIZE = 64 * 1024 * 1024;
/** Largest n: shares are numbered with one byte, and the GF(2^8) code has at most 256 symbols. */
export const MAX_SHARES = 255;
/** Share layout version written in header and footer. */
export const LAYOUT_VERSION = 2;
/** Fixed header at offset 0. */
export const HEADER_BYTES = 64;
/** Fixed footer at the end of every share; it locates the trailer. */
export const FOOTER_BYTES = 64;
/** URI-extension block size (fixed-length). */
export const UEB_BYTES = 72;
export const UEB_VERSION = 2;
/** Identifiers recorded in the UEB. */
export const CODEC_RS_GF256 = 1; // systematic Reed-Solomon over GF(2^8), src/erasure createCodec
export const CIPHER_NONE = 0; // format 2: the pack holds blobs each sealed under its own key (src/repo/blob.ts); no second layer
export const HASH_TAGGED_SHA256 = 1; // tagged SHA-256, binary Merkle trees padded to a power of two
/** "P2PBSHR1" — share header magic. */
export const SHARE_MAGIC = new Uint8Array([0x50, 0x32, 0x50, 0x42, 0x53, 0x48, 0x52, 0x31]);
/** "P2PBEND1" — footer magic (last 8 bytes of every share). */
export const FOOTER_MAGIC = new Uint8Array([0x50, 0x32, 0x50, 0x42, 0x45, 0x4e, 0x44, 0x31]);
/** "P2PU" — UEB magic. */
export const UEB_MAGIC = new Uint8Array([0x50, 0x32, 0x50, 0x55]);
/** A decoder reads a share's whole block tree in one request when it is at most this big (4 MiB = 65,536 segments); otherwise it fetches only Merkle paths. */
export const WHOLE_TREE_READ_MAX = 4 * 1024 * 1024;
/**
 * A decoder that wants a whole file reads each of its k shares whole in one request when the share is at
 * most this big (a pack up to about k x 8 MiB: every pack of the default 8 MiB): one round trip per share instead
 * of one for the header and footer, one for the trailer and one per block. Every piece is still verified as before.
 */
export const WHOLE_SHARE_READ_MAX = 8 * 1024 * 1024;
/**
 * Whole-share buffers kept for the next decode (src/common/buffer-pool.ts): the k whole shares of one full pack
 * (an 8 MiB pack, the repository's PACK_TARGET_BYTES, at 3-of-5: 3 x 2.8 MiB) and some more, not two packs' worth.
 * A restore decodes its packs one after the other. `bench backup --only file` (1 GiB, 16 MiB packs then), 2
 * interleaved pairs: restore peak client RSS 265 / 266 MiB with this pool at 24 MiB and the pack pool at 16, against
 * 286 / 281 at 48 and 32; restore 12.89 / 11.16 s against 12.79 / 12.73. Halved with the packs (2026-12-07).
 */
export const SHARE_POOL_BYTES = 12 << 20;
/** Kept whole-share buffers are let go after this long unused: ms. */
export const SHARE_POOL_IDLE_MS = 10_000;
/**
 * A decoder reading a whole file fetches the blocks of consecutive segments of a share together, up to
 * this many bytes per request (1 MiB, a storage frame's payload: 2 blocks of a 1 MiB segment at k = 3,
 * more for larger k). Range reads still fetch block by block.
 */
export const GROUP_READ_BYTES = 1024 * 1024;
/** Largest pack the encoder accepts in one piece (it is encoded in memory): 64 MiB. */
export const MAX_PACK_BYTES = 64 * 1024 * 1024;
