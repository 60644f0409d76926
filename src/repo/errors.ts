// Errors of the repository layer. Every one names what was wrong; none lets unverified bytes through.
import { P2PBackupError } from '../common/errors.ts';

/** A sealed blob failed to open: wrong key, altered bytes, a kind or length that is not what its reference says. */
export class BlobIntegrityError extends P2PBackupError {
  constructor(reason: string, details: Record<string, unknown> = {}) {
    super('ERR_BLOB_INTEGRITY', `blob failed verification: ${reason}`, details);
  }
}

/** A blob's compressed payload could not be decompressed to the length it declares. */
export class BlobDecompressError extends P2PBackupError {
  constructor(reason: string, details: Record<string, unknown> = {}) {
    super('ERR_BLOB_DECOMPRESS', `blob failed to decompress: ${reason}`, details);
  }
}

/** A blob id is in no index this repository knows (pruned, never stored, or the index part is missing). */
export class BlobNotFoundError extends P2PBackupError {
  constructor(id: string) {
    super('ERR_BLOB_NOT_FOUND', `blob ${id.slice(0, 16)}… is not in the repository's index`, { id });
  }
}

/** A repository record, index part or chunk list is malformed. */
export class InvalidRepoDataError extends P2PBackupError {
  constructor(what: string, reason: string, details: Record<string, unknown> = {}) {
    super('ERR_REPO_BAD_DATA', `${what} is malformed: ${reason}`, { what, ...details });
  }
}

/** Another device holds a lock that excludes this operation (a prune runs, or backups run while prune wants to). */
export class RepoLockedError extends P2PBackupError {
  constructor(kind: string, holder: string, until: number) {
    super('ERR_REPO_LOCKED', `the repository is locked by a ${kind} on ${holder} (until ${new Date(until).toISOString()}); try again later`, {
      kind,
      holder,
      until
    });
  }
}

/** The repository record moved under us more times than we retry (another device writes it constantly). */
export class RepoConflictError extends P2PBackupError {
  constructor(message: string) {
    super('ERR_REPO_CONFLICT', message);
  }
}

/** A file changed while it was read for a backup: its chunks would not be one version of it. */
export class FileChangedError extends P2PBackupError {
  constructor(path: string, what: string) {
    super('ERR_FILE_CHANGED', `${path} changed while it was read (${what}); it was not stored`, { path, what });
  }
}

/** RecordStore.write found the record moved past `prevSeq` (another writer): read it again and retry. */
export class RecordConflictError extends P2PBackupError {
  constructor(expected: number | null, found: number | null) {
    super('ERR_RECORD_CONFLICT', `the record moved (expected seq ${expected}, found ${found}); read it again`, { expected, found });
  }
}

/** Prune found a blob that a kept snapshot names but no index knows: it refuses to delete anything. */
export class PruneMissingBlobError extends P2PBackupError {
  constructor(ids: string[]) {
    super(
      'ERR_PRUNE_MISSING_BLOB',
      `${ids.length} blob(s) named by kept snapshots are in no index (first ${ids[0].slice(0, 16)}…); prune stopped without deleting anything: run check --deep`,
      { count: ids.length, ids: ids.slice(0, 10) }
    );
  }
}
