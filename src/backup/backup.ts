// Backup: turn a folder into a snapshot of immutable objects, reading only what changed.
// 1. Walk the tree with lstat (symlinks are stored, never followed); apply exclude rules (`--exclude`,
//    exclude files, `.p2pbackupignore` in any directory, `--exclude-if-present`) before entering a directory.
// 2. A regular file whose size, mtime, ctime and inode match the cache keeps its cached cap unread;
//    others are opened (O_NOFOLLOW), checked to be the file lstat saw, and read, at most `concurrency`
//    at once: a small one (<= PACK_FILE_MAX_BYTES) whole, into the open pack (packs.ts; content stored
//    before, by sha256, is not stored again), a large one streamed through `putFile` on its own. Read
//    trouble (EACCES, vanished, changed while read) goes to `onItemError` and the file is left out;
//    anything else (the store failing) aborts the backup.
// 3. Directory objects are built bottom-up, one height at a time, once their children's caps are known
//    (canonical bytes, so an unchanged subtree gives the same bytes); bytes stored before (cache, by
//    sha256) are not uploaded again; new ones of one height share packs.
// 4. The snapshot object names the root directory; its cap is the result. Moving the folder head is the
//    caller's step (`commitSnapshot`), taken only after every object above is stored.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { closeSync, constants as fsc, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, type BigIntStats } from 'node:fs';
import { lstat, open, readFile, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InputChangedError, type FileInput } from '../format/index.ts';
import { P2PBackupError } from '../common/errors.ts';
import { BACKUP_CONCURRENCY, IGNORE_FILE, MODE_MASK, PACK_FILE_MAX_BYTES, PACK_TARGET_BYTES, READ_CHUNK_BYTES } from './constants.ts';
import { createPackWriter } from './packs.ts';
import { FileReadError, NotADirectoryError, UnsupportedEntryError } from './errors.ts';
import { firstPresent, isExcluded, parseRules, rulesIn, type ExcludeRule } from './exclude.ts';
import { limiter } from './limit.ts';
import { createMeter } from './progress.ts';
import { startScan } from './scan.ts';
import { encodeDir, encodeSnapshot, putObject } from './objects.ts';
import type { BackupCache } from './cache.ts';
import type { BackupProgress, BackupStats, DirEntry, ItemErrorHandler, ObjectStore, Snapshot } from './types.ts';

/** Small files read before the cache is asked about their content in one call. */
const CHUNK_FILES = 256;

export interface BackupOptions {
  store: ObjectStore;
  /** Without a cache every file is read again (convergence still avoids storing it twice). */
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
  /** File uploads at once; default BACKUP_CONCURRENCY. */
  concurrency?: number;
  onProgress?: (e: BackupProgress) => void;
  /** Return to skip the item, throw to abort; default: skip (every skip is also in `stats.skipped`). */
  onItemError?: ItemErrorHandler;
  signal?: AbortSignal;
}

export interface BackupResult {
  snapshotCap: string;
  /** Root directory cap. */
  root: string;
  snapshot: Snapshot;
  stats: BackupStats;
}

const modeOf = (st: BigIntStats) => Number(st.mode) & MODE_MASK;

export async function backup(dir: string, o: BackupOptions): Promise<BackupResult> {
  const rootAbs = resolve(dir);
  const time = o.time ?? Date.now();
  const rootStat = await lstat(rootAbs, { bigint: true });
  if (!rootStat.isDirectory()) throw new NotADirectoryError(rootAbs);
  o.signal?.throwIfAborted();
  // One fatal error stops every upload in flight.
  const ac = new AbortController();
  const onAbort = () => ac.abort(o.signal!.reason);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const signal = ac.signal;

  const stats: BackupStats = { files: 0, dirs: 0, symlinks: 0, bytesRead: 0, bytesTotal: 0, unchanged: 0, dirsReused: 0, uploads: 0, packs: 0, excluded: 0, skipped: [] };
  const patterns = [...(o.excludes ?? [])];
  for (const f of o.excludeFiles ?? []) patterns.push(...(await readFile(f, 'utf8')).split('\n'));
  const baseRules: ExcludeRule[] = parseRules(patterns);
  const run = limiter(o.concurrency ?? BACKUP_CONCURRENCY);
  const seen = new Set<string>();
  const { store, cache } = o;

  // Progress: a status event every so often (files, bytes, rate, ETA once the scan thread has the totals).
  const meter = createMeter('backup', o.onProgress);
  const scan = o.onProgress ? startScan({ root: rootAbs, patterns, excludeIfPresent: o.excludeIfPresent ?? [] }) : null;
  scan?.totals.then((t) => meter.total(t.files, t.bytes), () => {});
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

  const packer = createPackWriter(store, {
    signal,
    onUpload: (kind) => { stats.uploads++; if (kind === 'pack') stats.packs++; }
  });
  /** Small-file content stored during this run, by sha256 (a copy within the tree is stored once). */
  const stored = new Map<string, Promise<string>>();

  const fileEntry = (name: string, cap: string, s: BigIntStats): DirEntry => ({ name, type: 'file', mode: modeOf(s), mtimeNs: s.mtimeNs.toString(), size: Number(s.size), cap });

  const rememberFile = async (abs: string, before: BigIntStats, after: BigIntStats, cap: string) => {
    // Modified while read: keep what was read, but do not trust it next time.
    if (cache && after.mtimeNs === before.mtimeNs && after.ctimeNs === before.ctimeNs) {
      await cache.putFile(abs, { size: Number(before.size), mtimeNs: before.mtimeNs.toString(), ctimeNs: before.ctimeNs.toString(), ino: before.ino.toString(), cap });
    }
  };

  /** Open `abs` as the file lstat saw, or report why not (null). */
  const openChecked = async (abs: string, st: BigIntStats): Promise<{ fh: FileHandle; before: BigIntStats } | null> => {
    let fh: FileHandle;
    try {
      fh = await open(abs, fsc.O_RDONLY | fsc.O_NOFOLLOW);
    } catch (err) {
      await itemError(abs, new FileReadError(abs, err));
      return null;
    }
    try {
      const before = await fh.stat({ bigint: true });
      if (!before.isFile() || before.ino !== st.ino) {
        await itemError(abs, new FileReadError(abs, new Error('replaced while being backed up')));
        await fh.close();
        return null;
      }
      return { fh, before };
    } catch (err) {
      await fh.close();
      throw err;
    }
  };

  /** A large file: streamed through the encoder on its own (its own convergent cap). */
  const large: Promise<unknown>[] = [];
  const storeLarge = (abs: string, name: string, st: BigIntStats): Promise<DirEntry | null> => {
    const p = run(async () => {
      signal.throwIfAborted();
      const opened = await openChecked(abs, st);
      if (!opened) return null;
      const { fh, before } = opened;
      try {
        const size = Number(before.size);
        const read = { error: null as unknown };
        let cap: string;
        try {
          cap = (await store.putFile(handleInput(fh, size, read), { signal })).cap;
        } catch (err) {
          if (read.error === null && !(err instanceof InputChangedError)) throw err;
          await itemError(abs, new FileReadError(abs, read.error ?? err));
          return null;
        }
        stats.uploads++; stats.files++; stats.bytesRead += size; stats.bytesTotal += size;
        await rememberFile(abs, before, await fh.stat({ bigint: true }), cap);
        fileDone(abs, size, 'new');
        return fileEntry(name, cap, before);
      } finally {
        await fh.close();
      }
    });
    large.push(p);
    return p;
  };

  /** Every file's entry promise, for the final wait (each also aborts the run on a fatal error). */
  const allFiles: Promise<DirEntry | null>[] = [];
  const addFile = (node: DirNode, p: Promise<DirEntry | null>) => {
    p.catch((err) => ac.abort(err)); // fatal: stop the rest, and they throw this same error
    node.files.push(p);
    allFiles.push(p);
  };

  /**
   * Small files read but not queued yet (one directory's, in name order): the cache is asked about their
   * content in one call, then each goes into the open pack, unless that content is stored already.
   */
  let chunk: { node: DirNode; name: string; read: SmallFile; sha: string }[] = [];
  let chunkBytes = 0;
  const queueChunk = async () => {
    const items = chunk;
    chunk = []; chunkBytes = 0;
    const known = cache ? await cache.getBlobs(items.map((i) => i.sha)) : [];
    for (const [i, { node, name, read, sha }] of items.entries()) {
      let cap = stored.get(sha);
      if (!cap) {
        const k = known[i];
        cap = k !== undefined ? Promise.resolve(k) : (await packer.add(read.bytes)).cap;
        stored.set(sha, cap);
        if (k === undefined) void cap.then((c) => cache?.putBlob(sha, c)).catch(() => {});
      }
      addFile(node, cap.then(async (c) => {
        await rememberFile(read.path, read.before, read.after, c);
        return fileEntry(name, c, read.before);
      }));
    }
  };

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
    const node: DirNode = { abs, entries: [], files: [], subdirs: [], height: 0 };
    const kids: { name: string; abs: string; rel: string; st: BigIntStats }[] = [];
    for (const name of names) {
      const childAbs = join(abs, name);
      try {
        kids.push({ name, abs: childAbs, rel: rel ? `${rel}/${name}` : name, st: lstatSync(childAbs, { bigint: true }) });
      } catch (err) {
        await itemError(childAbs, new FileReadError(childAbs, err));
      }
    }
    // The cache is asked once for every regular file of the directory.
    const files = kids.filter((k) => k.st.isFile() && !isExcluded(rules, k.rel, false));
    const cachedList = cache ? await cache.getFiles(files.map((k) => k.abs)) : [];
    const cachedOf = new Map(files.map((k, i) => [k.abs, cachedList[i]]));

    for (const { name, abs: childAbs, rel: childRel, st } of kids) {
      signal.throwIfAborted();
      if (++burst % 256 === 0) await new Promise((r) => setImmediate(r));
      if (st.isDirectory()) {
        if (isExcluded(rules, childRel, true)) { excluded(childAbs, 'pattern'); continue; }
        const marker = firstPresent(childAbs, o.excludeIfPresent);
        if (marker) { excluded(childAbs, `contains ${marker}`); continue; }
        if (chunk.length) await queueChunk(); // keep pack order = name order (restore reads in that order)
        const child = await walkDir(childAbs, childRel, rules);
        if (child !== null) {
          node.subdirs.push({ entry: { name, type: 'dir', mode: modeOf(st), mtimeNs: st.mtimeNs.toString() }, node: child });
          node.height = Math.max(node.height, child.height + 1);
        }
      } else if (isExcluded(rules, childRel, false)) {
        excluded(childAbs, 'pattern');
      } else if (st.isFile()) {
        seen.add(childAbs);
        const cached = cachedOf.get(childAbs);
        if (cached && cached.size === Number(st.size) && cached.mtimeNs === st.mtimeNs.toString() && cached.ctimeNs === st.ctimeNs.toString() && cached.ino === st.ino.toString()) {
          stats.files++; stats.unchanged++; stats.bytesTotal += cached.size;
          fileDone(childAbs, cached.size, 'unchanged');
          addFile(node, Promise.resolve(fileEntry(name, cached.cap, st)));
        } else if (Number(st.size) <= PACK_FILE_MAX_BYTES) {
          const read = readSmall(childAbs, st);
          if ('error' in read) {
            await itemError(childAbs, new FileReadError(childAbs, read.error));
            continue;
          }
          const size = read.bytes.length;
          stats.files++; stats.bytesRead += size; stats.bytesTotal += size;
          fileDone(childAbs, size, 'new');
          chunk.push({ node, name, read, sha: createHash('sha256').update(read.bytes).digest('hex') });
          chunkBytes += size;
          if (chunk.length >= CHUNK_FILES || chunkBytes >= PACK_TARGET_BYTES) await queueChunk();
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
    if (chunk.length) await queueChunk();
    return node;
  };

  // Phase 2: directory objects bottom-up, one height at a time (a parent needs its children's caps), each
  // height's new objects packed together.
  const storeDirs = async (root: DirNode): Promise<string> => {
    const levels: DirNode[][] = [];
    const collect = (n: DirNode) => { for (const s of n.subdirs) collect(s.node); (levels[n.height] ??= []).push(n); };
    collect(root);
    for (const level of levels) {
      if (!level) continue;
      const waits: Promise<void>[] = [];
      const objects = level.map((node) => {
        for (const s of node.subdirs) node.entries.push({ ...s.entry, cap: s.node.cap! });
        return encodeDir(node.entries);
      });
      stats.dirs += level.length;
      const knownList = cache ? await cache.getDirs(objects) : [];
      for (const [i, node] of level.entries()) {
        signal.throwIfAborted();
        const bytes = objects[i];
        const known = knownList[i];
        if (known !== undefined) {
          node.cap = known;
          stats.dirsReused++;
          o.onProgress?.({ type: 'backup:backup:dir', path: node.abs, status: 'reused' });
          continue;
        }
        const { cap } = await packer.add(bytes);
        waits.push(cap.then(async (c) => {
          node.cap = c;
          await cache?.putDir(bytes, c);
          o.onProgress?.({ type: 'backup:backup:dir', path: node.abs, status: 'uploaded' });
        }));
      }
      await packer.flush();
      await Promise.all(waits);
    }
    return root.cap!;
  };

  try {
    o.onProgress?.({ type: 'backup:backup:start', dir: rootAbs });
    let rootNode: DirNode | null;
    try {
      rootNode = await walkDir(rootAbs, '', baseRules);
    } catch (err) {
      ac.abort(err); // the uploads in flight stop; wait for them before reporting
      await Promise.allSettled(large);
      throw err;
    }
    if (rootNode === null) throw new FileReadError(rootAbs, new Error('the folder itself could not be read'));
    await packer.flush();
    const settled = await Promise.allSettled(allFiles);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw signal.aborted ? signal.reason : (failed as PromiseRejectedResult).reason;
    const place = async (n: DirNode): Promise<void> => {
      for (const f of n.files) { const e = await f; if (e) n.entries.push(e); }
      for (const s of n.subdirs) await place(s.node);
    };
    await place(rootNode);
    const root = await storeDirs(rootNode);
    const snapshot: Snapshot = {
      root, time, host: o.host ?? hostname(), paths: [rootAbs],
      stats: { files: stats.files, dirs: stats.dirs, symlinks: stats.symlinks, bytes: stats.bytesTotal }
    };
    if (o.label !== undefined) snapshot.label = o.label;
    if (o.parent !== undefined) snapshot.parent = o.parent;
    const snapshotCap = await putObject(store, encodeSnapshot(snapshot), signal);
    stats.uploads++;
    await cache?.prune(rootAbs, seen);
    meter.done();
    o.onProgress?.({ type: 'backup:backup:done', snapshotCap, stats });
    return { snapshotCap, root, snapshot, stats };
  } finally {
    meter.stop();
    scan?.stop();
    o.signal?.removeEventListener('abort', onAbort);
  }
}

interface DirNode {
  abs: string;
  /** Symlinks at first; files and subdirectories once their caps are known. */
  entries: DirEntry[];
  files: Promise<DirEntry | null>[];
  /** Subdirectory entries without their cap, which is `node.cap` once stored. */
  subdirs: { entry: DirEntry; node: DirNode }[];
  /** 0 for a directory without subdirectories; parents are stored after every child. */
  height: number;
  cap?: string;
}

/** A small file read whole, or why it could not be. */
interface SmallFile { path: string; bytes: Uint8Array; before: BigIntStats; after: BigIntStats }
type SmallRead = SmallFile | { error: unknown };

/** Read the regular file lstat saw (not a replacement, not through a symlink) whole, synchronously. */
function readSmall(path: string, st: BigIntStats): SmallRead {
  let fd: number;
  try {
    fd = openSync(path, fsc.O_RDONLY | fsc.O_NOFOLLOW);
  } catch (error) {
    return { error };
  }
  try {
    const before = fstatSync(fd, { bigint: true });
    if (!before.isFile() || before.ino !== st.ino) return { error: new Error('replaced while being backed up') };
    const size = Number(before.size);
    const buf = new Uint8Array(size + 1); // one byte more: a file that grew is noticed
    let at = 0;
    for (let got; at <= size && (got = readSync(fd, buf, at, size + 1 - at, at)) > 0;) at += got;
    if (at !== size) return { error: new InputChangedError({ expected: size, got: at }) };
    return { path, bytes: buf.subarray(0, size), before, after: fstatSync(fd, { bigint: true }) };
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

/** A FileInput over an open handle (so the bytes read are those of the file lstat saw); re-readable. */
function handleInput(fh: FileHandle, size: number, state: { error: unknown }): FileInput {
  return {
    size,
    async *open(signal) {
      let pos = 0;
      try {
        while (pos < size) {
          signal?.throwIfAborted();
          const len = Math.min(READ_CHUNK_BYTES, size - pos);
          const buf = new Uint8Array(len);
          const { bytesRead } = await fh.read(buf, 0, len, pos);
          if (bytesRead === 0) return; // shrank: the encoder reports InputChangedError
          yield bytesRead === len ? buf : buf.subarray(0, bytesRead);
          pos += bytesRead;
        }
        const probe = new Uint8Array(1);
        if ((await fh.read(probe, 0, 1, pos)).bytesRead > 0) yield probe; // grew: InputChangedError too
      } catch (err) {
        if (!signal?.aborted) state.error = err;
        throw err;
      }
    }
  };
}
