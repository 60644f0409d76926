// A storage peer's check of a share it is offered (format 2): the share belongs to the storage index it is filed
// under, and every byte of it is what that pack's UEB commits to, checked as the bytes stream in and before the
// share is committed. The writer sends the pack's UEB (72 bytes) with its WRITE:
// 1. before any data: taggedHash(pack-storage-index, H(ueb)) must be the storage index, the UEB must parse, the
//    share number must be below n and the announced size must be the share size the UEB implies (so no 0-byte,
//    oversized or foreign share is ever reserved for);
// 2. as data arrives: the header must be exactly the expected one; every block is hashed (its leaf);
// 3. at the end: the share's block tree must be the tree of those leaves, its root must be this share's entry in
//    the share roots, the roots must hash to the UEB's roots hash, and the UEB and footer must be the expected bytes.
// A peer can thus not squat a pack's storage index with shares of its own making (it would need a preimage of the
// UEB hash), nor file garbage under a real one. Memory: the leaves (32 bytes a segment) and the trailer; blocks are
// hashed as their bytes come (no copy).
import { HASH_BYTES, TAGS } from '../crypto/constants.ts';
import { taggedHash } from '../crypto/hash.ts';
import { packStorageIndex } from '../caps/derive.ts';
import { UEB_BYTES } from './constants.ts';
import { segmentBlockSize, type Geometry } from './geometry.ts';
import { encodeFooter, encodeHeader } from './layout.ts';
import { blockHasher, buildTree, equal } from './merkle.ts';
import { decodeUeb, uebHash } from './ueb.ts';

export interface ShareCheck {
  /** Feed the share's next bytes (in order). Returns a reason as soon as they are wrong, else null. */
  push(chunk: Uint8Array): string | null;
  /** After the last byte: null if the share is complete and right, else why not. */
  finish(): string | null;
}

/**
 * Start checking share `shareNum` of `size` bytes offered under `si` with the pack's `ueb`. Returns a reason (the
 * share cannot belong there) or the streaming check.
 */
export function startShareCheck(si: Uint8Array, shareNum: number, size: number, ueb: Uint8Array): ShareCheck | string {
  if (!(ueb instanceof Uint8Array) || ueb.length !== UEB_BYTES) return 'the WRITE carries no valid UEB';
  const uh = uebHash(ueb);
  if (!equal(packStorageIndex(uh), si)) return 'the UEB does not hash to this storage index';
  const parsed = decodeUeb(ueb);
  if (!parsed) return 'the UEB does not parse';
  const g: Geometry = parsed.geometry;
  if (!Number.isInteger(shareNum) || shareNum < 0 || shareNum >= g.n) return `share ${shareNum} of a ${g.k}-of-${g.n} pack`;
  if (size !== g.shareSize) return `share size ${size} is not the ${g.shareSize} bytes the UEB implies`;
  const header = encodeHeader(g, shareNum, si);
  const trailer = new Uint8Array(g.shareSize - g.blockTreeOffset);
  const leaves: Uint8Array[] = [];
  let at = 0; // bytes received
  let block: ReturnType<typeof blockHasher> | null = null; // hashing the current block's bytes as they come
  let blockFill = 0;
  let failed: string | null = null;
  const fail = (why: string) => (failed ??= why);
  return {
    push(chunk) {
      if (failed) return failed;
      if (at + chunk.length > g.shareSize) return fail('more bytes than the share size');
      let o = 0;
      while (o < chunk.length) {
        if (at < g.blocksOffset) {
          const n = Math.min(chunk.length - o, g.blocksOffset - at);
          if (!equal(chunk.subarray(o, o + n), header.subarray(at, at + n))) return fail("the header is not this share's");
          at += n;
          o += n;
        } else if (at < g.blockTreeOffset) {
          const seg = leaves.length;
          const bs = segmentBlockSize(g, seg);
          block ??= blockHasher(bs);
          const n = Math.min(chunk.length - o, bs - blockFill);
          block.update(chunk.subarray(o, o + n));
          blockFill += n;
          at += n;
          o += n;
          if (blockFill === bs) {
            leaves.push(block.digest());
            block = null;
            blockFill = 0;
          }
        } else {
          const n = chunk.length - o;
          trailer.set(chunk.subarray(o), at - g.blockTreeOffset);
          at += n;
          o += n;
        }
      }
      return null;
    },
    finish() {
      if (failed) return failed;
      if (at !== g.shareSize || leaves.length !== g.numSegments) return 'the share ended early';
      const tree = buildTree(leaves, g.leaves);
      const gotTree = trailer.subarray(0, g.treeBytes);
      if (!equal(gotTree, tree)) return fail('the block tree is not the tree of the blocks');
      const roots = trailer.subarray(g.shareRootsOffset - g.blockTreeOffset, g.uebOffset - g.blockTreeOffset);
      const list = Array.from({ length: g.n }, (_, i) => roots.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES));
      if (!equal(taggedHash(TAGS.shareRoots, ...list), parsed.ueb.shareRootsHash)) return fail("the share roots do not hash to the UEB's");
      if (!equal(list[shareNum], tree.subarray(0, HASH_BYTES))) return fail("this share's root is not the one the UEB commits to");
      if (!equal(trailer.subarray(g.uebOffset - g.blockTreeOffset, g.footerOffset - g.blockTreeOffset), ueb)) return fail('the stored UEB differs');
      if (!equal(trailer.subarray(g.footerOffset - g.blockTreeOffset), encodeFooter(g, shareNum, si))) return fail("the footer is not this share's");
      return null;
    }
  };
}

/**
 * A whole share cut where its blocks end, as a writer sends it: the header with block 0, then each further block,
 * the last one with the block tree, roots, UEB and footer; a piece longer than `maxPiece` is cut again. The share's
 * geometry comes from its own UEB; a share whose UEB does not give its length is a bug (RangeError).
 *
 * The storage peer checks and writes what arrives piece by piece, so its file writes start at the block offsets,
 * which are not page multiples. Sent in page-aligned 1 MiB pieces instead, the same bytes cost the peers about four
 * times the kernel time here (docs/ARCHITECTURE.md, "Shares travel block by block").
 */
export function* sharePieces(share: Uint8Array, maxPiece: number): Generator<Uint8Array> {
  const g = decodeUeb(uebOfShare(share))?.geometry;
  if (!g || g.shareSize !== share.length) throw new RangeError(`not a whole share: its UEB does not give its ${share.length} bytes`);
  if (!(maxPiece >= 1)) throw new RangeError(`piece size ${maxPiece} is not positive`);
  let start = 0;
  for (let end = g.blocksOffset + g.blockSize; start < share.length; end += g.blockSize) {
    const stop = end < g.blockTreeOffset ? end : share.length;
    for (let o = start; o < stop; o += maxPiece) yield share.subarray(o, Math.min(stop, o + maxPiece));
    start = stop;
  }
}

/** The UEB of a whole share in memory (its last 136 bytes hold the UEB and the footer). */
export function uebOfShare(share: Uint8Array): Uint8Array {
  return share.subarray(share.length - 64 - UEB_BYTES, share.length - 64);
}
