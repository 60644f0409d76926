// What backup needs from the layers below (declared narrowly: the daemon implements them with the client
// and the mutable slots; tests with a grid of disk stores) and the shapes of its objects.
import type { FileInput } from '../format/index.ts';

/** Immutable content store: the daemon backs it with client `upload` (convergent key) and `download`. */
export interface ObjectStore {
  putFile(input: FileInput, opts?: { signal?: AbortSignal }): Promise<{ cap: string }>;
  getFile(cap: string, opts?: { signal?: AbortSignal }): Promise<{ size: number; stream: AsyncIterable<Uint8Array> }>;
}

/**
 * The folder head: one mutable slot per backed-up folder, written by the slot owner.
 * `write` must fail (HeadConflictError or any error) unless the stored seq is still `prevSeq`
 * (null: no head yet), so two writers never lose each other's snapshots silently.
 */
export interface HeadStore {
  read(): Promise<{ seq: number; head: FolderHead } | null>;
  write(head: FolderHead, prevSeq: number | null): Promise<void>;
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
  stats: { files: number; dirs: number; symlinks: number; bytes: number };
}

export interface HeadSnapshot { cap: string; time: number }
/** The folder head: every kept snapshot, oldest first. */
export interface FolderHead { snapshots: HeadSnapshot[] }

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
  /** Directory objects whose cap came from the cache (not uploaded again). */
  dirsReused: number;
  /** Objects stored: packs, files stored alone, directory objects stored alone, and the snapshot. */
  uploads: number;
  /** Of `uploads`, packs of several small files or directory objects (src/backup/packs.ts). */
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
