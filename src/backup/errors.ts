// Errors of the backup layer. Per-item trouble (one unreadable file) goes to `onItemError`; these are
// thrown only when a whole operation fails, or handed to `onItemError` as the `err` of one item.
import { P2PBackupError } from '../common/errors.ts';

/** An object read back is not a valid directory / snapshot / head (wrong kind, version or shape). */
export class InvalidObjectError extends P2PBackupError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('ERR_BACKUP_BAD_OBJECT', message, details);
  }
}

/** A path given to restore/ls does not exist in the snapshot. */
export class PathNotFoundError extends P2PBackupError {
  constructor(path: string) {
    super('ERR_BACKUP_PATH_NOT_FOUND', `no such path in the snapshot: ${path}`, { path });
  }
}

/** A file could not be read during a backup (unreadable, vanished, changed while read, not a regular file). */
export class FileReadError extends P2PBackupError {
  constructor(path: string, cause: unknown) {
    super(
      'ERR_BACKUP_READ',
      `cannot read ${path}: ${(cause as Error)?.message ?? String(cause)}`,
      { path, errno: (cause as { code?: string })?.code },
      { cause }
    );
  }
}

/** An entry of a kind backup does not store (FIFO, socket, device). */
export class UnsupportedEntryError extends P2PBackupError {
  constructor(path: string, kind: string) {
    super('ERR_BACKUP_UNSUPPORTED', `skipped ${path}: ${kind} entries are not backed up`, { path, kind });
  }
}

/** Restore found something in the way it will not remove (e.g. a directory where a file goes). */
export class RestoreConflictError extends P2PBackupError {
  constructor(path: string, message: string) {
    super('ERR_RESTORE_CONFLICT', message, { path });
  }
}

/** A restored file's stream ended early or long: the download did not deliver `size` bytes. */
export class RestoreSizeError extends P2PBackupError {
  constructor(path: string, expected: number, got: number) {
    super('ERR_RESTORE_SIZE', `restored ${path} has ${got} bytes, ${expected} expected`, { path, expected, got });
  }
}

/** HeadStore.write found a head newer than `prevSeq` (someone else moved it): read again and retry. */
export class HeadConflictError extends P2PBackupError {
  constructor(expected: number | null, found: number | null) {
    super('ERR_HEAD_CONFLICT', `the folder head moved (expected seq ${expected}, found ${found}); read it again`, { expected, found });
  }
}

/** A tree expands to more entries or deeper than its snapshot declares or the limits allow (a crafted tree). */
export class TreeTooLargeError extends P2PBackupError {
  constructor(what: string, limit: number) {
    super('ERR_TREE_TOO_LARGE', `the tree ${what} more than ${limit}: refused (a snapshot that names one subtree many times, or a damaged one)`, {
      what,
      limit
    });
  }
}

/** The folder given to backup is not a directory. */
export class NotADirectoryError extends P2PBackupError {
  constructor(path: string) {
    super('ERR_BACKUP_NOT_DIR', `not a directory: ${path}`, { path });
  }
}
