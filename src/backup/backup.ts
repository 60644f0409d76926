// Backup: turn a folder into a snapshot of immutable objects, reading only what changed.
// 1. Walk the tree with lstat (symlinks are stored, never followed); apply exclude rules (`--exclude`,
//    exclude files, `.p2pbackupignore` in any directory, `--exclude-if-present`) before entering a directory.
// 2. A regular file whose size, mtime, ctime and inode match the cache keeps its cached cap unread;
//    others are opened (O_NOFOLLOW), checked to be the file lstat saw, and stored through `putFile`,
//    at most `concurrency` at once. Read trouble (EACCES, vanished, changed while read) goes to
//    `onItemError` and the file is left out; anything else (the store failing) aborts the backup.
// 3. Each directory object is built bottom-up once its children are known (canonical bytes, so an
//    unchanged subtree gives the same bytes); bytes stored before (cache, by sha256) are not uploaded again.
// 4. The snapshot object names the root directory; its cap is the result. Moving the folder head is the
//    caller's step (`commitSnapshot`), taken only after every object above is stored.
import { hostname } from 'node:os';
import { constants as fsc } from 'node:fs';
import { lstat, open, readdir, readFile, readlink, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BigIntStats } from 'node:fs';
import { InputChangedError, type FileInput } from '../format/index.ts';
import { P2PBackupError } from '../common/errors.ts';
import { BACKUP_CONCURRENCY, IGNORE_FILE, MODE_MASK, READ_CHUNK_BYTES } from './constants.ts';
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

  const stats: BackupStats = { files: 0, dirs: 0, symlinks: 0, bytesRead: 0, bytesTotal: 0, unchanged: 0, dirsReused: 0, uploads: 0, excluded: 0, skipped: [] };
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

  const storeFile = async (abs: string, name: string, st: BigIntStats): Promise<DirEntry | null> => {
    seen.add(abs);
    const entry = (cap: string, s: BigIntStats): DirEntry => ({ name, type: 'file', mode: modeOf(s), mtimeNs: s.mtimeNs.toString(), size: Number(s.size), cap });
    const cached = await cache?.getFile(abs);
    if (cached && cached.size === Number(st.size) && cached.mtimeNs === st.mtimeNs.toString() && cached.ctimeNs === st.ctimeNs.toString() && cached.ino === st.ino.toString()) {
      stats.files++; stats.unchanged++; stats.bytesTotal += cached.size;
      o.onProgress?.({ type: 'backup:backup:file', path: abs, size: cached.size, status: 'unchanged' });
      return entry(cached.cap, st);
    }
    return run(async () => {
      signal.throwIfAborted();
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
          return null;
        }
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
        const after = await fh.stat({ bigint: true });
        // Modified while read: keep what was read, but do not trust it next time.
        if (cache && after.mtimeNs === before.mtimeNs && after.ctimeNs === before.ctimeNs) {
          await cache.putFile(abs, { size, mtimeNs: before.mtimeNs.toString(), ctimeNs: before.ctimeNs.toString(), ino: before.ino.toString(), cap });
        }
        o.onProgress?.({ type: 'backup:backup:file', path: abs, size, status: 'new' });
        return entry(cap, before);
      } finally {
        await fh.close();
      }
    });
  };

  const walkDir = async (abs: string, rel: string, inherited: ExcludeRule[]): Promise<string | null> => {
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
    const entries: DirEntry[] = [];
    const files: Promise<DirEntry | null>[] = [];
    let done: PromiseSettledResult<DirEntry | null>[] = [];
    try {
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
          const cap = await walkDir(childAbs, childRel, rules);
          if (cap !== null) entries.push({ name, type: 'dir', mode: modeOf(st), mtimeNs: st.mtimeNs.toString(), cap });
        } else if (isExcluded(rules, childRel, false)) {
          excluded(childAbs, 'pattern');
        } else if (st.isFile()) {
          const p = storeFile(childAbs, name, st);
          p.catch((err) => ac.abort(err)); // fatal: stop the rest, and they throw this same error
          files.push(p);
        } else if (st.isSymbolicLink()) {
          try {
            entries.push({ name, type: 'symlink', mode: modeOf(st), mtimeNs: st.mtimeNs.toString(), target: await readlink(childAbs) });
            stats.symlinks++;
          } catch (err) {
            await itemError(childAbs, new FileReadError(childAbs, err));
          }
        } else {
          await itemError(childAbs, new UnsupportedEntryError(childAbs, kindOf(st)));
        }
      }
    } finally {
      // Never leave a rejected file promise unobserved, even when the loop throws.
      done = await Promise.allSettled(files);
    }
    for (const r of done) {
      if (r.status === 'rejected') throw r.reason;
      if (r.value) entries.push(r.value);
    }
    const bytes = encodeDir(entries);
    stats.dirs++;
    const known = await cache?.getDir(bytes);
    if (known) {
      stats.dirsReused++;
      o.onProgress?.({ type: 'backup:backup:dir', path: abs, status: 'reused' });
      return known;
    }
    const cap = await putObject(store, bytes, signal);
    stats.uploads++;
    await cache?.putDir(bytes, cap);
    o.onProgress?.({ type: 'backup:backup:dir', path: abs, status: 'uploaded' });
    return cap;
  };

  try {
    o.onProgress?.({ type: 'backup:backup:start', dir: rootAbs });
    const root = await walkDir(rootAbs, '', baseRules);
    if (root === null) throw new FileReadError(rootAbs, new Error('the folder itself could not be read'));
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
