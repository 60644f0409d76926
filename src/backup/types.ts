// What backup needs from the layers below (declared narrowly: the owner's Repository of src/repo satisfies
// BlobSink, and the daemon's repositories BlobSource; tests use a grid of disk stores) and the shapes of its objects.
import type { BlobKind, MutableReadCap } from '../caps/index.ts';

/** Reads announced ahead (BlobReader.planReads); close() forgets those not made. */
export interface ReadPlanLike {
  close(): void;
}

export interface BlobRefLike {
  id: Uint8Array;
  key: Uint8Array;
}

/** Where new content goes: the owner's repository (deduplicating, packing, sealing). */
export interface BlobSink {
  /** The repository's read cap: every cap of a stored blob names it. */
  readonly readCap: MutableReadCap;
  /**
   * Store blobs. `plains` are lent: read only until the returned promise settles (a large file's chunks are
   * views of a read window that is read into again right after), so an implementation that keeps one copies it.
   */
  saveBlobs(
    kind: BlobKind,
    plains: readonly Uint8Array[],
    opts?: { signal?: AbortSignal; compress?: boolean }
  ): Promise<{ ref: BlobRefLike; isNew: boolean; stored: Promise<void> }[]>;
  /** Store every queued pack (a backup calls it before its snapshot counts as stored). */
  flush(): Promise<void>;
  /**
   * A run that stops without a snapshot (aborted, or a fatal error): blobs not yet uploading are dropped, their
   * `stored` rejecting with `reason`; resolves once the uploads in flight have settled. A sink without it is
   * flushed instead (what the run queued is stored, and nothing names it).
   */
  abandon?(reason: unknown): Promise<void>;
  /** Whether the repository holds each blob id (a cached file's content may have been pruned). */
  has(ids: readonly Uint8Array[]): Promise<boolean[]>;
  /**
   * The repository and its index generation as one string: what it held under one mark it still holds while the
   * mark stays (Repository.holdMark). Without it every cached file's blob is asked about with `has`.
   */
  holdMark?(signal?: AbortSignal): Promise<string>;
}

/** Reading one repository's blobs, verified. */
export interface BlobReader {
  loadBlob(
    kind: BlobKind,
    ref: BlobRefLike,
    opts?: { signal?: AbortSignal; maxPlain?: number; whole?: boolean; pooled?: boolean; plan?: ReadPlanLike }
  ): Promise<Uint8Array>;
  /**
   * Announce that `refs` will be read next with loadBlob(…, { plan }): a whole pack read only for them is let go
   * once the last of them was read (src/repo/pack-cache.ts). Close the plan when done, also after a failure.
   */
  planReads?(kind: BlobKind, refs: readonly BlobRefLike[], signal?: AbortSignal): Promise<ReadPlanLike>;
  /** Look up where blobs `ids` live at once, for reads about to come (Repository.locateAhead); an optimization only. */
  locateAhead?(ids: readonly Uint8Array[], signal?: AbortSignal): Promise<void>;
  /** Give back a `pooled` blob's bytes once done with them (no view kept); others are ignored. */
  releaseBlob?(bytes: Uint8Array): void;
  /** Several blobs by range (`whole: false`), neighbours in a pack read as one range (src/repo/repository.ts). */
  loadBlobsByRange?(kind: BlobKind, refs: readonly (BlobRefLike & { maxPlain?: number })[], opts?: { signal?: AbortSignal }): Promise<Uint8Array[]>;
}

/** Reading: the repository a cap names (a cap may name another owner's repository). */
export interface BlobSource {
  reader(repo: MutableReadCap): BlobReader;
}

/**
 * The folder head: one mutable slot per backed-up folder, written by the slot owner.
 * `write` must fail (HeadConflictError or any error) unless the stored seq is still `prevSeq`
 * (null: no head yet), so two writers never lose each other's snapshots silently.
 */
export interface HeadStore {
  read(): Promise<{ seq: number; head: FolderHead } | null>;
  write(head: FolderHead, prevSeq: number | null): Promise<void>;
  /**
   * The head as this store last read or wrote it, without asking anyone (null: none known). Only a guess: a write
   * on it is refused with HeadConflictError when the head moved since, and commitSnapshot then reads it.
   */
  known?(): { seq: number; head: FolderHead } | null;
}

export type EntryType = 'file' | 'dir' | 'symlink';

/** One entry of a directory object. `mtimeNs` is a decimal string of nanoseconds since the epoch. */
export interface DirEntry {
  name: string;
  type: EntryType;
  /** Permission bits (mode & 0o7777). */
  mode: number;
  mtimeNs: string;
  /** file: content bytes. */
  size?: number;
  /** file: content cap; dir: directory-object cap. */
  cap?: string;
  /** symlink: the link text, not resolved. */
  target?: string;
}

export interface Snapshot {
  /** Root directory-object cap. */
  root: string;
  /** ms since epoch (when the backup started). */
  time: number;
  host: string;
  /** Absolute paths backed up (one today). */
  paths: string[];
  label?: string;
  /** Previous snapshot of the same folder. */
  parent?: string;
  /** `added`: bytes this backup stored new (sealed, before erasure coding); absent in snapshots that did not count it. */
  stats: { files: number; dirs: number; symlinks: number; bytes: number; added?: number };
}

export interface HeadSnapshot {
  cap: string;
  time: number;
}
/** The folder head: the repository (its read cap text) and every kept snapshot, oldest first. */
export interface FolderHead {
  repo?: string;
  snapshots: HeadSnapshot[];
}

/** restic's ErrorFunc: return to skip the item and go on, throw to abort the whole operation. */
export type ItemErrorHandler = (path: string, err: Error) => void | Promise<void>;

export interface BackupStats {
  files: number;
  dirs: number;
  symlinks: number;
  /** Bytes of file content read (each re-read file counted once, by size). */
  bytesRead: number;
  /** Bytes of all files in the snapshot. */
  bytesTotal: number;
  /** Files whose cap was taken from the cache without reading them. */
  unchanged: number;
  /** Directories whose tree was stored before (not stored again). */
  dirsReused: number;
  /** Blobs stored by this backup (chunks, chunk lists, trees, the snapshot). */
  blobsNew: number;
  /** Blobs the repository already held (deduplicated: nothing stored). */
  blobsKnown: number;
  /** Plaintext bytes of the new blobs, and what they took sealed (compressed, with their framing). */
  bytesNew: number;
  bytesStored: number;
  /** Packs written (each erasure-coded onto n peers). */
  packs: number;
  excluded: number;
  skipped: { path: string; error: string; code?: string }[];
}

export interface RestoreStats {
  files: number;
  dirs: number;
  symlinks: number;
  bytesWritten: number;
  /** Files left as they were (overwrite 'never', or 'if-changed' with same size and mtime). */
  unchanged: number;
  failed: { path: string; error: string; code?: string }[];
}

/** A `…:status` event's counts (progress.ts). */
export interface StatusCounts {
  files: number;
  bytes: number;
  /** Known once the scan (backup) or the walk of the snapshot (restore) is done; absent before. */
  totalFiles?: number;
  totalBytes?: number;
  elapsedSeconds: number;
  /** Bytes done per second since the start. */
  bytesPerSecond: number;
  /** Seconds left at the rate so far; absent while the totals are unknown or nothing is done yet. */
  etaSeconds?: number;
}

export type BackupProgress =
  | { type: 'backup:backup:start'; dir: string }
  | ({ type: 'backup:backup:status' } & StatusCounts)
  | ({ type: 'backup:restore:status' } & StatusCounts)
  | { type: 'backup:backup:file'; path: string; size: number; status: 'new' | 'unchanged' }
  | { type: 'backup:backup:dir'; path: string; status: 'uploaded' | 'reused' }
  | { type: 'backup:backup:excluded'; path: string; reason: string }
  | { type: 'backup:backup:item-error'; path: string; error: string }
  | { type: 'backup:backup:done'; snapshotCap: string; stats: BackupStats }
  | { type: 'backup:restore:start'; cap: string; target: string }
  | { type: 'backup:restore:file'; path: string; size: number; status: 'written' | 'unchanged' }
  | { type: 'backup:restore:item-error'; path: string; error: string }
  | { type: 'backup:restore:done'; stats: RestoreStats }
  | { type: 'backup:forget:done'; kept: number; removed: number };
