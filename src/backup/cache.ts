// The local backup cache (LevelDB), as restic's: a file whose size, mtime, ctime and inode are unchanged
// since the last backup is not read again, its content reference is reused (backup.ts checks first that the
// repository still holds that blob). The cache is an optimisation only: losing it costs a full re-read, and
// the repository's index still keeps unchanged content from being stored twice.
// Keys: `f!<absolute path>` -> FileCacheRecord; `m!<absolute folder>` -> { mark } (setMark).
import { Level } from 'level';

export interface FileCacheRecord {
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
  /** The file's content in compact form: a blob reference (refs.ts), or `l` + base64url of inline bytes. */
  content?: string;
}

export interface BackupCache {
  /** Looked up many at once (a directory's files). */
  getFiles(paths: string[]): Promise<(FileCacheRecord | undefined)[]>;
  putFile(path: string, rec: FileCacheRecord): Promise<void>;
  /**
   * The mark of a folder: every file record under it named content its repository held at that mark (the
   * repository and its index generation, which only a prune that freed blobs moves). A backup that finds the
   * folder's mark still current trusts its records without asking the repository about each.
   */
  getMark(root: string): Promise<string | undefined>;
  setMark(root: string, mark: string): Promise<void>;
  /** Writes are buffered and written in batches: write what is pending (prune and close do it first). */
  flush(): Promise<void>;
  /** Drop file records under `root` (an absolute directory) whose path is not in `seen`. */
  prune(root: string, seen: Set<string>): Promise<number>;
  /** Forget everything (a repository was replaced). */
  clear(): Promise<void>;
  close(): Promise<void>;
}

/** Pending writes are written as one LevelDB batch once this many are queued. */
const WRITE_BATCH = 1000;

export async function openBackupCache(dir: string): Promise<BackupCache> {
  const db = new Level<string, FileCacheRecord | { mark: string }>(dir, { valueEncoding: 'json' });
  await db.open();
  let pending: { type: 'put'; key: string; value: FileCacheRecord }[] = [];
  const flush = async () => {
    if (!pending.length) return;
    const ops = pending;
    pending = [];
    await db.batch(ops);
  };
  return {
    async getFiles(paths) {
      return paths.length ? ((await db.getMany(paths.map((p) => `f!${p}`))) as (FileCacheRecord | undefined)[]) : [];
    },
    async getMark(root) {
      const v = (await db.get(`m!${root}`)) as { mark?: unknown } | undefined;
      return typeof v?.mark === 'string' ? v.mark : undefined;
    },
    async setMark(root, mark) {
      await flush(); // the records it vouches for first
      await db.put(`m!${root}`, { mark });
    },
    async putFile(path, rec) {
      pending.push({ type: 'put', key: `f!${path}`, value: rec });
      if (pending.length >= WRITE_BATCH) await flush();
    },
    flush,
    async prune(root, seen) {
      await flush();
      const prefix = `f!${root.endsWith('/') ? root : `${root}/`}`;
      const dead: string[] = [];
      for await (const key of db.keys({ gte: prefix, lt: `${prefix}\uffff` })) if (!seen.has(key.slice(2))) dead.push(key);
      if (dead.length) await db.batch(dead.map((key) => ({ type: 'del' as const, key })));
      return dead.length;
    },
    async clear() {
      pending = [];
      await db.clear();
    },
    async close() {
      await flush();
      await db.close();
    }
  };
}
