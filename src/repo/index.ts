// The owner's repository (format 2): content as blobs (chunks, chunk lists, trees, snapshots), each sealed under
// its own key, deduplicated by id through the owner's index, stored in erasure-coded packs; prune rewrites packs
// and frees the dead ones. The backup layer builds folders on it; the peer backs PackStore and RecordStore with
// the swarm.
// const repo = new Repository({ packs, record, readCap: repoReadCap(secret), index: await openLocalIndex(dir), secret });
// const [{ ref }] = await repo.saveBlobs('data', [bytes]); await repo.publish(); await repo.loadBlob('data', ref);
export * from './constants.ts';
export type * from './types.ts';
export {
  BlobIntegrityError,
  BlobDecompressError,
  BlobNotFoundError,
  InvalidRepoDataError,
  RepoLockedError,
  RepoConflictError,
  RecordConflictError,
  PruneMissingBlobError,
  FileChangedError
} from './errors.ts';
export { sealBlob, openBlob } from './blob.ts';
export { encodeChunkList, decodeChunkList, ChunkList, ChunkListWriter, type ChunkRef } from './chunk-list.ts';
export { encodeIndexPart, decodeIndexPart, type IndexEntry } from './index-part.ts';
export { encodeRecord, decodeRecord, emptyRecord, type RepoRecord, type RepoLock, type IndexPartRef } from './record.ts';
export { openLocalIndex, memoryIndex, type BlobIndex } from './local-index.ts';
export { createPacker, type Packer } from './packer.ts';
export { Repository, repoWriteCap, repoReadCap, type RepositoryInit, type SaveResult, type RepoStats } from './repository.ts';
export { prune, type PruneOptions, type PruneReport } from './prune.ts';
