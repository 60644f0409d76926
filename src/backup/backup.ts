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
import { constants as fsc } from 'node:fs';
import { lstat, open, readdir, readFile, readlink, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BigIntStats } from 'node:fs';
import { InputChangedError, type FileInput } from '../format/index.ts';
import { P2PBackupError } from '../common/errors.ts';
import { BACKUP_CONCURRENCY, IGNORE_FILE, MODE_MASK, PACK_FILE_MAX_BYTES, READ_CHUNK_BYTES } from './constants.ts';
import { createPackWriter } from './packs.ts';
import { FileReadError, UnsupportedEntryError } from './errors.ts';
import { isExcluded, parseRules, type ExcludeRule } from './exclude.ts';
import { limiter } from './limit.ts';
import { encodeDir, encodeSnapshot, putObject } from './objects.ts';
import type { BackupCache } from './cache.ts';
import type { BackupProgress, BackupStats, DirEntry, ItemErrorHandler, ObjectStore, Snapshot } from './types.ts';

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

export class NotADirectoryError extends P2PBackupError {
  constructor(path: string) {
    super('ERR_BACKUP_NOT_DIR', `not a directory: ${path}`, { path });
  }
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
  const baseRules: ExcludeRule[] = parseRules(o.excludes ?? []);
  for (const f of o.excludeFiles ?? []) baseRules.push(...parseRules((await readFile(f, 'utf8')).split('\n')));
  const run = limiter(o.concurrency ?? BACKUP_CONCURRENCY);
  const seen = new Set<string>();
  const { store, cache } = o;

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
  /** Settle once a file is read and queued (or stored alone): the last pack may be sealed after all of them. */
  const admissions: Promise<unknown>[] = [];
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

  /** A small file: read whole, then appended to the open pack (or found stored already, by content). */
  const storeSmall = async (abs: string, name: string, st: BigIntStats, admitted: () => void): Promise<DirEntry | null> => {
    const read = run(async () => {
      signal.throwIfAborted();
      const opened = await openChecked(abs, st);
      if (!opened) return null;
      const { fh, before } = opened;
      try {
        const size = Number(before.size);
        let bytes: Uint8Array, got: number;
        try {
          ({ bytes, got } = await readExactly(fh, size));
        } catch (err) {
          await itemError(abs, new FileReadError(abs, err));
          return null;
        }
        if (got !== size) {
          await itemError(abs, new FileReadError(abs, new InputChangedError({ expected: size, got })));
          return null;
        }
        const after = await fh.stat({ bigint: true });
        stats.bytesRead += size;
        const sha = createHash('sha256').update(bytes).digest('hex');
        let cap = stored.get(sha);
        if (!cap) {
          const known = await cache?.getBlob(sha);
          cap = known !== undefined ? Promise.resolve(known) : (await packer.add(bytes)).cap;
          stored.set(sha, cap);
          if (known === undefined) void cap.then((c) => cache?.putBlob(sha, c)).catch(() => {});
        }
        o.onProgress?.({ type: 'backup:backup:file', path: abs, size, status: 'new' });
        return { cap, before, after };
      } finally {
        await fh.close();
      }
    });
    const r = await read.finally(admitted);
    if (!r) return null;
    const cap = await r.cap;
    stats.files++; stats.bytesTotal += Number(r.before.size);
    await rememberFile(abs, r.before, r.after, cap);
    return fileEntry(name, cap, r.before);
  };

  /** A large file: streamed through the encoder on its own (its own convergent cap). */
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
        o.onProgress?.({ type: 'backup:backup:file', path: abs, size, status: 'new' });
        return fileEntry(name, cap, before);
      } finally {
        await fh.close();
      }
    });
    return p;
  };

  const storeFile = (abs: string, name: string, st: BigIntStats): Promise<DirEntry | null> => {
    seen.add(abs);
    // Registered now, before any await: the walk's end waits for every file to be queued before the last seal.
    const admission = { resolve: () => {} };
    admissions.push(new Promise<void>((resolve) => { admission.resolve = resolve; }));
    const p = (async () => {
      const cached = await cache?.getFile(abs);
      if (cached && cached.size === Number(st.size) && cached.mtimeNs === st.mtimeNs.toString() && cached.ctimeNs === st.ctimeNs.toString() && cached.ino === st.ino.toString()) {
        stats.files++; stats.unchanged++; stats.bytesTotal += cached.size;
        o.onProgress?.({ type: 'backup:backup:file', path: abs, size: cached.size, status: 'unchanged' });
        return fileEntry(name, cached.cap, st);
      }
      if (Number(st.size) <= PACK_FILE_MAX_BYTES) return storeSmall(abs, name, st, admission.resolve);
      admission.resolve(); // stored alone: nothing to wait for before sealing packs
      return storeLarge(abs, name, st);
    })();
    void p.finally(admission.resolve).catch(() => {});
    return p;
  };

  /** Every file's entry promise, for the final wait (each also aborts the run on a fatal error). */
  const allFiles: Promise<DirEntry | null>[] = [];

  // Phase 1: walk, queueing files; a directory is a node whose entries are known once its files are stored.
  const walkDir = async (abs: string, rel: string, inherited: ExcludeRule[]): Promise<DirNode | null> => {
    signal.throwIfAborted();
    let names: string[];
    try {
      names = await readdir(abs);
    } catch (err) {
      await itemError(abs, new FileReadError(abs, err));
      return null;
    }
    names.sort();
    let rules = inherited;
    if (names.includes(IGNORE_FILE)) {
      try {
        rules = [...inherited, ...parseRules((await readFile(join(abs, IGNORE_FILE), 'utf8')).split('\n'), rel)];
      } catch (err) {
        await itemError(join(abs, IGNORE_FILE), new FileReadError(join(abs, IGNORE_FILE), err));
      }
    }
    const node: DirNode = { abs, entries: [], files: [], subdirs: [], height: 0 };
    for (const name of names) {
      signal.throwIfAborted();
      const childAbs = join(abs, name);
      const childRel = rel ? `${rel}/${name}` : name;
      let st: BigIntStats;
      try {
        st = await lstat(childAbs, { bigint: true });
      } catch (err) {
        await itemError(childAbs, new FileReadError(childAbs, err));
        continue;
      }
      if (st.isDirectory()) {
        if (isExcluded(rules, childRel, true)) { excluded(childAbs, 'pattern'); continue; }
        const marker = await firstPresent(childAbs, o.excludeIfPresent);
        if (marker) { excluded(childAbs, `contains ${marker}`); continue; }
        const child = await walkDir(childAbs, childRel, rules);
        if (child !== null) {
          node.subdirs.push({ entry: { name, type: 'dir', mode: modeOf(st), mtimeNs: st.mtimeNs.toString() }, node: child });
          node.height = Math.max(node.height, child.height + 1);
        }
      } else if (isExcluded(rules, childRel, false)) {
        excluded(childAbs, 'pattern');
      } else if (st.isFile()) {
        const p = storeFile(childAbs, name, st);
        p.catch((err) => ac.abort(err)); // fatal: stop the rest, and they throw this same error
        node.files.push(p);
        allFiles.push(p);
      } else if (st.isSymbolicLink()) {
        try {
          node.entries.push({ name, type: 'symlink', mode: modeOf(st), mtimeNs: st.mtimeNs.toString(), target: await readlink(childAbs) });
          stats.symlinks++;
        } catch (err) {
          await itemError(childAbs, new FileReadError(childAbs, err));
        }
      } else {
        await itemError(childAbs, new UnsupportedEntryError(childAbs, kindOf(st)));
      }
    }
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
      for (const node of level) {
        signal.throwIfAborted();
        for (const s of node.subdirs) node.entries.push({ ...s.entry, cap: s.node.cap! });
        const bytes = encodeDir(node.entries);
        stats.dirs++;
        const known = await cache?.getDir(bytes);
        if (known) {
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
    } finally {
      // Every file is read and queued before the last pack is sealed; on failure nothing more is stored.
      await Promise.allSettled(admissions);
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
    o.onProgress?.({ type: 'backup:backup:done', snapshotCap, stats });
    return { snapshotCap, root, snapshot, stats };
  } finally {
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

/** The file's first `size` bytes, and how many it has (up to size + 1: more means it grew). */
async function readExactly(fh: FileHandle, size: number): Promise<{ bytes: Uint8Array; got: number }> {
  const buf = new Uint8Array(size + 1);
  let at = 0;
  while (at <= size) {
    const { bytesRead } = await fh.read(buf, at, size + 1 - at, at);
    if (bytesRead === 0) break;
    at += bytesRead;
  }
  return { bytes: buf.subarray(0, size), got: at };
}

async function firstPresent(dir: string, names: string[] | undefined): Promise<string | null> {
  for (const n of names ?? []) {
    try { await lstat(join(dir, n)); return n; } catch { /* absent */ }
  }
  return null;
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
