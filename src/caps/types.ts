// Capability objects. A capability is both the name of a file and the authority to do one thing with it.
// Derivations go one way only: write -> read -> verify (a verify cap never yields a key).

/** Immutable file read cap: decrypt and verify. */
export interface ReadCap {
  type: 'chk';
  key: Uint8Array;       // 32-byte XChaCha20-Poly1305 file key
  uebHash: Uint8Array;   // 32-byte tagged hash of the URI-extension block
  k: number;             // shares needed (1..255)
  n: number;             // shares written (k..255)
  size: number;          // plaintext bytes
}

/** Immutable file verify cap: check shares (repair/audit) without being able to decrypt. */
export interface VerifyCap {
  type: 'chkv';
  storageIndex: Uint8Array; // 16 bytes
  uebHash: Uint8Array;
  k: number;
  n: number;
  size: number;
}

/**
 * A byte range of an immutable file (a *pack*): reading it reads and verifies the pack's blocks that hold
 * the range. Small files and directory objects of a backup live in packs (docs/FORMAT.md §Packs).
 */
export interface SliceCap {
  type: 'slice';
  pack: ReadCap;
  offset: number;
  length: number;
}

/** Tiny file carried inside the cap itself; no shares exist. */
export interface LiteralCap { type: 'lit'; data: Uint8Array }

/** Mutable slot write cap: the Ed25519 seed; the record encryption key is derived from it. */
export interface MutableWriteCap { type: 'mw'; seed: Uint8Array }
/** Mutable slot read cap: which key signs the slot (hash of it) and the key that decrypts records. */
export interface MutableReadCap { type: 'mr'; pubKeyHash: Uint8Array; readKey: Uint8Array }
/** Mutable slot verify cap: enough to check signatures and sequence numbers. */
export interface MutableVerifyCap { type: 'mv'; pubKeyHash: Uint8Array }

export type ImmutableCap = ReadCap | VerifyCap | LiteralCap | SliceCap;
export type MutableCap = MutableWriteCap | MutableReadCap | MutableVerifyCap;
export type Cap = ImmutableCap | MutableCap;
export type CapType = Cap['type'];
