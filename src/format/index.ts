// Pack storage format (format 2): erasure-code a pack k-of-n into verifiable shares, and read it back from
// untrusted sources, verifying every block against the pack cap (Merkle path -> share root -> UEB hash in the cap).
// const { cap, storageIndex, shares } = encodePack(packBytes, { k: 3, n: 5 });   // shares[i] goes to peer i
// for await (const chunk of decodeFile(cap, sources, { range: { offset: 0, length: 100 } })) process(chunk);
//
// A pack holds blobs sealed by src/repo (each under its own key), so nothing here encrypts. The storage index
// is a tagged hash of the UEB hash: a whole pack is encoded in memory before any share leaves, and a storage peer
// can check that a share belongs to the storage index it is filed under (src/format/check.ts).
// Also here: content-defined chunking and compression of blob contents (chunker.ts, compress.ts).
export * from './constants.ts';
export {
  NotEnoughSharesError,
  CorruptShareError,
  CorruptDataError,
  InvalidParamsError,
  RebuildError,
  UnknownCompressionError,
  DecompressError,
  DecompressedLengthError,
  type ShareRegion
} from './errors.ts';
export { createChunker, chunkStream, CHUNK_MIN_SIZE, CHUNK_AVG_SIZE, CHUNK_MAX_SIZE, type Chunker, type ChunkerParams } from './chunker.ts';
export { compressAuto, decompress, COMPRESSION_RAW, COMPRESSION_ZSTD } from './compress.ts';
export { encodePack, sharesBytes, type EncodeOptions, type EncodeResult } from './encode.ts';
export { decodeFile, type DecodeOptions, type DecodeReport, type DecodeStream, type DecodeProgress } from './decode.ts';
export { verifyShare, type ShareReport, type VerifyProgress } from './verify.ts';
export type { ShareSource, ShareExpectation } from './reader.ts';
export { decodeBytes, memorySource } from './memory.ts';
export { geometry, type Geometry } from './geometry.ts';
export { rebuildShares, REBUILD_MAX_SHARE_BYTES, type RebuildReport, type RebuildOptions } from './rebuild.ts';
export { proveBlock, checkAuditAnswer, auditProof, AUDIT_TAG, AUDIT_NONCE_BYTES, AUDIT_MAX_BLOCK_BYTES, type AuditAnswer } from './audit.ts';
export { ShareReader } from './reader.ts';
export { sharePieces, startShareCheck, uebOfShare, type ShareCheck } from './check.ts';
export { segmentBlockSize } from './geometry.ts';
