// URI-extension block (UEB): the file-wide parameters and the hash of all share roots.
// The read/verify cap carries taggedHash(TAGS.ueb, ueb), so a UEB fetched from any share is trusted once it hashes right.
import { HASH_BYTES, TAGS } from '../crypto/constants.ts';
import { taggedHash } from '../crypto/hash.ts';
import { CIPHER_NONE, CODEC_RS_GF256, HASH_TAGGED_SHA256, UEB_BYTES, UEB_MAGIC, UEB_VERSION } from './constants.ts';
import { geometry, type Geometry } from './geometry.ts';

export interface Ueb {
  k: number;
  n: number;
  segmentSize: number;
  fileSize: number;
  numSegments: number;
  blockSize: number;
  tailBlockSize: number;
  shareRootsHash: Uint8Array;
}

export function encodeUeb(g: Geometry, shareRootsHash: Uint8Array): Uint8Array {
  const b = new Uint8Array(UEB_BYTES);
  const dv = new DataView(b.buffer);
  b.set(UEB_MAGIC, 0);
  b[4] = UEB_VERSION;
  b[5] = CODEC_RS_GF256;
  b[6] = CIPHER_NONE;
  b[7] = HASH_TAGGED_SHA256;
  b[8] = g.k;
  b[9] = g.n;
  dv.setUint32(12, g.segmentSize);
  dv.setBigUint64(16, BigInt(g.fileSize));
  dv.setUint32(24, g.numSegments);
  dv.setUint32(28, g.blockSize);
  dv.setUint32(32, g.tailBlockSize);
  b.set(shareRootsHash, 40);
  return b;
}

export function uebHash(ueb: Uint8Array): Uint8Array {
  return taggedHash(TAGS.ueb, ueb);
}

/** Parse and fully validate (every derived field recomputed). Returns null if anything is off. */
export function decodeUeb(b: Uint8Array): { ueb: Ueb; geometry: Geometry } | null {
  if (b.length !== UEB_BYTES) return null;
  for (let i = 0; i < 4; i++) if (b[i] !== UEB_MAGIC[i]) return null;
  if (b[4] !== UEB_VERSION || b[5] !== CODEC_RS_GF256 || b[6] !== CIPHER_NONE || b[7] !== HASH_TAGGED_SHA256) return null;
  if (b[10] | b[11] | b[36] | b[37] | b[38] | b[39]) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  const big = dv.getBigUint64(16);
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  const ueb: Ueb = {
    k: b[8],
    n: b[9],
    segmentSize: dv.getUint32(12),
    fileSize: Number(big),
    numSegments: dv.getUint32(24),
    blockSize: dv.getUint32(28),
    tailBlockSize: dv.getUint32(32),
    shareRootsHash: b.slice(40, 40 + HASH_BYTES)
  };
  let g: Geometry;
  try {
    g = geometry({ k: ueb.k, n: ueb.n, segmentSize: ueb.segmentSize, fileSize: ueb.fileSize });
  } catch {
    return null;
  }
  if (g.numSegments !== ueb.numSegments || g.blockSize !== ueb.blockSize || g.tailBlockSize !== ueb.tailBlockSize) return null;
  return { ueb, geometry: g };
}
