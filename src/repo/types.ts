// What the repository needs from the layers below (declared narrowly: the daemon implements them with the
// client and mutable slots; tests with a grid of disk stores), and the shapes it hands out.
import type { BlobKind, MutableReadCap, PackCap } from '../caps/index.ts';

/** Immutable packs in the swarm. */
export interface PackStore {
  /**
   * Erasure-code and place `bytes` (1..MAX_PACK_BYTES; not modified). They are the caller's again (the packer
   * reuses its buffers) once `onConsumed` was called, or else once the promise settles: keep no reference past
   * either. A store that encodes first calls `onConsumed` as soon as the shares exist, so a pack's buffer is not
   * held for the whole of its upload.
   */
  putPack(bytes: Uint8Array, opts?: { signal?: AbortSignal; onConsumed?: () => void }): Promise<PackCap>;
  /**
   * Verified bytes of a pack, whole or a range of it. `into` (at least the bytes asked for): where they may be
   * written (a buffer the caller reuses); the result is a view of it, or other memory.
   */
  readPack(cap: PackCap, opts?: { range?: { offset: number; length: number }; signal?: AbortSignal; into?: Uint8Array }): Promise<Uint8Array>;
  /** A run of uploads ended (the repository flushed): let go of memory kept for the next packs. */
  release?(): void;
  /** Best effort: tell the holders of a pack we no longer need it (prune). */
  deletePack?(cap: PackCap, opts?: { signal?: AbortSignal }): Promise<void>;
}

/**
 * A mutable record (the repository's slot): `write` must throw RecordConflictError (errors.ts) when the stored
 * seq moved past `prevSeq` (null: none yet), so two devices never lose each other's index parts. A write stores
 * seq `prevSeq + 1` (1 for the first).
 */
export interface RecordStore {
  read(opts?: { signal?: AbortSignal }): Promise<{ seq: number; payload: Uint8Array } | null>;
  write(payload: Uint8Array, prevSeq: number | null, opts?: { signal?: AbortSignal }): Promise<void>;
}

/** The reference to a blob inside trees and chunk lists: its id (looked up in the index) and its own key. */
export interface BlobRef {
  id: Uint8Array;
  key: Uint8Array;
}

/** Where a blob lives: a pack and the sealed bytes' range in it. */
export interface BlobLocation {
  pack: PackCap;
  offset: number;
  length: number;
  kind: BlobKind;
}

export type { BlobKind, MutableReadCap, PackCap };
