// Where every byte of a share lives, computed from (k, n, segmentSize, fileSize) alone. `fileSize` is the
// pack's size (format 2 stores packs; the name stays because the UEB field and the maths are the same).
import { HASH_BYTES } from '../crypto/constants.ts';
import { MAX_FILE_SIZE } from '../caps/constants.ts';
import { FOOTER_BYTES, HEADER_BYTES, MAX_SEGMENT_SIZE, MAX_SHARES, MIN_SEGMENT_SIZE, UEB_BYTES } from './constants.ts';
import { InvalidParamsError } from './errors.ts';

export interface Params {
  k: number;
  n: number;
  segmentSize: number;
  fileSize: number;
}

export interface Geometry extends Params {
  m: number;
  numSegments: number;
  blockSize: number; // block size of every segment but the last
  tailSegmentSize: number; // plaintext bytes of the last segment
  tailBlockSize: number;
  leaves: number; // block-tree width: numSegments rounded up to a power of two
  treeBytes: number; // (2 * leaves - 1) * 32
  blocksOffset: number;
  blockTreeOffset: number;
  shareRootsOffset: number;
  uebOffset: number;
  footerOffset: number;
  shareSize: number;
}

export function checkParams(p: Params): void {
  const { k, n, segmentSize, fileSize } = p;
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 1 || n < k || n > MAX_SHARES)
    throw new InvalidParamsError(`need 1 <= k <= n <= ${MAX_SHARES}`, { k, n });
  if (!Number.isInteger(segmentSize) || segmentSize < MIN_SEGMENT_SIZE || segmentSize > MAX_SEGMENT_SIZE)
    throw new InvalidParamsError(`segment size must be ${MIN_SEGMENT_SIZE}..${MAX_SEGMENT_SIZE}`, { segmentSize });
  if (!Number.isSafeInteger(fileSize) || fileSize < 1 || fileSize > MAX_FILE_SIZE) throw new InvalidParamsError('a pack is 1..2^53-1 bytes', { fileSize });
  if (Math.ceil(fileSize / segmentSize) > 0xffffffff) throw new InvalidParamsError('too many segments; use a larger segment size', { fileSize, segmentSize });
}

export function geometry(p: Params): Geometry {
  checkParams(p);
  const { k, n, segmentSize, fileSize } = p;
  const numSegments = Math.ceil(fileSize / segmentSize);
  const tailSegmentSize = fileSize - (numSegments - 1) * segmentSize;
  const blockSize = Math.ceil(segmentSize / k);
  const tailBlockSize = Math.ceil(tailSegmentSize / k);
  let leaves = 1;
  while (leaves < numSegments) leaves *= 2;
  const treeBytes = (2 * leaves - 1) * HASH_BYTES;
  const blocksOffset = HEADER_BYTES;
  const blockTreeOffset = blocksOffset + (numSegments - 1) * blockSize + tailBlockSize;
  const shareRootsOffset = blockTreeOffset + treeBytes;
  const uebOffset = shareRootsOffset + n * HASH_BYTES;
  const footerOffset = uebOffset + UEB_BYTES;
  const shareSize = footerOffset + FOOTER_BYTES;
  if (!Number.isSafeInteger(shareSize)) throw new InvalidParamsError('share too large', { fileSize, segmentSize });
  return {
    k,
    n,
    m: n - k,
    segmentSize,
    fileSize,
    numSegments,
    blockSize,
    tailSegmentSize,
    tailBlockSize,
    leaves,
    treeBytes,
    blocksOffset,
    blockTreeOffset,
    shareRootsOffset,
    uebOffset,
    footerOffset,
    shareSize
  };
}

export function segmentPlainSize(g: Geometry, seg: number): number {
  return seg === g.numSegments - 1 ? g.tailSegmentSize : g.segmentSize;
}
export function segmentBlockSize(g: Geometry, seg: number): number {
  return seg === g.numSegments - 1 ? g.tailBlockSize : g.blockSize;
}
export function blockOffset(g: Geometry, seg: number): number {
  return g.blocksOffset + seg * g.blockSize;
}
