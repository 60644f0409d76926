// Limits and sizes of an owner's repository (format 2): blobs, packs, the index. Sizes in bytes.
// Byte layouts: docs/FORMAT.md §Blobs, §Packs, §Index.

/** Version of the repository record and the index parts (the `v` field / version byte). */
export const REPO_VERSION = 2;
/**
 * A pack is sealed once the next blob would take it past this: 8 MiB. Larger packs cost fewer per-object rounds on
 * the peers (n share streams, n files, n fsyncs, leases: docs/ARCHITECTURE.md); smaller ones hold less memory while
 * they upload (a pack in flight holds its n shares, 5/3 of it at 3-of-5, and the open pack its buffer) and waste less
 * when a prune rewrites them. A single blob larger than this gets a pack of its own. It was 16 MiB (restic's default)
 * until 2026-12-07. `bench backup`, three interleaved rounds against 16 MiB (client peak RSS MiB, seconds):
 * /usr/share backup 315-339 against 366-397 (13.2-13.7 s against 13.0-14.5), restore 428-435 against 444-476
 * (9.2-9.3 s against 9.5-10.8); a 1 GiB file's backup 217-230 against 271-275 and restore 207-213 against 235-236,
 * but each about 1 s slower (14.0 s against 12.8, 10.8 against 9.9 median): twice the packs cost about 2.5 CPU s
 * more over the client and its peers, on two cores.
 */
export const PACK_TARGET_BYTES = 8 << 20;
/**
 * The first pack of a run (after a flush) is sealed at this size, each next one at twice the last, up to
 * PACK_TARGET_BYTES: 0.5, 1, 2, 4, then 8 MiB. The uplink starts after half a MiB of sealed content
 * (bench wan: with 16 MiB a first backup of /usr/include read, chunked and compressed most of the tree before its
 * first byte went out; with 2 MiB its first pack was sealed 430 ms after the backup started, the first byte left
 * at 0.8-0.9 s; with 512 KiB sealed after 94-142 ms, first byte at 0.45-0.51 s). A 1 GiB file costs four packs
 * more than at 8 MiB throughout.
 */
export const PACK_FIRST_BYTES = 512 << 10;
/**
 * An open pack that took no blob for this long is sealed and uploaded then, if an upload slot is free: an
 * incremental backup's few new chunks leave while the rest of its files is read (and found known), not after.
 * bench wan's edit row (4 KiB overwritten in the middle of a large file): its new chunk waited for the end of the
 * read, then the upload and the commit ran on an idle CPU. A first backup adds blobs every few ms: no change.
 */
export const PACK_IDLE_SEAL_MS = 250;
/**
 * Packs uploading at once while the next one fills: backup memory is about (this + 1) packs and their shares.
 * 4, not 2, measured (the likely reason, not traced: a pack's upload ends with its slowest peer, so with 2 the
 * packer waits on a straggler more often).
 * `bench backup --only file` (1 GiB), four interleaved pairs 2 / 4: backup 20.7, 17.5, 16.9, 14.4 s / 16.3, 15.2,
 * 15.6, 15.1 s (medians 17.2 / 15.4), client peak RSS 367-398 / 372-400 MiB; /usr/share, two pairs: 25.0, 20.8 /
 * 22.5, 20.4 s. 3 and 6 once each: 14.5 s. Each owner upload is one open write per peer
 * (src/store/constants.ts MAX_OPEN_WRITES_PER_OWNER leaves room).
 */
export const PACK_UPLOADS_IN_FLIGHT = 4;
/** Sealed-blob framing: 24-byte XChaCha20 nonce + 16-byte Poly1305 tag around a 5-byte header (method, length). */
export const BLOB_NONCE_BYTES = 24;
export const BLOB_HEADER_BYTES = 5;
export const BLOB_OVERHEAD_BYTES = 24 + 16 + 5;
/** Largest blob plaintext: 16 MiB (chunks are at most 8 MiB; tree and index parts are split below this). */
export const MAX_BLOB_BYTES = 16 << 20;
/** A directory's tree blob is split into parts of about this many bytes of JSON (docs/FORMAT.md §Trees). */
export const TREE_PART_BYTES = 4 << 20;
/** An index part lists at most this many blobs (51 bytes each: about 3 MiB). */
export const INDEX_PART_ENTRIES = 60_000;
/**
 * The repository record lists index parts; past this many, a flush merges them into as few parts as possible
 * (each listed part costs about 200 bytes of the record, and records are kept at most 64 KiB by storage peers).
 */
export const RECORD_MAX_INDEX_PARTS = 64;
/** A lock not refreshed for this long is stale (its process died): ms. */
export const LOCK_STALE_MS = 30 * 60_000;
/** A held lock is refreshed this often: ms. */
export const LOCK_REFRESH_MS = 5 * 60_000;
/** Packs kept in memory for reading blobs (restore, ls, diff): 64 MiB, least recently used out first. */
export const PACK_CACHE_BYTES = 64 << 20;
/** A cached pack nobody read for this long is dropped: ms. */
export const PACK_CACHE_IDLE_MS = 30_000;
/**
 * Locations looked up ahead of their reads (Repository.locateAhead: a restore names a directory's blobs at once)
 * and not read yet, at most; the oldest go first. Each holds one index entry (its pack cap included).
 */
export const LOCATE_AHEAD_MAX = 16_384;
/**
 * Pack buffers (and pooled plaintexts) kept for reuse once their packs are dropped (src/common/buffer-pool.ts):
 * one full pack's (PACK_TARGET_BYTES) at most. A restore drops a big file's packs one at a time as it reads them
 * (ReadPlan), so one kept buffer serves the next read and a second only sat idle (measured: format/constants.ts
 * SHARE_POOL_BYTES).
 */
export const PACK_POOL_BYTES = PACK_TARGET_BYTES;
/**
 * Blobs sealed in under SMALL_PLAIN_MAX bytes (a restore's packed small files) loaded `pooled` get their memory from
 * a pool of their own, in SMALL_PLAIN_POOL_UNIT steps, SMALL_PLAIN_POOL_BYTES kept at most: a restore of many small
 * files then allocates no buffer per file (each was two: ciphertext and plaintext, left to the garbage collector).
 */
export const SMALL_PLAIN_MAX = 512 << 10;
export const SMALL_PLAIN_POOL_UNIT = 64 << 10;
export const SMALL_PLAIN_POOL_BYTES = 4 << 20;
/** Kept pack buffers are let go after this long unused: ms. */
export const PACK_POOL_IDLE_MS = 10_000;
/** Prune rewrites a pack whose live bytes fell below this fraction of it (restic's default threshold is similar). */
export const PRUNE_REPACK_BELOW = 0.5;
/** Local index writes are batched this many at a time. */
export const INDEX_WRITE_BATCH = 1000;
