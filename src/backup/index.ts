// Folders as snapshots: trees and snapshot objects in the owner's repository (src/repo), incremental backup
// with a local cache, chunking and excludes, verified restore, browsing, diff, retention, and what prune keeps.
// const { snapshotCap } = await backup('/home/me/docs', { repo, chunker, cache: await openBackupCache(cacheDir) });
// await restore(snapshotCap, '/tmp/docs-again', { src, overwrite: 'if-changed' });
//
// The folder head (the list of snapshots) sits behind HeadStore, a mutable signed slot in the daemon.
//
// Open issues: names that are not valid UTF-8 on disk are read through readdir's lossy decoding and end
// up reported as vanished (needs Buffer paths and a `nameBytes` field); owner/group, xattrs and hard links
// are not kept; restore's 'if-changed' compares size and mtime, not content.
export * from './constants.ts';
export type * from './types.ts';
export {
  InvalidObjectError,
  PathNotFoundError,
  FileReadError,
  UnsupportedEntryError,
  RestoreConflictError,
  RestoreSizeError,
  HeadConflictError,
  TreeTooLargeError,
  NotADirectoryError
} from './errors.ts';
export {
  encodeTree,
  decodeTree,
  storeTree,
  storeTrees,
  encodeSnapshot,
  decodeSnapshot,
  storeSnapshot,
  encodeHead,
  decodeHead,
  readDir,
  readSnapshot,
  resolveRoot,
  entryContent,
  toTreeEntry,
  isSafeName,
  isRestorableName,
  type TreeEntry
} from './objects.ts';
export { encodeRef, decodeRef, capOf, contentOf, type Ref, type Content } from './refs.ts';
export { openContent } from './content.ts';
export { openBackupCache, type BackupCache, type FileCacheRecord } from './cache.ts';
export { parseRules, isExcluded, globToRegExp, type ExcludeRule } from './exclude.ts';
export { backup, type BackupOptions, type BackupResult } from './backup.ts';
export { restore, type RestoreOptions, type OverwriteMode } from './restore.ts';
export { ls, locate, walkTree, expansionBudget, snapshotLimit, type Located } from './ls.ts';
export { diff, type DiffResult } from './diff.ts';
export { listSnapshots, commitSnapshot } from './snapshots.ts';
export { forgetPolicy, forget, type ForgetPolicy, type ForgetDecision, type KeptSnapshot } from './forget.ts';
export { reachableBlobs, treePartBlobs, type Reachable, type TreePartBlobs } from './reachable.ts';
export { createMeter, isPerItem, statusOf, STATUS_INTERVAL_MS, type Meter } from './progress.ts';
export { pruneRepository } from './prune.ts';
