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
  getFile(path: string): Promise<FileCacheRecord | undefined>;
  putFile(path: string, rec: FileCacheRecord): Promise<void>;
  getDir(bytes: Uint8Array): Promise<string | undefined>;
  putDir(bytes: Uint8Array, cap: string): Promise<void>;
  /** Cap of a packed file's content by its sha256 (hex). */
  getBlob(sha256: string): Promise<string | undefined>;
  putBlob(sha256: string, cap: string): Promise<void>;
  /** Drop file records under `root` (an absolute directory) whose path is not in `seen`. */
  prune(root: string, seen: Set<string>): Promise<number>;
  close(): Promise<void>;
}

const dirKey = (bytes: Uint8Array) => `d!${createHash('sha256').update(bytes).digest('hex')}`;

export async function openBackupCache(dir: string): Promise<BackupCache> {
  const db = new Level<string, FileCacheRecord | string>(dir, { valueEncoding: 'json' });
  await db.open();
  return {
    async getFile(path) { return (await db.get(`f!${path}`)) as FileCacheRecord | undefined; },
    async putFile(path, rec) { await db.put(`f!${path}`, rec); },
    async getDir(bytes) { return (await db.get(dirKey(bytes))) as string | undefined; },
    async putDir(bytes, cap) { await db.put(dirKey(bytes), cap); },
    async getBlob(sha256) { return (await db.get(`b!${sha256}`)) as string | undefined; },
    async putBlob(sha256, cap) { await db.put(`b!${sha256}`, cap); },
    async prune(root, seen) {
      const prefix = `f!${root.endsWith('/') ? root : `${root}/`}`;
      const dead: string[] = [];
      for await (const key of db.keys({ gte: prefix, lt: `${prefix}\uffff` })) if (!seen.has(key.slice(2))) dead.push(key);
      if (dead.length) await db.batch(dead.map((key) => ({ type: 'del' as const, key })));
      return dead.length;
    },
    async close() { await db.close(); }
  };
}
