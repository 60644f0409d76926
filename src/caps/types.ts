// Capability objects (format version 2). A capability is both the name of a thing and the authority to do
// one thing with it. Derivations go one way only: write -> read -> verify (a verify cap never yields a key).
//
// Immutable content lives in *blobs* (a file's chunk, a file's chunk list, a directory, a snapshot, an index
// part), each sealed under its own key and stored inside *packs*; a pack is what the swarm stores, as n
// erasure-coded, Merkle-verified shares. So a blob cap grants exactly one blob (and what it names), and a pack
// cap grants checking and repairing one pack, never reading any blob in it (docs/FORMAT.md §Caps).

/** A pack as stored by the swarm: enough to find, verify, repair and renew it. It holds only sealed blobs. */
export interface PackCap {
  type: 'pack';
  uebHash: Uint8Array; // 32-byte tagged hash of the URI-extension block (the storage index derives from it)
  k: number; // shares needed (1..255)
  n: number; // shares written (k..255)
  size: number; // pack bytes (1..2^53-1)
}

/** What a blob holds; reading checks it (the kind is authenticated with the blob). */
export type BlobKind = 'data' | 'list' | 'tree' | 'snapshot' | 'index';

/** A blob of an owner's repository: where to look it up (the repository's index) and the key that opens it. */
export interface BlobCap {
  type: 'blob';
  kind: BlobKind;
  id: Uint8Array; // 32-byte blob id (keyed hash of the plaintext), the index's key
  key: Uint8Array; // 32-byte XChaCha20-Poly1305 key of this blob only
  repo: MutableReadCap; // the owner's repository record (its index says which pack holds the blob)
}

/** Tiny content carried inside the cap itself; nothing is stored. */
export interface LiteralCap {
  type: 'lit';
  data: Uint8Array;
}

/** Mutable slot write cap: the Ed25519 seed; the record encryption key is derived from it. */
export interface MutableWriteCap {
  type: 'mw';
  seed: Uint8Array;
}
/** Mutable slot read cap: which key signs the slot (hash of it) and the key that decrypts records. */
export interface MutableReadCap {
  type: 'mr';
  pubKeyHash: Uint8Array;
  readKey: Uint8Array;
}
/** Mutable slot verify cap: enough to check signatures and sequence numbers. */
export interface MutableVerifyCap {
  type: 'mv';
  pubKeyHash: Uint8Array;
}

export type ImmutableCap = PackCap | BlobCap | LiteralCap;
export type MutableCap = MutableWriteCap | MutableReadCap | MutableVerifyCap;
export type Cap = ImmutableCap | MutableCap;
export type CapType = Cap['type'];
