// Index parts: which pack holds each blob (id -> pack, offset, length, kind). Stored in the swarm as blobs of
// kind 'index' (sealed, so peers learn nothing), listed by the repository record, merged into the local LevelDB
// index by every device of the owner. Binary, fixed-size records (docs/FORMAT.md §Index):
//   "P2PX" | u8 version 2 | 3 zero | u32 packs | u32 entries
//   packs   × (uebHash 32 | k u8 | n u8 | size u64)                      42 bytes each
//   entries × (id 32 | pack u32 | offset u32 | length u32 | kind u8)      45 bytes each
// Every field is checked on decode: a part that lies about a range is refused whole, and a location that passes
// these checks but is still wrong (the pack holds other bytes) fails the blob's own authentication later.
import { BLOB_KIND_CODES, formatCap, packKey, type BlobKind, type PackCap } from '../caps/index.ts';
import { BLOB_OVERHEAD_BYTES, MAX_BLOB_BYTES, REPO_VERSION } from './constants.ts';
import { InvalidRepoDataError } from './errors.ts';
import type { BlobLocation } from './types.ts';

const MAGIC = [0x50, 0x32, 0x50, 0x58]; // "P2PX"
const HEAD = 16,
  PACK = 42,
  ENTRY = 45;
const KIND_OF = new Map(Object.entries(BLOB_KIND_CODES).map(([k, v]) => [v as number, k as BlobKind]));

export interface IndexEntry extends BlobLocation {
  id: Uint8Array;
}

// Packs are told apart by packKey (every field a part stores of one), not by their cap text: formatCap (base32 and a
// checksum) twice per entry was 0.48 s of a /usr/share backup's publish (49,000 entries), on its critical path; it
// now runs once per pack, for its checks.
export function encodeIndexPart(entries: readonly IndexEntry[]): Uint8Array {
  const packIdx = new Map<string, number>();
  const packs: PackCap[] = [];
  const packOf: number[] = new Array(entries.length);
  for (const [i, e] of entries.entries()) {
    const key = packKey(e.pack);
    let at = packIdx.get(key);
    if (at === undefined) {
      // The pack's fields checked once (k, n, size, a 32-byte hash): a part its decoder would refuse is never written.
      formatCap(e.pack);
      at = packs.length;
      packIdx.set(key, at);
      packs.push(e.pack);
    }
    packOf[i] = at;
  }
  const b = new Uint8Array(HEAD + packs.length * PACK + entries.length * ENTRY);
  const dv = new DataView(b.buffer);
  b.set(MAGIC, 0);
  b[4] = REPO_VERSION;
  dv.setUint32(8, packs.length);
  dv.setUint32(12, entries.length);
  let o = HEAD;
  for (const p of packs) {
    b.set(p.uebHash, o);
    b[o + 32] = p.k;
    b[o + 33] = p.n;
    dv.setBigUint64(o + 34, BigInt(p.size));
    o += PACK;
  }
  for (const [i, e] of entries.entries()) {
    b.set(e.id, o);
    dv.setUint32(o + 32, packOf[i]);
    dv.setUint32(o + 36, e.offset);
    dv.setUint32(o + 40, e.length);
    b[o + 44] = BLOB_KIND_CODES[e.kind];
    o += ENTRY;
  }
  return b;
}

export function decodeIndexPart(b: Uint8Array): IndexEntry[] {
  const bad = (reason: string) => new InvalidRepoDataError('index part', reason);
  if (b.length < HEAD || MAGIC.some((m, i) => b[i] !== m)) throw bad('bad magic');
  if (b[4] !== REPO_VERSION || b[5] | b[6] | b[7]) throw bad(`unknown version ${b[4]}`);
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  const np = dv.getUint32(8),
    ne = dv.getUint32(12);
  if (b.length !== HEAD + np * PACK + ne * ENTRY) throw bad('length does not match its counts');
  const packs: PackCap[] = [];
  let o = HEAD;
  for (let i = 0; i < np; i++, o += PACK) {
    const k = b[o + 32],
      n = b[o + 33],
      big = dv.getBigUint64(o + 34);
    if (k < 1 || n < k || big < 1n || big > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`pack ${i} has bad parameters`);
    packs.push({ type: 'pack', uebHash: b.slice(o, o + 32), k, n, size: Number(big) });
  }
  const out: IndexEntry[] = [];
  for (let i = 0; i < ne; i++, o += ENTRY) {
    const p = dv.getUint32(o + 32),
      offset = dv.getUint32(o + 36),
      length = dv.getUint32(o + 40);
    const kind = KIND_OF.get(b[o + 44]);
    if (p >= np) throw bad(`entry ${i} names pack ${p} of ${np}`);
    if (!kind) throw bad(`entry ${i} has unknown kind ${b[o + 44]}`);
    if (length < BLOB_OVERHEAD_BYTES || length > MAX_BLOB_BYTES + BLOB_OVERHEAD_BYTES + 1024 || offset + length > packs[p].size)
      throw bad(`entry ${i} has a range outside its pack`);
    out.push({ id: b.slice(o, o + 32), pack: packs[p], offset, length, kind });
  }
  return out;
}

/** The 51-byte form of a location in the local index (LevelDB value). */
export function encodeLocation(l: BlobLocation): Uint8Array {
  const b = new Uint8Array(51);
  const dv = new DataView(b.buffer);
  b.set(l.pack.uebHash, 0);
  b[32] = l.pack.k;
  b[33] = l.pack.n;
  dv.setBigUint64(34, BigInt(l.pack.size));
  dv.setUint32(42, l.offset);
  dv.setUint32(46, l.length);
  b[50] = BLOB_KIND_CODES[l.kind];
  return b;
}

export function decodeLocation(b: Uint8Array): BlobLocation {
  if (b.length !== 51) throw new InvalidRepoDataError('local index entry', `${b.length} bytes`);
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  const kind = KIND_OF.get(b[50]);
  if (!kind) throw new InvalidRepoDataError('local index entry', 'unknown kind');
  return {
    pack: { type: 'pack', uebHash: b.slice(0, 32), k: b[32], n: b[33], size: Number(dv.getBigUint64(34)) },
    offset: dv.getUint32(42),
    length: dv.getUint32(46),
    kind
  };
}
