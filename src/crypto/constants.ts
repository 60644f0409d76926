// Sizes and tags for p2pbackup's cryptography. Every size is in bytes unless named otherwise.

/** XChaCha20-Poly1305 key: 256 bits, the only size ChaCha20 takes. */
export const KEY_BYTES = 32;
/** XChaCha20 nonce: 24 bytes, long enough that random nonces never collide in practice. */
export const XNONCE_BYTES = 24;
/** Poly1305 tag appended to every sealed message: 128 bits. */
export const TAG_BYTES = 16;
/**
 * Native ChaCha20-Poly1305 is fed this many bytes per update(): one-shot calls on huge buffers are slow, and each
 * update() returns its output in fresh memory. 32 KiB pieces keep that memory small and reused (the daemons run
 * with MALLOC_MMAP_THRESHOLD_ 128 KiB, later 1 MiB, so 1 MiB pieces were each a new mapping and 256 page faults). Measured
 * sealing 1 GiB in 1 MiB chunks: 1 MiB pieces 1.5 s of CPU (1.0 s of it in the kernel), 64 KiB 0.7-0.9 s,
 * 32 KiB 0.5-0.6 s. The ciphertext does not depend on the piece size.
 */
export const SEAL_PIECE_BYTES = 32 * 1024;
/** SHA-256 output. Tree nodes, UEB hashes and convergent keys are full-length. */
export const HASH_BYTES = 32;
/** Ed25519 seed (private key), public key and signature sizes (RFC 8032). */
export const ED25519_SEED_BYTES = 32;
export const ED25519_PUBLIC_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

/**
 * Domain-separation tags for `taggedHash`. One tag per purpose so a hash computed for one
 * role can never be replayed as another. Changing any string changes the format (bump version).
 */
export const TAGS = {
  blobPlaintext: 'p2pb:v2:blob-plaintext', // kind, plaintext of one blob -> its plaintext hash (never stored)
  blobId: 'p2pb:v2:blob-id', // owner secret, plaintext hash -> blob id (the index's key)
  blobKey: 'p2pb:v2:blob-key', // owner secret, plaintext hash -> the blob's own key
  blobAad: 'p2pb:v2:blob', // associated data of a sealed blob (with its kind byte); not a hash
  ownerKey: 'p2pb:v2:owner-key', // owner secret, purpose -> a derived secret (repository slot seed, chunker key)
  packStorageIndex: 'p2pb:v2:pack-storage-index', // pack UEB hash -> 16-byte storage index
  block: 'p2pb:v1:block', // leaf of a share's block tree
  node: 'p2pb:v1:node', // interior node of any Merkle tree
  emptyLeaf: 'p2pb:v1:empty-leaf', // padding leaf (tree width is a power of two)
  shareRoots: 'p2pb:v1:share-roots', // list of the n share roots
  ueb: 'p2pb:v1:ueb', // URI-extension block -> hash carried in the cap
  capChecksum: 'p2pb:v1:cap-checksum', // text-form cap checksum
  mutableReadKey: 'p2pb:v1:mutable-read-key', // signing seed -> record encryption key
  mutablePubKey: 'p2pb:v1:mutable-pubkey', // Ed25519 public key -> pubkey hash
  mutableStorageIndex: 'p2pb:v1:mutable-storage-index', // pubkey hash -> storage index
  mutableSignature: 'p2pb:v1:mutable-record-sig' // what a record signature covers
} as const;
