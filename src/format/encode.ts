// encodePack: pack bytes -> k data + m parity blocks per segment -> n whole shares in memory -> pack cap.
// Format 2 (docs/FORMAT.md §Share layout): the pack is not encrypted here (it holds blobs already sealed under
// their own keys), and its storage index is a tagged hash of its UEB hash. The UEB commits to every share's
// root, so the storage index is known only once every block is coded and hashed: the whole pack is encoded
// before any share leaves (packs are at most MAX_PACK_BYTES). In return a storage peer can check, before it
// commits a share, that the share belongs to the storage index it was offered under (no squatting), and an
// uploader can check a peer's "exists" against the roots it computed.
import { createCodec, type Codec, type ShardSet } from '../erasure/index.ts';
import { HASH_BYTES, TAGS } from '../crypto/constants.ts';
import { taggedHash } from '../crypto/hash.ts';
import { packStorageIndex } from '../caps/derive.ts';
import type { PackCap } from '../caps/types.ts';
import { DEFAULT_SEGMENT_SIZE, MAX_PACK_BYTES } from './constants.ts';
import { InvalidParamsError } from './errors.ts';
import { geometry, segmentBlockSize, segmentPlainSize, type Geometry } from './geometry.ts';
import { encodeFooter, encodeHeader } from './layout.ts';
import { blockHash, buildTree } from './merkle.ts';
import { encodeUeb, uebHash } from './ueb.ts';

export interface EncodeOptions {
  k: number;
  n: number;
  segmentSize?: number;
  signal?: AbortSignal;
  /**
   * Memory for the shares (at least n x shareBytes(...)): share i is into[i x shareSize, (i + 1) x shareSize).
   * Every byte of it is written, whatever it held before, so a caller can reuse one buffer pack after pack.
   */
  into?: Uint8Array;
}

export interface EncodeResult {
  cap: PackCap;
  storageIndex: Uint8Array;
  geometry: Geometry;
  /** Share i, whole (header, blocks, tree, roots, UEB, footer): fresh memory the caller owns, or views of `into`. */
  shares: Uint8Array[];
  /** Root of every share's block tree, share 0 first (what the UEB commits to). */
  shareRoots: Uint8Array[];
}

/**
 * A codec and one shard set of full block size per (k, m, block size), kept for the next packs: a codec of its
 * own cost each pack a wasm instantiation and fresh kernel memory (two, with a shorter last segment). Safe to
 * share because encodePack is synchronous. The last SETS_KEPT geometries are kept (about n x block size each).
 */
const SETS_KEPT = 2;
const sets = new Map<string, { codec: Codec; set: ShardSet }>();
function shardSet(k: number, m: number, blockSize: number): { codec: Codec; set: ShardSet } {
  const key = `${k}/${m}/${blockSize}`;
  let e = sets.get(key);
  if (e)
    sets.delete(key); // re-inserted below: most recently used last
  else {
    const codec = createCodec({ dataShards: k, parityShards: m });
    e = { codec, set: codec.allocShards(blockSize) };
  }
  sets.set(key, e);
  for (const [oldKey, old] of sets) {
    if (sets.size <= SETS_KEPT) break;
    sets.delete(oldKey);
    old.codec.close();
  }
  return e;
}

/** Bytes of all n shares of a pack of `size` bytes (what EncodeOptions.into must hold). */
export function sharesBytes(size: number, opts: Pick<EncodeOptions, 'k' | 'n' | 'segmentSize'>): number {
  return opts.n * geometry({ k: opts.k, n: opts.n, segmentSize: opts.segmentSize ?? DEFAULT_SEGMENT_SIZE, fileSize: size }).shareSize;
}

/** Encode `bytes` (1..MAX_PACK_BYTES, not modified) into n shares. */
export function encodePack(bytes: Uint8Array, opts: EncodeOptions): EncodeResult {
  const { k, n } = opts;
  opts.signal?.throwIfAborted();
  if (bytes.length > MAX_PACK_BYTES) throw new InvalidParamsError(`a pack is at most ${MAX_PACK_BYTES} bytes`, { size: bytes.length });
  const g = geometry({ k, n, segmentSize: opts.segmentSize ?? DEFAULT_SEGMENT_SIZE, fileSize: bytes.length });
  const coder = g.m > 0 ? shardSet(k, g.m, g.blockSize) : null;
  let shares: Uint8Array[];
  if (opts.into) {
    if (opts.into.length < n * g.shareSize) throw new InvalidParamsError(`the shares need ${n * g.shareSize} bytes`, { into: opts.into.length });
    const into = opts.into;
    shares = Array.from({ length: n }, (_, i) => into.subarray(i * g.shareSize, (i + 1) * g.shareSize));
  } else shares = Array.from({ length: n }, () => new Uint8Array(g.shareSize));
  const leafHashes: Uint8Array[][] = Array.from({ length: n }, () => []);
  for (let seg = 0; seg < g.numSegments; seg++) {
    const bs = segmentBlockSize(g, seg);
    const plainLen = segmentPlainSize(g, seg);
    const start = seg * g.segmentSize;
    const at = g.blocksOffset + seg * g.blockSize;
    if (coder) {
      // A shorter last segment is coded in the full-size set, zero-padded: Reed-Solomon codes each byte position
      // on its own, so the first bs bytes of every shard are that segment's blocks.
      const work = coder.set.shards;
      for (let i = 0; i < k; i++) {
        const from = start + i * bs,
          to = Math.min(start + plainLen, from + bs);
        const blk = work[i];
        if (to > from) blk.set(bytes.subarray(from, to));
        blk.fill(0, Math.max(0, to - from)); // zero padding of the last segment (and of the set past bs)
      }
      coder.codec.encodeShardSet(coder.set);
      for (let i = 0; i < n; i++) shares[i].set(work[i].subarray(0, bs), at);
    } else {
      for (let i = 0; i < k; i++) {
        const from = start + i * bs,
          to = Math.min(start + plainLen, from + bs);
        if (to > from) shares[i].set(bytes.subarray(from, to), at);
        shares[i].fill(0, at + Math.max(0, to - from), at + bs); // zero padding of the last segment
      }
    }
    for (let i = 0; i < n; i++) leafHashes[i].push(blockHash(shares[i].subarray(at, at + bs)));
  }
  const trees = leafHashes.map((leaves) => buildTree(leaves, g.leaves));
  const shareRoots = trees.map((t) => t.slice(0, HASH_BYTES));
  const ueb = encodeUeb(g, taggedHash(TAGS.shareRoots, ...shareRoots));
  const cap: PackCap = { type: 'pack', uebHash: uebHash(ueb), k, n, size: bytes.length };
  const storageIndex = packStorageIndex(cap.uebHash);
  for (let i = 0; i < n; i++) {
    const s = shares[i];
    s.set(encodeHeader(g, i, storageIndex), 0);
    s.set(trees[i], g.blockTreeOffset);
    shareRoots.forEach((r, j) => s.set(r, g.shareRootsOffset + j * HASH_BYTES));
    s.set(ueb, g.uebOffset);
    s.set(encodeFooter(g, i, storageIndex), g.footerOffset);
  }
  return { cap, storageIndex, geometry: g, shares, shareRoots };
}
