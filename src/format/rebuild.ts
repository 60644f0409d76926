// rebuildShares: regenerate lost or corrupt shares of a pack from any k good ones, with only the pack cap
// (nothing to decrypt: Reed-Solomon works on the pack's bytes, and every share root is in the trailer).
// 1. Open every source (footer -> UEB checked against the cap -> share roots checked against the UEB); the
//    roots and the UEB are the same in every share, so any good share supplies them.
// 2. Per segment, read verified blocks from k distinct good shares (a source that fails or lies is dropped
//    and the next one is tried) and reconstruct the wanted blocks with the file's codec.
// 3. Each rebuilt share is laid out like the encoder does (header, blocks, block tree, roots, UEB, footer),
//    and its tree root must equal the root the UEB commits to; otherwise RebuildError (never a bad share out).
// Memory: the rebuilt shares are held whole (one share = file size / k), so callers bound the file size.
import { createCodec } from '../erasure/index.ts';
import { HASH_BYTES } from '../crypto/constants.ts';
import { InvalidCapError } from '../caps/errors.ts';
import { parseCap } from '../caps/text.ts';
import { packStorageIndex } from '../caps/derive.ts';
import type { PackCap } from '../caps/types.ts';
import { P2PBackupError } from '../common/errors.ts';
import { NotEnoughSharesError, RebuildError } from './errors.ts';
import { segmentBlockSize, type Geometry } from './geometry.ts';
import { encodeFooter, encodeHeader } from './layout.ts';
import { blockHash, buildTree, equal } from './merkle.ts';
import { hex, ShareReader, type ShareSource } from './reader.ts';

export interface RebuildReport {
  /** Sources dropped because they failed verification or a read. */
  dropped: { share: number; error: string }[];
  /** Shares that supplied blocks. */
  used: number[];
}

export interface RebuildOptions {
  signal?: AbortSignal;
  /** Refuse files whose share is above this many bytes (the rebuilt shares are held in memory). Default 256 MiB. */
  maxShareBytes?: number;
}

export const REBUILD_MAX_SHARE_BYTES = 256 * 1024 * 1024;

export async function rebuildShares(
  cap: PackCap | string,
  sources: ShareSource[],
  shareNums: number[],
  opts: RebuildOptions = {}
): Promise<{ shares: Map<number, Uint8Array>; report: RebuildReport }> {
  const c = typeof cap === 'string' ? parseCap(cap) : cap;
  if (c.type !== 'pack') throw new InvalidCapError('ERR_CAP_WRONG_KIND', 'rebuilding needs a pack cap', { type: c.type });
  const storageIndex = packStorageIndex(c.uebHash);
  const siHex = hex(storageIndex);
  const { k, n } = c;
  const wanted = [...new Set(shareNums)].sort((a, b) => a - b);
  for (const s of wanted) if (!Number.isInteger(s) || s < 0 || s >= n) throw new RangeError(`share ${s} out of range 0..${n - 1}`);
  const report: RebuildReport = { dropped: [], used: [] };
  if (!wanted.length) return { shares: new Map(), report };

  const expect = { storageIndex, uebHash: c.uebHash, k, n, size: c.size };
  // One reader per share number (the first source that opens), data shares first: fewer reconstructions.
  const readers: ShareReader[] = [];
  const seen = new Set<number>();
  for (const src of [...sources].sort((a, b) => a.shareNum - b.shareNum)) {
    if (seen.has(src.shareNum)) continue;
    const r = new ShareReader(src, expect);
    try {
      await r.open(opts.signal);
      readers.push(r);
      seen.add(src.shareNum);
    } catch (e) {
      opts.signal?.throwIfAborted();
      report.dropped.push({ share: src.shareNum, error: (e as Error).message });
    }
  }
  if (readers.length < k) throw new NotEnoughSharesError({ needed: k, found: readers.length, storageIndex: siHex });
  const g: Geometry = readers[0].geometry!;
  if (g.shareSize > (opts.maxShareBytes ?? REBUILD_MAX_SHARE_BYTES))
    throw new P2PBackupError('ERR_TOO_LARGE', `share of ${g.shareSize} bytes is above the in-memory rebuild limit`, { shareSize: g.shareSize });
  const roots = readers[0].shareRoots;
  const ueb = readers[0].uebBytes!;
  const codec = g.m > 0 ? createCodec({ dataShards: k, parityShards: g.m }) : null;

  const out = new Map<number, Uint8Array>();
  const leafHashes = new Map<number, Uint8Array[]>();
  for (const s of wanted) {
    const buf = new Uint8Array(g.shareSize);
    buf.set(encodeHeader(g, s, storageIndex), 0);
    out.set(s, buf);
    leafHashes.set(s, []);
  }
  const used = new Set<number>();
  let active = readers;
  try {
    for (let seg = 0; seg < g.numSegments; seg++) {
      opts.signal?.throwIfAborted();
      const blocks: (Uint8Array | null)[] = new Array(n).fill(null);
      let have = 0;
      const alive: ShareReader[] = [];
      for (const r of active) {
        if (have >= k) {
          alive.push(r);
          continue;
        }
        try {
          blocks[r.shareNum] = await r.readBlock(seg, opts.signal);
          have++;
          used.add(r.shareNum);
          alive.push(r);
        } catch (e) {
          opts.signal?.throwIfAborted();
          report.dropped.push({ share: r.shareNum, error: (e as Error).message });
        }
      }
      active = alive;
      if (have < k) throw new NotEnoughSharesError({ needed: k, found: have, storageIndex: siHex, segment: seg });
      const missing = wanted.filter((s) => !blocks[s]);
      // A wanted share whose block we already read (a good copy exists elsewhere) is copied as is.
      const full = missing.length && codec ? codec.reconstruct(blocks) : blocks;
      if (missing.length && !codec) throw new NotEnoughSharesError({ needed: n, found: have, storageIndex: siHex, segment: seg });
      const bs = segmentBlockSize(g, seg);
      for (const s of wanted) {
        const b = full[s]!;
        if (b.length !== bs) throw new RebuildError({ storageIndex: siHex, share: s });
        out.get(s)!.set(b, g.blocksOffset + seg * g.blockSize);
        leafHashes.get(s)!.push(blockHash(b));
      }
    }
  } finally {
    codec?.close();
  }
  const rootsBytes = new Uint8Array(n * HASH_BYTES);
  roots.forEach((r, i) => rootsBytes.set(r, i * HASH_BYTES));
  for (const s of wanted) {
    const tree = buildTree(leafHashes.get(s)!, g.leaves);
    if (!equal(tree.subarray(0, HASH_BYTES), roots[s])) throw new RebuildError({ storageIndex: siHex, share: s });
    const buf = out.get(s)!;
    buf.set(tree, g.blockTreeOffset);
    buf.set(rootsBytes, g.shareRootsOffset);
    buf.set(ueb, g.uebOffset);
    buf.set(encodeFooter(g, s, storageIndex), g.footerOffset);
  }
  report.used = [...used].sort((a, b) => a - b);
  return { shares: out, report };
}
