// Sizes and strings for capabilities and mutable records. Sizes in bytes.

/** Every text cap starts with this; `p2pb:<type>:<body>:<checksum>`. */
export const CAP_PREFIX = 'p2pb';
/** Binary cap layout version (first body byte): format version 2 (docs/FORMAT.md). Bump when any layout below changes. */
export const CAP_VERSION = 2;
/** Cap types of format version 1, which this code no longer reads (a named error says so). */
export const V1_CAP_TYPES = ['chk', 'chkv', 'slice'] as const;
/** Text checksum: 5 bytes = exactly 8 base32 characters; a random typo passes with probability 2^-40. */
export const CAP_CHECKSUM_BYTES = 5;
/** Largest content kept inside a literal cap (no blob). 55 bytes keeps a literal cap short. */
export const LITERAL_MAX_BYTES = 55;
/** Storage index: 128 bits is enough to make collisions between distinct packs negligible. */
export const STORAGE_INDEX_BYTES = 16;
/** Blob ids and keys. */
export const BLOB_ID_BYTES = 32;
export const BLOB_KEY_BYTES = 32;
/** Blob kinds and their byte in caps and in the sealed blob's associated data. */
export const BLOB_KIND_CODES = { data: 1, list: 2, tree: 3, snapshot: 4, index: 5 } as const;
/** Text type names. */
export const CAP_TYPES = {
  literal: 'lit',
  pack: 'pack',
  blob: 'blob',
  mutableWrite: 'mw',
  mutableRead: 'mr',
  mutableVerify: 'mv'
} as const;
/** Largest size a cap can name: 2^53 - 1 (exact in a JS number). */
export const MAX_FILE_SIZE = Number.MAX_SAFE_INTEGER;

/** Mutable record: magic "P2PM", version 1. */
export const RECORD_MAGIC = new Uint8Array([0x50, 0x32, 0x50, 0x4d]);
export const RECORD_VERSION = 1;
/** Fixed part before the ciphertext: magic 4, version 1, reserved 3, seq 8, pubkey 32, nonce 24, length 4. */
export const RECORD_HEADER_BYTES = 76;
export const RECORD_SIGNATURE_BYTES = 64;
/** Largest record payload we will sign or parse: 16 MiB (folder directories, not bulk data). */
export const RECORD_MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;
