// The local backup cache (LevelDB), as restic's: a file whose size, mtime, ctime and inode are unchanged
// since the last backup is not read again, its cap is reused; a directory object whose bytes were
// stored before is not uploaded again. The cache is an optimisation only: losing it costs a full re-read.
// Keys: `f!<absolute path>` -> FileCacheRecord; `d!<sha256 of dir object bytes>` -> cap;
// `b!<sha256 of a packed file's content>` -> cap (a small file copied or moved is not stored again: packs
// are not convergent per file, so this index is what keeps "the same content costs nothing").
import { createHash } from 'node:crypto';
import { Level } from 'level';

export interface FileCacheRecord {
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
  cap: string;
}

export interface BackupCache {
  /** Looked up many at once (a directory's files, a tree height's directory objects, a chunk of contents). */
  getFiles(paths: string[]): Promise<(FileCacheRecord | undefined)[]>;
  putFile(path: string, rec: FileCacheRecord): Promise<void>;
  getDirs(objects: Uint8Array[]): Promise<(string | undefined)[]>;
  putDir(bytes: Uint8Array, cap: string): Promise<void>;
  /** Caps of packed files' contents by their sha256 (hex). */
  getBlobs(sha256s: string[]): Promise<(string | undefined)[]>;
  putBlob(sha256: string, cap: string): Promise<void>;
  /** Writes are buffered and written in batches: write what is pending (prune and close do it first). */
  flush(): Promise<void>;
  /** Drop file records under `root` (an absolute directory) whose path is not in `seen`. */
  prune(root: string, seen: Set<string>): Promise<number>;
  close(): Promise<void>;
}

const dirKey = (bytes: Uint8Array) => `d!${createHash('sha256').update(bytes).digest('hex')}`;

/** Pending writes are written as one LevelDB batch once this many are queued. */
const WRITE_BATCH = 1000;

export async function openBackupCache(dir: string): Promise<BackupCache> {
  const db = new Level<string, FileCacheRecord | string>(dir, { valueEncoding: 'json' });
  await db.open();
  let pending: { type: 'put'; key: string; value: FileCacheRecord | string }[] = [];
  const flush = async () => {
    if (!pending.length) return;
    const ops = pending;
    pending = [];
    await db.batch(ops);
  };
  const put = async (key: string, value: FileCacheRecord | string) => {
    pending.push({ type: 'put', key, value });
    if (pending.length >= WRITE_BATCH) await flush();
  };
  return {
    async getFiles(paths) { return paths.length ? (await db.getMany(paths.map((p) => `f!${p}`))) as (FileCacheRecord | undefined)[] : []; },
    putFile: (path, rec) => put(`f!${path}`, rec),
    async getDirs(objects) { return objects.length ? (await db.getMany(objects.map(dirKey))) as (string | undefined)[] : []; },
    putDir: (bytes, cap) => put(dirKey(bytes), cap),
    async getBlobs(shas) { return shas.length ? (await db.getMany(shas.map((h) => `b!${h}`))) as (string | undefined)[] : []; },
    putBlob: (sha256, cap) => put(`b!${sha256}`, cap),
    flush,
    async prune(root, seen) {
      await flush();
      const prefix = `f!${root.endsWith('/') ? root : `${root}/`}`;
      const dead: string[] = [];
      for await (const key of db.keys({ gte: prefix, lt: `${prefix}\uffff` })) if (!seen.has(key.slice(2))) dead.push(key);
      if (dead.length) await db.batch(dead.map((key) => ({ type: 'del' as const, key })));
      return dead.length;
    },
    async close() { await flush(); await db.close(); }
  };
}
