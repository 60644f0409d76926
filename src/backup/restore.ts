// Restore: write a snapshot (or one directory or path of it) back to disk.
// 1. Resolve the cap (snapshot -> root directory), then the optional sub-path; a directory's children go
//    into `target`, a single file or symlink becomes `target/<name>`.
// 2. Walk the directory objects depth first: create directories, queue files, make symlinks.
// 3. Files download `concurrency` at once, each into a temporary name in its target directory; mode and
//    mtime are set on the temporary file and it is renamed into place only after the whole stream was
//    verified and had the expected size. A failed file leaves nothing behind under its name or a temp name.
// 4. Directories get their modes and mtimes last, deepest first (writing into a directory changes its
//    mtime, and a read-only mode would block the writes).
// Modes come from a snapshot, which may be crafted: setuid, setgid and sticky bits are dropped unless
// `preserveSpecial`, the process umask is applied unless `ignoreUmask`, and a directory that already existed
// keeps its own mode unless overwrite is 'always' (a snapshot must not make ~/.ssh 0777).
// Per-item failures (a file whose shares are gone, something in the way) go to `onItemError`.
import { randomBytes } from 'node:crypto';
import { normalize, sep } from 'node:path';
import { chmod, mkdir, open, readlink, rename, rm, unlink, utimes } from 'node:fs/promises';
import { lstatSync, opendirSync, type BigIntStats } from 'node:fs';
import { P2PBackupError } from '../common/errors.ts';
import { MODE_MASK, RESTORE_AHEAD, RESTORE_CONCURRENCY, RESTORE_QUEUE, RESTORE_TEMP_PREFIX, WRITE_BYTES_IN_FLIGHT, WRITES_IN_FLIGHT } from './constants.ts';
import { InvalidObjectError, RestoreConflictError, RestoreSizeError, TreeTooLargeError } from './errors.ts';
import { limiter } from '../common/limit.ts';
import { expansionBudget, locate, pathComponents, snapshotLimit } from './ls.ts';
import { createMeter } from './progress.ts';
import { entryBlob, isRestorableName, readDir } from './objects.ts';
import { openContent } from './content.ts';
import { createFileWriter, type FileWriter } from './file-writer.ts';
import type { MutableReadCap } from '../caps/index.ts';
import type { BackupProgress, BlobSource, DirEntry, ItemErrorHandler, RestoreStats } from './types.ts';

export type OverwriteMode = 'never' | 'if-changed' | 'always';

export interface RestoreOptions {
  /** The repositories caps name (the daemon's; tests' grids). */
  src: BlobSource;
  /** Restore only this path of the snapshot ('docs/2024'). */
  path?: string;
  /**
   * What to do with a file that exists at the target: 'never' keeps it; 'if-changed' (default) keeps it
   * when size and mtime match the snapshot; 'always' replaces it. Directories are never removed.
   */
  overwrite?: OverwriteMode;
  /**
   * Restore setuid, setgid and sticky bits as the snapshot has them. Default false: they are dropped (a
   * snapshot from someone else, or a crafted one, must not plant a setuid file).
   */
  preserveSpecial?: boolean;
  /** Restore permission bits exactly as the snapshot has them. Default false: the process umask is applied. */
  ignoreUmask?: boolean;
  /** Files downloaded at once; default RESTORE_CONCURRENCY. */
  concurrency?: number;
  onProgress?: (e: BackupProgress) => void;
  /** Return to skip the item, throw to abort; default: skip (listed in `stats.failed`). */
  onItemError?: ItemErrorHandler;
  signal?: AbortSignal;
}

// Seconds, as utimes takes them. libuv turns the double back into a timespec by a float multiply and
// truncates to whole microseconds, so `ns / 1e9` often lands one microsecond low (a restored file's
// mtime drifted, sometimes across a millisecond). Aim at the middle of the wanted microsecond instead:
// the double's error (~0.24 µs at today's dates) then never crosses a microsecond boundary.
const tsOf = (ns: string) => {
  const n = BigInt(ns);
  if (n < 0n) return Number(n) / 1e9;
  return Number(n / 1_000_000_000n) + (Number((n % 1_000_000_000n) / 1000n) * 1000 + 500) / 1e9;
};
const sameTime = (a: string, b: bigint) => {
  const d = BigInt(a) - b;
  return d < 1_000_000n && d > -1_000_000n;
};

/** Whether directory `p` has no entries (reads one entry, not the whole listing). */
function isEmptyDir(p: string): boolean {
  const d = opendirSync(p);
  try {
    return d.readSync() === null;
  } finally {
    d.closeSync();
  }
}

async function lstatOrNull(p: string): Promise<BigIntStats | null> {
  // Synchronous: one cheap syscall per entry; a thread-pool round trip costs more than the call itself.
  return lstatSync(p, { bigint: true, throwIfNoEntry: false }) ?? null;
}

/**
 * `dir`'s entry `name`, where `dir` is normalized and `name` a checked entry name (isRestorableName): what
 * path.join gives, without its normalizing pass (two per restored file were 4% of a tree restore's allocations).
 */
const child = (dir: string, name: string) => (dir.endsWith(sep) ? dir + name : dir + sep + name);

/** Permission bits kept without `preserveSpecial`: read, write, execute for user, group and others. */
const PERMISSION_BITS = 0o777;

/** The process umask (documented as racy only when threads change it; nothing here does). */
function currentUmask(): number {
  return process.umask();
}

export async function restore(cap: string, target: string, o: RestoreOptions): Promise<{ stats: RestoreStats }> {
  const overwrite = o.overwrite ?? 'if-changed';
  const umask = o.ignoreUmask ? 0 : currentUmask();
  const keep = o.preserveSpecial ? MODE_MASK : PERMISSION_BITS;
  /** The mode a restored entry gets from the snapshot's `mode`. */
  const modeOf = (mode: number) => mode & keep & ~umask;
  /** Directories that existed before this restore, with their mode then (put back unless overwrite is 'always'). */
  const existingDirs = new Map<string, number>();
  const stats: RestoreStats = { files: 0, dirs: 0, symlinks: 0, bytesWritten: 0, unchanged: 0, failed: [] };
  const ac = new AbortController();
  const onAbort = () => ac.abort(o.signal!.reason);
  o.signal?.throwIfAborted();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const signal = ac.signal;
  const run = limiter(o.concurrency ?? RESTORE_CONCURRENCY);
  // Temporary names: one random tag per restore plus a counter (created with O_EXCL, so never clobbering);
  // 8 random bytes per file were a measurable share of the main thread for 49k small files.
  const tmpTag = randomBytes(6).toString('hex');
  let tmpSeq = 0;
  const tmpName = (dir: string, ext: string) => child(dir, `${RESTORE_TEMP_PREFIX}${tmpTag}-${(tmpSeq++).toString(36)}.${ext}`);
  // Files and symlinks queued by the walk and not finished: at most RESTORE_QUEUE, the walk waits for room
  // (`room`); the first failure aborts the restore and is thrown once all have settled (`waitBelow(0)`).
  let outstanding = 0;
  let firstFailure: { err: unknown } | undefined;
  let wake: (() => void) | undefined;
  const track = (p: Promise<void>) => {
    outstanding++;
    p.catch((err) => {
      firstFailure ??= { err };
      ac.abort(err);
    }).finally(() => {
      outstanding--;
      const w = wake;
      wake = undefined;
      w?.();
    });
  };
  const waitBelow = async (n: number) => {
    while (outstanding > n) await new Promise<void>((r) => (wake = r));
  };
  const room = () => (outstanding >= RESTORE_QUEUE ? waitBelow(RESTORE_QUEUE - 1) : undefined);
  let writer: FileWriter | undefined;
  const writing = new Set<Promise<void>>();
  /** Hand a job to the writer thread (waiting while WRITES_IN_FLIGHT are queued); resolves to its completion. */
  let writingBytes = 0;
  const queueWrite = async (job: Parameters<FileWriter['write']>[0]): Promise<{ done: Promise<void> }> => {
    while (writing.size >= WRITES_IN_FLIGHT || (writing.size > 0 && writingBytes + job.bytes.length > WRITE_BYTES_IN_FLIGHT)) await Promise.race(writing);
    const w = (writer ??= createFileWriter()).write(job);
    const n = job.bytes.length; // not `job`: its view would keep the whole cached pack alive until written
    writingBytes += n;
    const tracked: Promise<void> = w
      .then(
        () => {},
        () => {}
      )
      .finally(() => {
        writing.delete(tracked);
        writingBytes -= n;
      });
    writing.add(tracked);
    return { done: w };
  };
  const dirs: { abs: string; entry: DirEntry; depth: number }[] = [];
  const { src } = o;
  let budget = expansionBudget();
  // Progress: a status event every so often; the totals are the snapshot's own (a whole snapshot) or
  // what the walk found once it is complete (a path of one).
  const meter = createMeter('restore', o.onProgress);
  const walked = { files: 0, bytes: 0 };
  const fileDone = (path: string, size: number, status: 'written' | 'unchanged') => {
    meter.file(size);
    o.onProgress?.({ type: 'backup:restore:file', path, size, status });
  };

  const itemError = async (path: string, err: Error) => {
    if (signal.aborted) throw signal.reason;
    stats.failed.push({ path, error: err.message, code: (err as P2PBackupError).code });
    o.onProgress?.({ type: 'backup:restore:item-error', path, error: err.message });
    await o.onItemError?.(path, err);
  };

  /** Resolves when the file is done, or (in-memory content) to `written`, which settles when it is on disk. */
  // `fresh`: the parent directory was made by this restore, so nothing can be in the way (no lstat).
  const restoreFile = async (e: DirEntry, dir: string, abs: string, fresh: boolean): Promise<void | { written: Promise<void> }> => {
    const existing = fresh ? null : await lstatOrNull(abs);
    if (existing) {
      if (existing.isDirectory()) return itemError(abs, new RestoreConflictError(abs, `a directory is in the way of file ${abs}`));
      const same = existing.isFile() && Number(existing.size) === e.size && sameTime(e.mtimeNs, existing.mtimeNs);
      if (overwrite === 'never' || (overwrite === 'if-changed' && same)) {
        stats.unchanged++;
        fileDone(abs, e.size!, 'unchanged');
        return;
      }
    }
    const tmp = tmpName(dir, 'tmp');
    let placed = false;
    try {
      const content = await openContent(src, e, signal, { pooled: true }); // chunks of a big file given back once written
      let got: number;
      if (content.bytes) {
        // In memory already (a packed small file): handed to the writer thread, which creates, fills and
        // renames it; the download slot is free again at once (at most WRITES_IN_FLIGHT files / WRITE_BYTES_IN_FLIGHT wait to be written).
        got = content.bytes.length;
        let w: Promise<void>;
        try {
          if (got !== e.size) throw new RestoreSizeError(abs, e.size!, got);
          w = (await queueWrite({ tmp, path: abs, bytes: content.bytes, mode: modeOf(e.mode), time: tsOf(e.mtimeNs) })).done;
        } finally {
          content.release(content.bytes); // copied into the writer's batch (or not needed): its pooled buffer is free
        }
        placed = true; // the writer removes its temporary file itself if it fails
        return {
          written: w.then(
            () => {
              stats.files++;
              stats.bytesWritten += got;
              fileDone(abs, got, 'written');
            },
            (err) => itemError(abs, err as Error)
          )
        };
      } else {
        got = 0;
        try {
          const fh = await open(tmp, 'wx', 0o600);
          try {
            for await (const chunk of content.stream) {
              got += chunk.length;
              if (got > e.size!) break;
              await fh.write(chunk);
              content.release(chunk);
            }
            if (got !== e.size) throw new RestoreSizeError(abs, e.size!, got);
            await fh.chmod(modeOf(e.mode));
          } finally {
            await fh.close();
          }
        } finally {
          content.close(); // also when the file could not be created (its stream never started)
        }
        await utimes(tmp, tsOf(e.mtimeNs), tsOf(e.mtimeNs));
        await rename(tmp, abs);
      }
      placed = true;
      stats.files++;
      stats.bytesWritten += got;
      fileDone(abs, got, 'written');
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      await itemError(abs, err as Error);
    } finally {
      if (!placed) await rm(tmp, { force: true });
    }
  };

  const restoreSymlink = async (e: DirEntry, dir: string, abs: string, fresh: boolean): Promise<void> => {
    const existing = fresh ? null : await lstatOrNull(abs);
    if (existing) {
      if (existing.isDirectory()) return itemError(abs, new RestoreConflictError(abs, `a directory is in the way of symlink ${abs}`));
      const same = existing.isSymbolicLink() && (await readlink(abs)) === e.target;
      if (overwrite === 'never' || (overwrite === 'if-changed' && same)) {
        stats.unchanged++;
        return;
      }
    }
    const tmp = tmpName(dir, 'lnk');
    try {
      await (
        await queueWrite({ tmp, path: abs, bytes: new Uint8Array(0), mode: 0, time: tsOf(e.mtimeNs), link: e.target! })
      ).done;
      stats.symlinks++;
    } catch (err) {
      await rm(tmp, { force: true });
      await itemError(abs, err as Error);
    }
  };

  /** false: skip this directory (something is in the way); 'made': created here, so empty. */
  const ensureDir = async (abs: string, fresh: boolean): Promise<boolean | 'made'> => {
    if (fresh) {
      await mkdir(abs, { mode: 0o700 });
      return 'made';
    }
    const existing = await lstatOrNull(abs);
    if (existing?.isDirectory()) {
      existingDirs.set(abs, Number(existing.mode) & MODE_MASK);
      if ((Number(existing.mode) & 0o700) !== 0o700) await chmod(abs, (Number(existing.mode) & MODE_MASK) | 0o700);
      return true;
    }
    if (existing) {
      if (overwrite === 'never') {
        await itemError(abs, new RestoreConflictError(abs, `a file is in the way of directory ${abs}`));
        return false;
      }
      await unlink(abs);
    }
    await mkdir(abs, { mode: 0o700 });
    return 'made';
  };

  /**
   * Where the blobs of `entries` (files' content, directories' trees) live, looked up together: one index read for
   * RESTORE_AHEAD entries instead of one per file. Only an optimization: a failure here is left to each entry's
   * own read, which names it.
   */
  const lookAhead = async (entries: DirEntry[]): Promise<void> => {
    const byRepo = new Map<MutableReadCap, Uint8Array[]>();
    for (const e of entries) {
      const b = entryBlob(e);
      if (!b) continue;
      const ids = byRepo.get(b.repo);
      if (ids) ids.push(b.id);
      else byRepo.set(b.repo, [b.id]);
    }
    for (const [repo, ids] of byRepo) {
      const r = src.reader(repo);
      await r.locateAhead?.(ids, signal).catch(() => signal.throwIfAborted());
    }
  };

  const restoreDir = async (entries: DirEntry[], absDir: string, depth: number, fresh: boolean): Promise<void> => {
    for (const [i, e] of entries.entries()) {
      signal.throwIfAborted();
      if (i % RESTORE_AHEAD === 0) await lookAhead(entries.slice(i, i + RESTORE_AHEAD));
      if (!isRestorableName(e.name)) {
        await itemError(
          child(absDir, e.name),
          new InvalidObjectError(`the name ${JSON.stringify(e.name)} cannot be restored on ${process.platform}: it holds path syntax there`, { name: e.name })
        );
        continue;
      }
      const abs = child(absDir, e.name);
      if (e.type === 'dir') {
        let children: DirEntry[];
        let made: boolean | 'made';
        try {
          if (!(made = await ensureDir(abs, fresh))) continue;
          children = await readDir(src, e, signal);
          budget.take(children.length, depth + 1);
        } catch (err) {
          if (err instanceof TreeTooLargeError) throw err;
          if (signal.aborted) throw signal.reason;
          await itemError(abs, err as Error);
          continue;
        }
        await restoreDir(children, abs, depth + 1, made === 'made');
        dirs.push({ abs, entry: e, depth: depth + 1 });
        stats.dirs++;
      } else if (e.type === 'file') {
        walked.files++;
        walked.bytes += e.size ?? 0;
        await room();
        track(
          run(() => {
            signal.throwIfAborted();
            return restoreFile(e, absDir, abs, fresh);
          }).then((r) => r?.written)
        );
      } else {
        await room();
        track(restoreSymlink(e, absDir, abs, fresh));
      }
    }
  };

  try {
    o.onProgress?.({ type: 'backup:restore:start', cap, target });
    const at = await locate(src, cap, o.path, signal);
    // A crafted tree must not expand past what the snapshot declares (nor anything past the absolute limits).
    budget = expansionBudget(pathComponents(o.path).length ? undefined : snapshotLimit(at.snapshot));
    if (at.kind === 'dir') budget.take(at.entries.length, 0);
    // A target that did not exist (or was empty) cannot have anything in the way: no lstat per entry.
    const fresh = (await mkdir(target, { recursive: true })) !== undefined || isEmptyDir(target);
    const whole = at.snapshot?.stats && !pathComponents(o.path).length ? at.snapshot.stats : null;
    if (whole) meter.total(whole.files, whole.bytes);
    try {
      const root = normalize(target);
      if (at.kind === 'dir') await restoreDir(at.entries, root, 0, fresh);
      else await restoreDir([at.entry], root, 0, fresh);
      if (!whole) meter.total(walked.files, walked.bytes);
    } finally {
      await waitBelow(0);
      if (firstFailure) throw firstFailure.err;
    }
    dirs.sort((a, b) => b.depth - a.depth);
    for (const d of dirs) {
      try {
        // An existing directory keeps its mode (the u+rwx added for writing into it is taken back) unless
        // the caller asked to overwrite everything: a snapshot never loosens what is already there.
        const before = existingDirs.get(d.abs);
        await chmod(d.abs, before !== undefined && overwrite !== 'always' ? before : modeOf(d.entry.mode));
        await utimes(d.abs, tsOf(d.entry.mtimeNs), tsOf(d.entry.mtimeNs));
      } catch (err) {
        await itemError(d.abs, err as Error);
      }
    }
    meter.done();
    o.onProgress?.({ type: 'backup:restore:done', stats });
    return { stats };
  } finally {
    meter.stop();
    o.signal?.removeEventListener('abort', onAbort);
    await writer?.close();
  }
}
