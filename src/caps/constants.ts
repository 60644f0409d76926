// Sizes and strings for capabilities and mutable records. Sizes in bytes.

/** Every text cap starts with this; `p2pb:<type>:<body>:<checksum>`. */
export const CAP_PREFIX = 'p2pb';
/** Binary cap layout version (first body byte). Bump when any layout below changes. */
export const CAP_VERSION = 1;
/** Text checksum: 5 bytes = exactly 8 base32 characters; a random typo passes with probability 2^-40. */
export const CAP_CHECKSUM_BYTES = 5;
/** Largest file kept inside a literal cap (no shares). 55 bytes keeps a literal cap about as long as a read cap. */
export const LITERAL_MAX_BYTES = 55;
/** Storage index: 128 bits is enough to make collisions between distinct files negligible. */
export const STORAGE_INDEX_BYTES = 16;
/** Text type names. */
export const CAP_TYPES = {
  literal: 'lit',
  read: 'chk',
  slice: 'slice',
  verify: 'chkv',
  mutableWrite: 'mw',
  mutableRead: 'mr',
  mutableVerify: 'mv',
} as const;
/** Largest file size a cap can name: 2^53 - 1 (exact in a JS number). */
export const MAX_FILE_SIZE = Number.MAX_SAFE_INTEGER;

/** Mutable record: magic "P2PM", version 1. */
export const RECORD_MAGIC = new Uint8Array([0x50, 0x32, 0x50, 0x4d]);
export const RECORD_VERSION = 1;
/** Fixed part before the ciphertext: magic 4, version 1, reserved 3, seq 8, pubkey 32, nonce 24, length 4. */
export const RECORD_HEADER_BYTES = 76;
export const RECORD_SIGNATURE_BYTES = 64;
/** Largest record payload we will sign or parse: 16 MiB (folder directories, not bulk data). */
export const RECORD_MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;
