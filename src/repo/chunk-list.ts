// Chunk lists: a file cut into several chunks is named by one blob of kind 'list' holding every chunk's
// reference in order (docs/FORMAT.md §Chunk lists):
//   "P2PL" | u8 version 2 | 3 zero | u32 count | count × (id 32 | key 32 | plainLen u32)
// A reader checks the sum of the lengths against the file's size before it writes a byte, and each chunk's
// length when it opens it.
import { REPO_VERSION } from './constants.ts';
import { InvalidRepoDataError } from './errors.ts';
import type { BlobRef } from './types.ts';

const MAGIC = [0x50, 0x32, 0x50, 0x4c]; // "P2PL"
const HEAD = 12,
  ENTRY = 68;

export interface ChunkRef extends BlobRef {
  size: number;
}

export function encodeChunkList(chunks: readonly ChunkRef[]): Uint8Array {
  const b = new Uint8Array(HEAD + chunks.length * ENTRY);
  const dv = new DataView(b.buffer);
  b.set(MAGIC, 0);
  b[4] = REPO_VERSION;
  dv.setUint32(8, chunks.length);
  chunks.forEach((c, i) => {
    const o = HEAD + i * ENTRY;
    b.set(c.id, o);
    b.set(c.key, o + 32);
    dv.setUint32(o + 64, c.size);
  });
  return b;
}

/** Decode and check against the file's size (every chunk non-empty, lengths summing to `size` when it is given). */
export function decodeChunkList(b: Uint8Array, size?: number): ChunkRef[] {
  const bad = (reason: string) => new InvalidRepoDataError('chunk list', reason);
  if (b.length < HEAD || MAGIC.some((m, i) => b[i] !== m)) throw bad('bad magic');
  if (b[4] !== REPO_VERSION || b[5] | b[6] | b[7]) throw bad(`unknown version ${b[4]}`);
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  const count = dv.getUint32(8);
  if (b.length !== HEAD + count * ENTRY) throw bad('length does not match its count');
  const out: ChunkRef[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const o = HEAD + i * ENTRY;
    const s = dv.getUint32(o + 64);
    if (s === 0) throw bad(`chunk ${i} is empty`);
    total += s;
    out.push({ id: b.slice(o, o + 32), key: b.slice(o + 32, o + 64), size: s });
  }
  if (size !== undefined && total !== size) throw bad(`chunks sum to ${total} bytes, the file has ${size}`);
  return out;
}
