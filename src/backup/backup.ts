// Backup: turn a folder into a snapshot stored in the owner's repository, reading only what changed and storing
// only what the repository does not hold yet (format 2: chunks, compression, deduplication by blob id).
// 1. Walk the tree with lstat (symlinks are stored, never followed); apply exclude rules (`--exclude`,
//    exclude files, `.p2pbackupignore` in any directory, `--exclude-if-present`) before entering a directory.
// 2. A regular file whose size, mtime, ctime and inode match the cache keeps its cached content unread. Others
//    are opened (O_NOFOLLOW) and checked to be the file lstat saw. A small one (< SMALL_FILE_BYTES) is read whole
//    and, with the rest of its directory's small files, handed to the repository as one blob each; a large one is
//    cut by the keyed content-defined chunker, every chunk a blob, named by a chunk list when there are several.
//    Each chunk is hashed, keyed, compressed and sealed from the same buffer, so a key always belongs to the bytes
//    stored under it. After the last byte the file is checked again (size, mtime, ctime): a file that changed while
//    read is read once more, and skipped with FileChangedError if it changes again; it is never stored as a mix.
//    Read trouble goes to `onItemError` and the file is left out; anything else (the store failing) aborts.
// 3. A directory's tree is stored as soon as its files' entries and its subdirectories' references are known
//    (post-order, during the walk; directories completed in one turn of the event loop in one call), and its
//    entries are then let go: only its reference stays. A tree whose bytes the repository holds already (same id)
//    is not stored again. A subtree's trees are thus stored together, where a restore's walk reads them.
// 4. The snapshot object names the root tree; every pack is stored (flush) before the snapshot cap is returned.
//    Moving the folder head is the caller's step (`commitSnapshot`).
import { hostname } from 'node:os';
import { closeSync, constants as fsc, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, type BigIntStats } from 'node:fs';
import { lstat, open, readFile, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LITERAL_MAX_BYTES, type BlobKind } from '../caps/index.ts';
import { P2PBackupError } from '../common/errors.ts';
import { chunkWindow, windowBytes, type Chunker } from '../format/chunker.ts';
import { ChunkListWriter } from '../repo/chunk-list.ts';
import { FileChangedError } from '../repo/errors.ts';
import { HELD_BATCH, IGNORE_FILE, LARGE_FILE_CONCURRENCY, MODE_MASK, READ_CHUNK_BYTES, SMALL_FILE_BYTES, TREE_BATCH } from './constants.ts';
import { FileReadError, NotADirectoryError, UnsupportedEntryError } from './errors.ts';
import { firstPresent, isExcluded, parseRules, rulesIn, type ExcludeRule } from './exclude.ts';
import { limiter } from '../common/limit.ts';
import { AllOf } from '../common/wait.ts';
import { createMeter } from './progress.ts';
import { startScan } from './scan.ts';
import { storeSnapshot, storeTrees, type TreeEntry } from './objects.ts';
import { capOf, decodeRef, encodeLit, encodeRef, isRef } from './refs.ts';
import type { BackupCache, FileCacheRecord } from './cache.ts';
import type { BackupProgress, BackupStats, BlobSink, ItemErrorHandler, Snapshot } from './types.ts';

/** Small files read before their blobs are looked up and stored in one call. */
const BATCH_FILES = 256;
const BATCH_BYTES = 8 << 20;
/** A directory's entries stat'ed and looked up in the cache at once (walkDir). */
const KIDS_SLICE = 1024;

export interface BackupOptions {
  /** The owner's repository. */
  repo: BlobSink;
  /** The owner's keyed chunker (format/chunker.ts). */
  chunker: Chunker;
  /** Without a cache every file is read again (deduplication still avoids storing it twice). */
  cache?: BackupCache;
  /** Patterns (see exclude.ts), relative to the backed-up folder. */
  excludes?: string[];
  /** Files holding one pattern per line. */
  excludeFiles?: string[];
  /** Skip any directory that contains a file of one of these names (e.g. `.nobackup`). */
  excludeIfPresent?: string[];
  /** Previous snapshot cap of this folder, recorded in the new snapshot. */
  parent?: string;
  label?: string;
  /** Default os.hostname(). */
  host?: string;
  /** Snapshot time, ms since epoch; default the start of the backup. */
  time?: number;
  /** Large files chunked at once; default LARGE_FILE_CONCURRENCY. */
  concurrency?: number;
  onProgress?: (e: BackupProgress) => void;
  /** Return to skip the item, throw to abort; default: skip (every skip is also in `stats.skipped`). */
  onItemError?: ItemErrorHandler;
  signal?: AbortSignal;
}

export interface BackupResult {
  snapshotCap: string;
  /** Root tree cap. */
  root: string;
  snapshot: Snapshot;
  stats: BackupStats;
}

const modeOf = (st: BigIntStats) => Number(st.mode) & MODE_MASK;
/** The same file as far as stat can tell (what the cache and the changed-while-read check compare). */
const sameStat = (a: BigIntStats, b: BigIntStats) => a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino;

/** What a file's entry names once stored: its compact content (TreeEntry's `ref` or `lit`). */
type FileContent = { ref: string } | { lit: string };

/** The cache's record of a file stored as `content` under `st`. */
const cacheRecord = (st: BigIntStats, content: FileContent): FileCacheRecord => ({
  size: Number(st.size),
  mtimeNs: st.mtimeNs.toString(),
  ctimeNs: st.ctimeNs.toString(),
  ino: st.ino.toString(),
  content: 'lit' in content ? `l${content.lit}` : content.ref
});

export async function backup(dir: string, o: BackupOptions): Promise<BackupResult> {
  const rootAbs = resolve(dir);
  const time = o.time ?? Date.now();
  const rootStat = await lstat(rootAbs, { bigint: true });
  if (!rootStat.isDirectory()) throw new NotADirectoryError(rootAbs);
  o.signal?.throwIfAborted();
  // One fatal error stops every file in flight.
  const ac = new AbortController();
  const onAbort = () => ac.abort(o.signal!.reason);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const signal = ac.signal;

  const stats: BackupStats = {
    files: 0,
    dirs: 0,
    symlinks: 0,
    bytesRead: 0,
    bytesTotal: 0,
    unchanged: 0,
    dirsReused: 0,
    blobsNew: 0,
    blobsKnown: 0,
    bytesNew: 0,
    bytesStored: 0,
    packs: 0,
    excluded: 0,
    skipped: []
  };
  const repoStats = (o.repo as { stats?: { sealedNew: number; packs: number } }).stats;
  const before = { sealed: repoStats?.sealedNew ?? 0, packs: repoStats?.packs ?? 0 };
  const patterns = [...(o.excludes ?? [])];
  for (const f of o.excludeFiles ?? []) patterns.push(...(await readFile(f, 'utf8')).split('\n'));
  const baseRules: ExcludeRule[] = parseRules(patterns);
  const run = limiter(o.concurrency ?? LARGE_FILE_CONCURRENCY);
  const seen = new Set<string>();
  const { repo, cache } = o;
  // The cache's records of this folder were vouched for under a mark: while it is the repository's mark now, the
  // blobs they name are held, and no cached file is asked about. Else each is (a prune may have freed its blob),
  // and the folder gets the new mark once every record of it is vouched for again (`markable` at the end).
  const mark = cache && repo.holdMark ? await repo.holdMark(signal) : undefined;
  const trusted = mark !== undefined && (await cache!.getMark(rootAbs)) === mark;
  let markable = mark !== undefined;

  // Progress: a status event every so often (files, bytes, rate, ETA once the scan thread has the totals).
  const meter = createMeter('backup', o.onProgress);
  const scan = o.onProgress ? startScan({ root: rootAbs, patterns, excludeIfPresent: o.excludeIfPresent ?? [] }) : null;
  scan?.totals.then(
    (t) => meter.total(t.files, t.bytes),
    () => {}
  );
  const fileDone = (path: string, size: number, status: 'new' | 'unchanged') => {
    meter.file(size);
    o.onProgress?.({ type: 'backup:backup:file', path, size, status });
  };

  const itemError = async (path: string, err: Error): Promise<void> => {
    stats.skipped.push({ path, error: err.message, code: (err as P2PBackupError).code });
    o.onProgress?.({ type: 'backup:backup:item-error', path, error: err.message });
    await o.onItemError?.(path, err);
  };
  const excluded = (path: string, reason: string) => {
    stats.excluded++;
    o.onProgress?.({ type: 'backup:backup:excluded', path, reason });
  };

  /** Store blobs and count them; resolves when admitted, with a promise per blob that settles once stored. */
  const save = async (kind: 'data' | 'list', plains: Uint8Array[]) => {
    const rs = await repo.saveBlobs(kind, plains, { signal });
    rs.forEach((r, i) => {
      if (r.isNew) {
        stats.blobsNew++;
        stats.bytesNew += plains[i].length;
      } else stats.blobsKnown++;
    });
    return rs;
  };

  const fileEntry = (name: string, content: FileContent, s: BigIntStats): TreeEntry => ({
    name,
    type: 'file',
    mode: modeOf(s),
    mtimeNs: s.mtimeNs.toString(),
    size: Number(s.size),
    ...content
  });

  const rememberFile = async (abs: string, st: BigIntStats, content: FileContent) => {
    await cache?.putFile(abs, cacheRecord(st, content));
  };

  /** Open `abs` as the file lstat saw, or report why not (null). */
  const openChecked = async (abs: string, st: BigIntStats): Promise<FileHandle | null> => {
    let fh: FileHandle;
    try {
      fh = await open(abs, fsc.O_RDONLY | fsc.O_NOFOLLOW);
    } catch (err) {
      await itemError(abs, new FileReadError(abs, err));
      return null;
    }
    try {
      const now = await fh.stat({ bigint: true });
      if (!now.isFile() || now.ino !== st.ino) {
        await itemError(abs, new FileReadError(abs, new Error('replaced while being backed up')));
        await fh.close();
        return null;
      }
      return fh;
    } catch (err) {
      await fh.close();
      throw err;
    }
  };

  /** Read windows of the large files being chunked (LARGE_FILE_CONCURRENCY at most), reused file after file. */
  const windows: Uint8Array[] = [];
  /**
   * A large file: chunked, every chunk a blob; one read of the file from stat to stat. Returns its content and
   * the stat it was read under, or 'changed' when the file changed while read.
   */
  const chunkFile = async (
    fh: FileHandle,
    shown: { bytes: number }
  ): Promise<{ content: FileContent; st: BigIntStats; bytes: number; stored: Promise<void> } | 'changed'> => {
    const st = await fh.stat({ bigint: true });
    const size = Number(st.size);
    // Per chunk, 68 bytes and a count (not an object, two arrays and a promise): flat for a file of any size.
    const refs = new ChunkListWriter();
    const stored = new AllOf();
    let bytes = 0;
    const window = windows.pop() ?? new Uint8Array(windowBytes(o.chunker, READ_CHUNK_BYTES));
    let pos = 0;
    // Up to `size` and one byte past it: a file that grew is noticed by its length.
    const read = async (into: Uint8Array) => {
      const want = Math.min(into.length, size + 1 - pos);
      if (want <= 0) return 0;
      const { bytesRead } = await fh.read(into, 0, want, pos);
      pos += bytesRead;
      return bytesRead;
    };
    try {
      // Each chunk is a view of `window` until the next one is asked for: save() seals it into a pack first.
      for await (const chunk of chunkWindow(read, o.chunker, { signal, window, readBytes: READ_CHUNK_BYTES })) {
        const [r] = await save('data', [chunk]);
        refs.push({ ...r.ref, size: chunk.length });
        stored.add(r.stored);
        bytes += chunk.length;
        shown.bytes += chunk.length; // progress inside a big file (taken back when the file ends)
        meter.partial(chunk.length);
      }
    } finally {
      windows.push(window);
    }
    const after = await fh.stat({ bigint: true });
    if (bytes !== size || !sameStat(st, after)) return 'changed';
    if (refs.count === 1) {
      stored.close();
      return { content: { ref: encodeRef({ kind: 'data', ...refs.at(0) }) }, st, bytes, stored: stored.done };
    }
    const [l] = await save('list', [refs.encode()]);
    stored.add(l.stored);
    stored.close();
    return { content: { ref: encodeRef({ kind: 'list', ...l.ref }) }, st, bytes, stored: stored.done };
  };

  /** Keep `p` (which never rejects) in `set` until it settles: a run holds what is in flight, not one per file. */
  const whileUnsettled = <T>(set: Set<Promise<T>>, p: Promise<T>) => {
    set.add(p);
    void p.then(() => set.delete(p));
  };

  /** Large files being chunked: the backup waits for every chunk to be queued before it seals the last packs. */
  const chunking = new Set<Promise<unknown>>();
  const storeLarge = (abs: string, name: string, st: BigIntStats): Promise<TreeEntry | null> => {
    const shown = { bytes: 0 };
    const takeBack = () => {
      meter.partial(-shown.bytes);
      shown.bytes = 0;
    };
    const added = run(async () => {
      signal.throwIfAborted();
      const fh = await openChecked(abs, st);
      if (!fh) return null;
      try {
        let r: Awaited<ReturnType<typeof chunkFile>> = 'changed';
        for (let attempt = 0; attempt < 2 && r === 'changed'; attempt++) {
          try {
            takeBack();
            r = await chunkFile(fh, shown);
          } catch (err) {
            if (signal.aborted || (err instanceof P2PBackupError && !(err instanceof FileReadError))) throw err;
            await itemError(abs, new FileReadError(abs, err));
            return null;
          }
        }
        if (r === 'changed') {
          await itemError(abs, new FileChangedError(abs, 'size, mtime or ctime differ after reading it twice'));
          return null;
        }
        return r;
      } finally {
        await fh.close();
      }
    });
    whileUnsettled(
      chunking,
      added.catch(() => {})
    );
    return added.then((r) => {
      if (!r) {
        takeBack();
        return null;
      }
      stats.files++;
      stats.bytesRead += r.bytes;
      stats.bytesTotal += r.bytes;
      // Its entry is known now; the cache learns of the file only once its packs are in the swarm.
      addDurable(
        r.stored.then(
          async () => {
            takeBack();
            await rememberFile(abs, r.st, r.content);
            fileDone(abs, r.bytes, 'new');
          },
          (err) => {
            takeBack();
            throw err;
          }
        )
      );
      return fileEntry(name, r.content, r.st);
    });
  };

  /**
   * Files whose entry is not known yet, for the final wait (settled ones leave: their entries belong to their
   * directory's tree only), and the first fatal error of one (it also aborts the run).
   */
  const pendingFiles = new Set<Promise<unknown>>();
  let fileFailure: { err: unknown } | undefined;
  const addFile = (node: DirNode, p: Promise<TreeEntry | null>) => {
    const settled = p.then(
      () => {},
      (err) => {
        fileFailure ??= { err };
        ac.abort(err); // fatal: stop the rest, and they throw this same error
      }
    );
    whileUnsettled(pendingFiles, settled);
    node.files.push(p);
  };
  /**
   * Each stored file's "its packs are in the swarm, and the cache knows it" (a failure is fatal as above). The
   * trees and the snapshot are stored without waiting for these, so their pack goes out beside the last data
   * packs (one flush at the end, not one before the trees); the backup returns only once all have settled.
   */
  const durable = new Set<Promise<void>>();
  let unstored: { err: unknown } | undefined;
  const addDurable = (p: Promise<void>) =>
    whileUnsettled(
      durable,
      p.then(
        () => {},
        (err) => {
          unstored ??= { err };
          ac.abort(err);
        }
      )
    );

  /** Small files read but not stored yet (one directory's, in name order): stored in one call. */
  let batch: { node: DirNode; name: string; read: SmallFile }[] = [];
  let batchBytes = 0;
  /** Where the batch's files are read: one slab reused batch after batch (see ReadSlab). */
  const slab = new ReadSlab(BATCH_BYTES + SMALL_FILE_BYTES + BATCH_FILES);
  const storeBatch = async () => {
    const items = batch;
    batch = [];
    batchBytes = 0;
    const rs = await save(
      'data',
      items.map((i) => i.read.bytes)
    );
    // Sealed into their packs by now (saveBlobs keeps no plaintext): the next batch is read over them.
    slab.reset();
    // Until their packs are stored (a few packs in flight hold tens of thousands of small files), the batch keeps
    // its cache records, not each file's stat and promise chain (a /usr/share backup's client peak: about 20 MiB
    // less, 417 -> 398 MiB in medians of five and three runs).
    const records: [string, FileCacheRecord][] = [];
    for (const [i, { node, name, read }] of items.entries()) {
      const content: FileContent = { ref: encodeRef({ kind: 'data', ...rs[i].ref }) };
      node.entries.push(fileEntry(name, content, read.st));
      if (cache) records.push([read.path, cacheRecord(read.st, content)]);
    }
    addDurable(
      Promise.all(rs.map((r) => r.stored)).then(async () => {
        for (const [path, rec] of records) await cache!.putFile(path, rec);
      })
    );
  };

  // Whether the repository still holds cached files' content, asked HELD_BATCH at a time (one index read each)
  // rather than once per directory: a walk of unchanged files made a thread-pool round trip per directory.
  let unverified: { id: Uint8Array; resolve: (held: boolean) => void; reject: (err: unknown) => void }[] = [];
  const checkHeld = async () => {
    const asked = unverified;
    unverified = [];
    if (!asked.length) return;
    try {
      const held = await repo.has(asked.map((u) => u.id));
      asked.forEach((u, i) => u.resolve(held[i]));
    } catch (err) {
      for (const u of asked) u.reject(err);
    }
  };
  const heldLater = (id: Uint8Array) =>
    new Promise<boolean>((resolve, reject) => {
      unverified.push({ id, resolve, reject });
      if (unverified.length >= HELD_BATCH) void checkHeld();
    });

  // Phase 1: walk, storing files as they come; a directory is a node whose entries are complete once its
  // files are stored. Directory listings, lstat and small-file reads are synchronous calls (each a few
  // microseconds, where a thread-pool round trip costs tens), in bursts between turns of the event loop.
  let burst = 0;
  const walkDir = async (abs: string, rel: string, inherited: ExcludeRule[]): Promise<DirNode | null> => {
    signal.throwIfAborted();
    let names: string[];
    try {
      names = readdirSync(abs);
    } catch (err) {
      await itemError(abs, new FileReadError(abs, err));
      return null;
    }
    names.sort();
    let rules = inherited;
    try {
      rules = rulesIn(abs, rel, names, inherited);
    } catch (err) {
      await itemError(join(abs, IGNORE_FILE), new FileReadError(join(abs, IGNORE_FILE), err));
    }
    const node: DirNode = { abs, entries: [], files: [], subdirs: [] };
    // The directory's names are taken KIDS_SLICE at a time: lstat, one cache read for the slice's regular files,
    // then each in name order. A directory of 18,000 files (/usr/share/man/man1) held every stat at once.
    for (let from = 0; from < names.length; from += KIDS_SLICE) {
      const kids: { name: string; abs: string; rel: string; st: BigIntStats }[] = [];
      for (const name of names.slice(from, from + KIDS_SLICE)) {
        const childAbs = join(abs, name);
        try {
          kids.push({ name, abs: childAbs, rel: rel ? `${rel}/${name}` : name, st: lstatSync(childAbs, { bigint: true }) });
        } catch (err) {
          await itemError(childAbs, new FileReadError(childAbs, err));
        }
      }
      const files = kids.filter((k) => k.st.isFile() && !isExcluded(rules, k.rel, false));
      const cachedList = cache ? await cache.getFiles(files.map((k) => k.abs)) : [];
      const cachedOf = new Map(files.map((k, i) => [k.abs, cachedList[i]]));

      for (const { name, abs: childAbs, rel: childRel, st } of kids) {
        signal.throwIfAborted();
        if (++burst % 256 === 0) await new Promise((r) => setImmediate(r));
        if (st.isDirectory()) {
          if (isExcluded(rules, childRel, true)) {
            excluded(childAbs, 'pattern');
            continue;
          }
          const marker = firstPresent(childAbs, o.excludeIfPresent);
          if (marker) {
            excluded(childAbs, `contains ${marker}`);
            continue;
          }
          if (batch.length) await storeBatch(); // keep pack order = name order (restore reads in that order)
          const child = await walkDir(childAbs, childRel, rules);
          if (child !== null) {
            node.subdirs.push({ entry: { name, type: 'dir', mode: modeOf(st), mtimeNs: st.mtimeNs.toString() }, ref: child.ref! });
          }
        } else if (isExcluded(rules, childRel, false)) {
          excluded(childAbs, 'pattern');
        } else if (st.isFile()) {
          seen.add(childAbs);
          const cached = cachedOf.get(childAbs);
          if (
            cached &&
            cached.size === Number(st.size) &&
            cached.mtimeNs === st.mtimeNs.toString() &&
            cached.ctimeNs === st.ctimeNs.toString() &&
            cached.ino === st.ino.toString() &&
            typeof cached.content === 'string'
          ) {
            const size = cached.size;
            const unchanged = () => {
              stats.files++;
              stats.unchanged++;
              stats.bytesTotal += size;
              fileDone(childAbs, size, 'unchanged');
            };
            if (cached.content!.startsWith('l')) {
              unchanged();
              node.entries.push(fileEntry(name, { lit: cached.content!.slice(1) }, st));
              continue;
            }
            const ref = cached.content!;
            if (trusted && isRef(ref, FILE_KINDS)) {
              unchanged();
              node.entries.push(fileEntry(name, { ref }, st));
              continue;
            }
            const id = refId(ref);
            // A cached file is trusted only while the repository still holds its content (a prune may have freed
            // it); else, or if the cache entry is not a reference, it is read and stored again. One that cannot be
            // keeps its record, so the folder is not marked (the record would be vouched for unasked next time).
            const held = id ? heldLater(id) : Promise.resolve(false);
            addFile(
              node,
              held.then(async (yes) => {
                if (yes) {
                  unchanged();
                  return fileEntry(name, { ref }, st);
                }
                const e = await storeLarge(childAbs, name, st);
                if (!e) markable = false;
                return e;
              })
            );
          } else if (Number(st.size) < SMALL_FILE_BYTES) {
            const read = readSmall(childAbs, st, slab);
            if ('grew' in read) {
              addFile(node, storeLarge(childAbs, name, st)); // past the small-file size since lstat: chunked instead
              continue;
            }
            if ('error' in read) {
              await itemError(childAbs, read.error instanceof P2PBackupError ? (read.error as Error) : new FileReadError(childAbs, read.error));
              continue;
            }
            const size = read.bytes.length;
            stats.files++;
            stats.bytesRead += size;
            stats.bytesTotal += size;
            fileDone(childAbs, size, 'new');
            if (size <= LITERAL_MAX_BYTES) {
              const content = { lit: encodeLit(read.bytes) };
              addFile(
                node,
                rememberFile(childAbs, read.st, content).then(() => fileEntry(name, content, read.st))
              );
              continue;
            }
            batch.push({ node, name, read });
            batchBytes += size;
            if (batch.length >= BATCH_FILES || batchBytes >= BATCH_BYTES) await storeBatch();
          } else {
            addFile(node, storeLarge(childAbs, name, st));
          }
        } else if (st.isSymbolicLink()) {
          try {
            node.entries.push({ name, type: 'symlink', mode: modeOf(st), mtimeNs: st.mtimeNs.toString(), target: readlinkSync(childAbs) });
            stats.symlinks++;
          } catch (err) {
            await itemError(childAbs, new FileReadError(childAbs, err));
          }
        } else {
          await itemError(childAbs, new UnsupportedEntryError(childAbs, kindOf(st)));
        }
      }
    }
    if (batch.length) await storeBatch();
    node.ref = completeDir(node);
    node.ref.catch(() => {}); // its parent's (or, for the root, finish's) wait reports it
    return node;
  };

  // Phase 2, during the walk: a directory's tree once its children are known (a parent needs their references).
  // While the walk runs, complete directories wait until TREE_BATCH of them are ready (nothing waits for their
  // references but their parents, which complete after them); after it, each turn's are stored at once.
  /** Directories complete and not stored yet. */
  const ready: { node: DirNode; resolve: (ref: string) => void; reject: (err: unknown) => void }[] = [];
  let readyScheduled = false;
  let walking = true;
  /** storeTrees calls running (an aborted walk waits for them before it reports). */
  const treeStores = new Set<Promise<void>>();
  const storeReady = () => {
    readyScheduled = false;
    while (ready.length) {
      const items = ready.splice(0, TREE_BATCH);
      const p = (async () => {
        signal.throwIfAborted();
        const rs = await storeTrees(
          repo,
          items.map((i) => i.node.entries),
          signal
        );
        stats.dirs += items.length;
        for (const [j, { node, resolve }] of items.entries()) {
          const r = rs[j];
          if (r.isNew) stats.blobsNew++;
          else {
            stats.dirsReused++;
            stats.blobsKnown++;
          }
          o.onProgress?.({ type: 'backup:backup:dir', path: node.abs, status: r.isNew ? 'uploaded' : 'reused' });
          resolve(r.ref);
        }
      })().catch((err) => {
        ac.abort(err); // fatal, as a file's: the walk stops
        for (const i of items) i.reject(err);
      });
      whileUnsettled(treeStores, p);
    }
  };
  const completeDir = async (node: DirNode): Promise<string> => {
    for (const e of await Promise.all(node.files)) if (e) node.entries.push(e);
    const refs = await Promise.all(node.subdirs.map((s) => s.ref));
    node.subdirs.forEach((s, i) => node.entries.push({ ...s.entry, ref: refs[i] }));
    node.files = [];
    node.subdirs = [];
    const ref = await new Promise<string>((resolve, reject) => {
      ready.push({ node, resolve, reject });
      if (ready.length >= TREE_BATCH) storeReady();
      else if (!walking && !readyScheduled) {
        readyScheduled = true;
        setImmediate(storeReady);
      }
    });
    node.entries = []; // stored: only the reference is kept
    return ref;
  };

  try {
    o.onProgress?.({ type: 'backup:backup:start', dir: rootAbs });
    let rootNode: DirNode | null;
    try {
      rootNode = await walkDir(rootAbs, '', baseRules);
      walking = false;
      storeReady();
      await checkHeld();
    } catch (err) {
      walking = false;
      ac.abort(err); // the files in flight stop; wait for them before reporting
      storeReady(); // what waits is let go (the aborted signal rejects it)
      for (const u of unverified.splice(0)) u.reject(err);
      await settleAborted(err);
      throw err;
    }
    if (rootNode === null) throw new FileReadError(rootAbs, new Error('the folder itself could not be read'));
    const stored = await finish(rootNode).catch(async (err) => {
      // A pack that failed aborted the run: report that, once every file in flight has settled.
      const reason = signal.aborted ? signal.reason : err;
      ac.abort(reason);
      await settleAborted(reason);
      throw reason;
    });
    await cache?.prune(rootAbs, seen);
    if (markable && !trusted) await cache!.setMark(rootAbs, mark!);
    stats.bytesStored = (repoStats?.sealedNew ?? 0) - before.sealed;
    stats.packs = (repoStats?.packs ?? 0) - before.packs;
    meter.done();
    o.onProgress?.({ type: 'backup:backup:done', snapshotCap: stored.snapshotCap, stats });
    return { ...stored, stats };
  } finally {
    meter.stop();
    scan?.stop();
    o.signal?.removeEventListener('abort', onAbort);
  }

  /**
   * An aborted run ends: the files and trees in flight settle, the blobs queued in the open packs are dropped
   * (they would wait for a flush that never comes), and what is uploading settles. Nothing of it is reported.
   */
  async function settleAborted(reason: unknown): Promise<void> {
    await Promise.allSettled([...pendingFiles]);
    await Promise.allSettled([...treeStores]);
    await (repo.abandon ? repo.abandon(reason) : repo.flush().catch(() => {}));
    await Promise.all([...durable]);
  }

  /** After the walk: every file's entry, the trees, the snapshot, then one flush for all their packs. */
  async function finish(rootNode: DirNode): Promise<{ snapshotCap: string; root: string; snapshot: Snapshot }> {
    await Promise.all([...chunking]); // every chunk queued (a failure surfaces through its file's promise below)
    await Promise.allSettled([...pendingFiles]);
    if (fileFailure) throw fileFailure.err;
    const rootRef = await rootNode.ref!;
    const root = capOf(repo.readCap, decodeRefStrict(rootRef));
    const snapshot: Snapshot = {
      root,
      time,
      host: o.host ?? hostname(),
      paths: [rootAbs],
      // What this backup stored new: its blobs sealed so far (the snapshot object itself, a few hundred bytes, aside).
      stats: {
        files: stats.files,
        dirs: stats.dirs,
        symlinks: stats.symlinks,
        bytes: stats.bytesTotal,
        added: Math.max(0, (repoStats?.sealedNew ?? 0) - before.sealed)
      }
    };
    if (o.label !== undefined) snapshot.label = o.label;
    if (o.parent !== undefined) snapshot.parent = o.parent;
    const { cap: snapshotCap, isNew } = await storeSnapshot(repo, snapshot, signal);
    if (isNew) stats.blobsNew++;
    else stats.blobsKnown++;
    // Every pack, data and trees alike, in the swarm; then every file's cache entry written.
    await repo.flush();
    await Promise.all([...durable]);
    if (unstored) throw unstored.err;
    return { snapshotCap, root, snapshot };
  }
}

const decodeRefStrict = (r: string) => decodeRef(r, ['tree']);
const FILE_KINDS: readonly BlobKind[] = ['data', 'list'];
/** The blob id of a cached file's content, or null if the cache entry is not a well-formed reference. */
function refId(r: string): Uint8Array | null {
  try {
    return decodeRef(r, FILE_KINDS).id;
  } catch {
    return null;
  }
}

interface DirNode {
  abs: string;
  /** Symlinks at first; files and subdirectories once their content is known; none once the tree is stored. */
  entries: TreeEntry[];
  files: Promise<TreeEntry | null>[];
  /** Subdirectory entries without their reference, and the reference once their tree is stored. */
  subdirs: { entry: TreeEntry; ref: Promise<string> }[];
  /** Its tree's reference once stored (set when the walk of the directory is done). */
  ref?: Promise<string>;
}

/** A small file read whole under one stat (the file did not change while it was read), or why it could not be. */
interface SmallFile {
  path: string;
  bytes: Uint8Array;
  st: BigIntStats;
}
/** `grew`: the open file is no longer small (it grew since lstat); it was not read. */
type SmallRead = SmallFile | { error: unknown } | { grew: true };

/**
 * Memory the read fills, not cleared first (only the `size` bytes read are used, and only once all were read): small
 * files come from Node's shared pool instead of an allocation each. 40,000 files of /usr/share (376 MB) read with two
 * fstats each: 1.39-1.40 s of CPU against 1.54-1.55 s with a cleared Uint8Array per file.
 */
function uncleared(n: number): Uint8Array {
  const b = Buffer.allocUnsafe(n);
  return new Uint8Array(b.buffer, b.byteOffset, n); // a plain Uint8Array: slice() copies, as callers expect
}

/**
 * Memory the small files of one batch are read into, taken in order and given back all at once (reset) once the
 * batch is stored: a backup of small files then reads into one buffer instead of allocating one per file. Each
 * allocation counts as external memory for V8, and every 64 MiB or so of it brings a full mark-compact of the
 * whole heap. Measured backing up /usr/share (49,119 files) on the no-network grid (test/backup/grid.ts, one
 * process): mark-compacts 29 -> 18; two interleaved pairs 15.0 -> 14.0 and 18.0 -> 17.1 CPU s, 12.46 -> 11.92 and
 * 15.22 -> 14.75 s. Not cleared either: only bytes read are used.
 */
class ReadSlab {
  private buf: Uint8Array | null = null;
  private at = 0;
  private readonly bytes: number;
  constructor(bytes: number) {
    this.bytes = bytes;
  }
  /** `n` bytes of the slab, or null once it has no room for them (the caller allocates). */
  take(n: number): Uint8Array | null {
    if (this.at + n > this.bytes) return null;
    this.buf ??= uncleared(this.bytes);
    const view = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return view;
  }
  /** Everything taken may be taken again: its bytes are no longer read by anyone. */
  reset(): void {
    this.at = 0;
  }
}

/**
 * Read the regular file lstat saw (not a replacement, not through a symlink) whole, synchronously; twice at most.
 * A file that is SMALL_FILE_BYTES or more by the time it is open (it grew since lstat: a log being written) is
 * not read here ({ grew: true }): memory for a whole file is taken only for what is small. Exported for tests.
 */
export function readSmall(path: string, st: BigIntStats, slab?: ReadSlab): SmallRead {
  let fd: number;
  try {
    fd = openSync(path, fsc.O_RDONLY | fsc.O_NOFOLLOW);
  } catch (error) {
    return { error };
  }
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      const before = fstatSync(fd, { bigint: true });
      if (!before.isFile() || before.ino !== st.ino) return { error: new Error('replaced while being backed up') };
      const size = Number(before.size);
      if (size >= SMALL_FILE_BYTES) return { grew: true };
      const buf = slab?.take(size + 1) ?? uncleared(size + 1); // one byte more: a file that grew is noticed
      let at = 0;
      for (let got; at <= size && (got = readSync(fd, buf, at, size + 1 - at, at)) > 0;) at += got;
      const after = fstatSync(fd, { bigint: true });
      if (at === size && sameStat(before, after)) return { path, bytes: buf.subarray(0, size), st: before };
    }
    return { error: new FileChangedError(path, 'size, mtime or ctime differ after reading it twice') };
  } catch (error) {
    return { error };
  } finally {
    closeSync(fd);
  }
}

function kindOf(st: BigIntStats): string {
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  if (st.isBlockDevice()) return 'block device';
  if (st.isCharacterDevice()) return 'character device';
  return 'unknown';
}
