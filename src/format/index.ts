// Immutable file format: segment, seal (XChaCha20-Poly1305), erasure-code k-of-n, lay out verifiable shares, and decode them back
// from untrusted sources, verifying every block against the cap (Merkle path -> share root -> UEB hash in the cap).
// const { cap } = await encodeFile(await fileInput('a.bin'), { k: 3, n: 5, convergenceSecret, sink: (start) => mySink(start.storageIndex) });
// for await (const chunk of decodeFile(cap, sources, { range: { offset: 0, length: 100 } })) process(chunk);
//
// Encoding streams: encodeFile reads the input once to hash it (convergent key) or not at all (random key), then calls
// `sink(start)` with the storage index and share size, then writes every share sequentially and in lock-step:
// header to all n shares, then per segment block i to share i, then each share's trailer (tree, roots, UEB, footer), then close(i).
// Share writes run one segment behind the encoding, so a sink's I/O overlaps the hashing and coding of the next segment;
// memory is a few segments of blocks whatever the file size, provided the sink applies back-pressure by awaiting.
// Each segment's blocks are copied into fresh memory the sink owns, unless the sink sets `releasesChunks` (it is done
// with a chunk when write() resolves): then it is handed the encoder's reused block buffers, with no copy.
export * from './constants.ts';
export { NotEnoughSharesError, CorruptShareError, InvalidParamsError, InputChangedError, FileIntegrityError, RebuildError, type ShareRegion } from './errors.ts';
export { encodeFile, type ShareSink, type EncodeStart, type EncodeOptions, type EncodeResult, type EncodeProgress } from './encode.ts';
export { decodeFile, type DecodeOptions, type DecodeReport, type DecodeStream, type DecodeProgress } from './decode.ts';
export { verifyShare, type ShareReport, type VerifyProgress } from './verify.ts';
export type { ShareSource, ShareExpectation } from './reader.ts';
export { bytesInput, fileInput, type FileInput } from './input.ts';
export { encodeBytes, decodeBytes, memorySource, memorySink } from './memory.ts';
export { geometry, type Geometry } from './geometry.ts';
export { rebuildShares, REBUILD_MAX_SHARE_BYTES, type RebuildReport, type RebuildOptions } from './rebuild.ts';
export { proveBlock, checkAuditAnswer, auditProof, AUDIT_TAG, AUDIT_NONCE_BYTES, AUDIT_MAX_BLOCK_BYTES, type AuditAnswer } from './audit.ts';
export { ShareReader } from './reader.ts';
export { segmentBlockSize } from './geometry.ts';
