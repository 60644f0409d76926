// Folders as snapshots: directory and snapshot objects over an immutable ObjectStore, incremental backup
// with a local cache and excludes, verified restore, browsing, diff, retention and the caps to keep alive.
// const { snapshotCap } = await backup('/home/me/docs', { store, cache: await openBackupCache(cacheDir) });
// await restore(snapshotCap, '/tmp/docs-again', { store, overwrite: 'if-changed' });
//
// The folder head (the list of snapshots) sits behind HeadStore, a mutable signed slot in the daemon.
//
// Open issues: names that are not valid UTF-8 on disk are read through readdir's lossy decoding and end
// up reported as vanished (needs Buffer paths and a `nameBytes` field); owner/group, xattrs and hard links
// are not kept; the cache trusts that cached caps are still stored (a cap lost to lease expiry needs
// `check`/repair, or a cache reset); restore's 'if-changed' compares size and mtime, not content.
export * from './constants.ts';
export type * from './types.ts';
export { InvalidObjectError, PathNotFoundError, FileReadError, UnsupportedEntryError, RestoreConflictError, RestoreSizeError, HeadConflictError, NotADirectoryError } from './errors.ts';
export { encodeDir, decodeDir, encodeSnapshot, decodeSnapshot, encodeHead, decodeHead, readDir, readSnapshot, readObject, putObject, resolveRoot } from './objects.ts';
export { openBackupCache, type BackupCache, type FileCacheRecord } from './cache.ts';
export { parseRules, isExcluded, globToRegExp, type ExcludeRule } from './exclude.ts';
export { backup, type BackupOptions, type BackupResult } from './backup.ts';
export { restore, type RestoreOptions, type OverwriteMode } from './restore.ts';
export { ls, locate, walkTree, type Located } from './ls.ts';
export { diff, type DiffResult } from './diff.ts';
export { listSnapshots, commitSnapshot } from './snapshots.ts';
export { forgetPolicy, forget, type ForgetPolicy, type ForgetDecision, type KeptSnapshot } from './forget.ts';
export { reachableCaps } from './reachable.ts';
export { createMeter, isPerItem, statusOf, STATUS_INTERVAL_MS, type Meter } from './progress.ts';
