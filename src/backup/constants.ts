// Limits, names and versions of the backup layer. Byte layouts: docs/FORMAT.md §Directories and snapshots.

/** Version of tree, snapshot and folder-head objects (the `v` field): format 2. Bump on any layout change. */
export const OBJECT_VERSION = 2;
/** The `p2pb` field of each object says what it is. */
export const OBJECT_KINDS = { tree: 'tree', snapshot: 'snapshot', head: 'head' } as const;
/** A directory's tree is cut into parts of about this much JSON (each one blob): 4 MiB, about 25,000 entries. */
export const TREE_PART_BYTES = 4 << 20;
/** Complete directories stored per call during the walk (storeTrees: one index read for all of them; one progress event each after). */
export const TREE_BATCH = 512;
/** Cached files whose content the repository is asked about at once (backup.ts: one index read for all). */
export const HELD_BATCH = 4096;
/** Parts of one directory at most (4 GiB of JSON): a bound on what a crafted chain of parts can make us read. */
export const MAX_TREE_PARTS = 1024;
/**
 * Entries a restore, diff or walk expands at most for a tree cap with no snapshot stats to bound it, and at
 * most this many more than a snapshot declares: a crafted tree that names one subtree many times (2^k
 * directories from k objects) is refused with TreeTooLargeError instead of exhausting the machine.
 */
export const MAX_TREE_ENTRIES = 50_000_000;
/** Depth of nested directories at most (a path of 4096 bytes holds at most 2048 components). */
export const MAX_TREE_DEPTH = 2048;

/** Files downloaded at once during a restore (default; `concurrency` option). */
export const RESTORE_CONCURRENCY = 8;
/**
 * Restore: files and symlinks the tree walk has queued and not yet finished, at most (the walk waits for
 * room). Unbounded, the walk queued a whole tree at once: for /usr/share's 49k files about 16 promises and
 * closures each, 700 MiB of heap at the peak, whose pages the process kept after the restore.
 */
export const RESTORE_QUEUE = 512;
/**
 * Restore: a directory's entries whose blobs are located together, ahead of their reads (BlobReader.locateAhead:
 * one index read for all of them instead of one per file).
 */
export const RESTORE_AHEAD = 1024;
/** Restore: in-memory files queued for the writer thread at most (file-writer.ts). */
export const WRITES_IN_FLIGHT = 256;
/** ... and at most this many of their bytes (each is copied once into the message to the thread). */
export const WRITE_BYTES_IN_FLIGHT = 32 << 20;
/** Read size when feeding a file to the chunker: 1 MiB. */
export const READ_CHUNK_BYTES = 1 << 20;
/** Files smaller than this are read whole in one call and stored as one blob (the chunker's minimum chunk). */
export const SMALL_FILE_BYTES = 512 << 10;
/** Large files chunked at once (each holds at most a chunk of up to 8 MiB plus a read in memory). */
export const LARGE_FILE_CONCURRENCY = 2;
/** Chunks of one file fetched ahead while restoring it. */
export const RESTORE_CHUNKS_AHEAD = 4;
/**
 * One file fetched alone (`get`, by range): chunks read per batch (bytes of plaintext, at least one chunk) ... A
 * batch that ends inside a pack segment leaves that segment to be fetched again by the next batch: 8 MiB batches made
 * the peers send 1.13x a 32 MiB file, 16 MiB (about a pack) 1.05x.
 */
export const GET_BATCH_BYTES = 16 << 20;
/** ... and batches in flight. */
export const GET_BATCHES_AHEAD = 2;
/** Per-directory exclude file, gitignore-like (patterns relative to its directory). */
export const IGNORE_FILE = '.p2pbackupignore';
/** Restore writes each file to a temporary name with this prefix in its target directory, then renames it. */
export const RESTORE_TEMP_PREFIX = '.p2pb-restore-';
/** Permission bits kept in directory entries (rwx for u/g/o plus setuid, setgid, sticky). */
export const MODE_MASK = 0o7777;
