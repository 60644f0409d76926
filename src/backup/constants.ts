// Limits, names and versions of the backup layer. Byte layouts: docs/FORMAT.md §Directories and snapshots.

/** Version of directory, snapshot and folder-head objects (the `v` field). Bump on any layout change. */
export const OBJECT_VERSION = 1;
/** The `p2pb` field of each object says what it is, so a cap given to restore/ls can be either kind. */
export const OBJECT_KINDS = { dir: 'dir', snapshot: 'snapshot', head: 'head' } as const;
/** Largest directory or snapshot object we read back: 256 MiB (about a million entries); guards memory. */
export const MAX_OBJECT_BYTES = 256 * 1024 * 1024;
/** File uploads in flight during a backup: small files are bound by round trips to peers, not CPU, so several overlap. */
export const BACKUP_CONCURRENCY = 8;
/** Files downloaded at once during a restore (default; `concurrency` option). */
export const RESTORE_CONCURRENCY = 8;
/** Restore: in-memory files queued for the writer thread at most (file-writer.ts). */
export const WRITES_IN_FLIGHT = 256;
/** ... and at most this many of their bytes (each is copied once into the message to the thread). */
export const WRITE_BYTES_IN_FLIGHT = 32 << 20;
/** Read size when feeding a file to the encoder: 1 MiB = the default segment size (docs/FORMAT.md §Segments). */
export const READ_CHUNK_BYTES = 1 << 20;
/** Per-directory exclude file, gitignore-like (patterns relative to its directory). */
export const IGNORE_FILE = '.p2pbackupignore';
/** Restore writes each file to a temporary name with this prefix in its target directory, then renames it. */
export const RESTORE_TEMP_PREFIX = '.p2pb-restore-';
/** Permission bits kept in directory entries (rwx for u/g/o plus setuid, setgid, sticky). */
export const MODE_MASK = 0o7777;
/** Files up to this size are packed with others (src/backup/packs.ts); larger ones are stored alone. 1 MiB = one segment. */
export const PACK_FILE_MAX_BYTES = 1 << 20;
/** A pack is sealed and uploaded once it holds this much: 8 MiB, large enough that per-file costs vanish, small enough to re-read whole. */
export const PACK_TARGET_BYTES = 8 << 20;
/** Packs uploading at once while the next one fills (backup memory: about (this + 1) x PACK_TARGET_BYTES). */
export const PACK_UPLOADS_IN_FLIGHT = 2;
/** Decrypted packs kept in memory per store for reading slices (restore, ls, diff): 64 MiB, least recently used out first. */
export const PACK_CACHE_BYTES = 64 << 20;
/** Packs larger than this are never cached whole: slices of them are read as ranges. */
export const PACK_CACHE_MAX_PACK_BYTES = 32 << 20;
/** A cached pack nobody read for this long is dropped. */
export const PACK_CACHE_IDLE_MS = 30_000;
