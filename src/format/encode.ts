// encodeFile: plaintext -> (key, storage index) -> sealed segments -> k data + m parity blocks per segment
// -> n share streams written sequentially through a ShareSink -> read cap.
import { createCodec, type Codec } from '../erasure/index.ts';
import { HASH_BYTES, TAGS } from '../crypto/constants.ts';
import { taggedHash, taggedHasher } from '../crypto/hash.ts';
import { convergentKey, randomKey as newRandomKey, storageIndexFromKey } from '../crypto/kdf.ts';
import { segmentSealer } from '../crypto/segment.ts';
import { LITERAL_MAX_BYTES } from '../caps/constants.ts';
import { toVerifyCap } from '../caps/derive.ts';
import type { LiteralCap, ReadCap, VerifyCap } from '../caps/types.ts';
import { DEFAULT_SEGMENT_SIZE, SEGMENT_TAG_BYTES } from './constants.ts';
import { InvalidParamsError, InputChangedError } from './errors.ts';
import { geometry, segmentBlockSize, type Geometry } from './geometry.ts';
import { segments, type FileInput } from './input.ts';
import { encodeFooter, encodeHeader } from './layout.ts';
import { blockHash, buildTree } from './merkle.ts';
import { encodeUeb, uebHash } from './ueb.ts';

/**
 * Receives share i as one sequential byte stream: write(i, …) calls for one share arrive in order, each after the
 * previous write(i, …) resolved; close(i) ends it. Chunks are never mutated after being passed, unless the sink
 * sets `releasesChunks`.
 */
export interface ShareSink {
  write(shareNum: number, chunk: Uint8Array): Promise<void>;
  close(shareNum: number): Promise<void>;
  /**
   * True if the sink is done with a chunk once write() resolved (it wrote or copied the bytes and keeps no
   * reference): the encoder may then reuse that memory for a later segment instead of handing out fresh copies.
   * Default false. A sink that queues chunks (a network stream) must leave this unset.
   */
  readonly releasesChunks?: boolean;
}

/** What is known before any share byte is written (the client picks peers from the storage index). */
export interface EncodeStart { storageIndex: Uint8Array; k: number; n: number; segmentSize: number; size: number; shareSize: number }

export type EncodeProgress =
  | { phase: 'hash'; bytes: number; total: number }
  | { phase: 'encode'; bytes: number; total: number; segment: number; segments: number };

export interface EncodeOptions {
  k: number;
  n: number;
  segmentSize?: number;
  /** Convergent key from this secret (identical files under one secret share storage). */
  convergenceSecret?: Uint8Array;
  /** Fresh random key (the default when no convergence secret is given). */
  randomKey?: boolean;
  /** Where shares go: a sink, or a factory called once the storage index is known. Not called for literal files. */
  sink: ShareSink | ((start: EncodeStart) => ShareSink | Promise<ShareSink>);
  signal?: AbortSignal;
  onProgress?: (e: EncodeProgress) => void;
}

export interface EncodeResult {
  cap: ReadCap | LiteralCap;
  verifyCap: VerifyCap | null;
  storageIndex: Uint8Array | null;
  shareSize: number; // 0 for literal
}

async function readAll(input: FileInput, signal?: AbortSignal): Promise<Uint8Array> {
  const out = new Uint8Array(input.size);
  let w = 0;
  for await (const c of input.open(signal)) {
    if (w + c.length > input.size) throw new InputChangedError({ expected: input.size, got: w + c.length });
    out.set(c, w); w += c.length;
  }
  if (w !== input.size) throw new InputChangedError({ expected: input.size, got: w });
  return out;
}

export async function encodeFile(input: FileInput, opts: EncodeOptions): Promise<EncodeResult> {
  const { k, n, signal, onProgress } = opts;
  const segmentSize = opts.segmentSize ?? DEFAULT_SEGMENT_SIZE;
  if (opts.convergenceSecret && opts.randomKey) throw new InvalidParamsError('choose a convergence secret or a random key, not both');
  signal?.throwIfAborted();
  if (!Number.isSafeInteger(input.size) || input.size < 0) throw new InvalidParamsError('input size must be a non-negative integer', { size: input.size });
  if (input.size <= LITERAL_MAX_BYTES) {
    return { cap: { type: 'lit', data: await readAll(input, signal) }, verifyCap: null, storageIndex: null, shareSize: 0 };
  }
  const g = geometry({ k, n, segmentSize, fileSize: input.size });

  let key: Uint8Array;
  if (opts.convergenceSecret) {
    const h = taggedHasher(TAGS.plaintext);
    let bytes = 0;
    for await (const chunk of input.open(signal)) {
      signal?.throwIfAborted();
      h.update(chunk); bytes += chunk.length;
      onProgress?.({ phase: 'hash', bytes, total: input.size });
    }
    if (bytes !== input.size) throw new InputChangedError({ expected: input.size, got: bytes });
    key = convergentKey(opts.convergenceSecret, { k, n, segmentSize }, new Uint8Array(h.digest()));
  } else {
    key = newRandomKey();
  }
  const storageIndex = storageIndexFromKey(key);
  const start: EncodeStart = { storageIndex, k, n, segmentSize, size: input.size, shareSize: g.shareSize };
  const sink = typeof opts.sink === 'function' ? await opts.sink(start) : opts.sink;

  const ueb = await writeShares(g, key, storageIndex, input, sink, signal, onProgress);
  const cap: ReadCap = { type: 'chk', key, uebHash: uebHash(ueb), k, n, size: input.size };
  return { cap, verifyCap: toVerifyCap(cap), storageIndex, shareSize: g.shareSize };
}

/**
 * Share writes run behind the encoder: segment j's blocks go to the sink while segment j+1 is sealed, coded and
 * hashed, so a sink that writes on other threads (files, sockets) overlaps with the CPU work. Writes to one share
 * never overlap (the next starts when the previous resolved). Memory: this many segments of n blocks in flight,
 * plus the one being encoded.
 */
const WRITE_BEHIND_SEGMENTS = 1;

/** Ordered, bounded writes of n share streams. Every promise it creates is observed, so a failed write never goes unhandled. */
function shareWriter(sink: ShareSink, n: number) {
  const tails: Promise<void>[] = new Array(n).fill(Promise.resolve());
  const inflight: Promise<unknown>[] = [];
  return {
    /** Queue one chunk per share; resolves once at most WRITE_BEHIND_SEGMENTS batches are still in flight. */
    async push(chunk: (i: number) => Uint8Array): Promise<void> {
      for (let i = 0; i < n; i++) { const c = chunk(i); tails[i] = tails[i].then(() => sink.write(i, c)); }
      const batch = Promise.all(tails);
      batch.catch(() => {});
      inflight.push(batch);
      while (inflight.length > WRITE_BEHIND_SEGMENTS) await inflight.shift();
    },
    /** Wait for every queued write; throws the first failure. */
    async drain(): Promise<void> {
      while (inflight.length) await inflight.shift();
    },
    /** After an encoder failure: let queued writes finish (or fail) so the sink is idle when encodeFile rejects. */
    async settle(): Promise<void> {
      inflight.length = 0;
      await Promise.allSettled(tails); // each share's last write settles after all of that share's earlier ones
    },
  };
}

/**
 * Working blocks of one segment: k data + m parity blocks of `bs` bytes, reused for later segments of that block
 * size. With parity they live in the codec's memory (a ShardSet: the codec reads and writes them in place).
 */
interface WorkArea { bs: number; blocks: readonly Uint8Array[]; encode(): void }

function workArea(codec: Codec | null, n: number, bs: number): WorkArea {
  if (!codec) return { bs, blocks: Array.from({ length: n }, () => new Uint8Array(bs)), encode() {} };
  const set = codec.allocShards(bs);
  return { bs, blocks: set.shards, encode: () => codec.encodeShardSet(set) };
}

async function writeShares(g: Geometry, key: Uint8Array, storageIndex: Uint8Array, input: FileInput, sink: ShareSink,
  signal: AbortSignal | undefined, onProgress: EncodeOptions['onProgress']): Promise<Uint8Array> {
  const { k, n, m } = g;
  const codec = m > 0 ? createCodec({ dataShards: k, parityShards: m }) : null;
  const sealer = segmentSealer(key);
  const leafHashes: Uint8Array[][] = Array.from({ length: n }, () => []);
  const writer = shareWriter(sink, n);
  // A sink that releases chunks gets the work area's blocks themselves; segment j then uses area j % ring, which
  // is free because writer.push() returns only when at most WRITE_BEHIND_SEGMENTS later segments are in flight.
  // Any other sink gets each segment copied into fresh memory it owns.
  const ring = sink.releasesChunks ? WRITE_BEHIND_SEGMENTS + 1 : 1;
  const areas: WorkArea[] = [];
  let tailArea: WorkArea | null = null;
  try {
    await writer.push((i) => encodeHeader(g, i, storageIndex));
    let seg = 0, bytes = 0;
    for await (const pieces of segments(input, g.segmentSize, signal)) {
      signal?.throwIfAborted();
      const bs = segmentBlockSize(g, seg);
      let work: WorkArea;
      if (bs === g.blockSize) work = areas[seg % ring] ??= workArea(codec, n, bs);
      else work = tailArea ??= workArea(codec, n, bs); // the last segment, when its blocks are shorter
      let plainLen = 0;
      for (const p of pieces) plainLen += p.length;
      const data = work.blocks.slice(0, k);
      const sealedLen = sealer.sealInto(seg, pieces, data);
      if (sealedLen !== plainLen + SEGMENT_TAG_BYTES) throw new Error('internal: sealed length mismatch');
      const full = Math.floor(sealedLen / bs); // zero padding after the sealed segment
      for (let i = full; i < k; i++) data[i].fill(0, i === full ? sealedLen % bs : 0);
      work.encode();
      let blocks = work.blocks;
      if (!sink.releasesChunks) {
        // One fresh buffer per segment for the sink to own; not zero-filled, since every byte is overwritten.
        const out = new Uint8Array(Buffer.allocUnsafeSlow(n * bs).buffer, 0, n * bs);
        blocks = blocks.map((b, i) => { const c = out.subarray(i * bs, (i + 1) * bs); c.set(b); return c; });
      }
      for (let i = 0; i < n; i++) leafHashes[i].push(blockHash(blocks[i]));
      await writer.push((i) => blocks[i]);
      seg++; bytes += plainLen;
      onProgress?.({ phase: 'encode', bytes, total: g.fileSize, segment: seg, segments: g.numSegments });
    }
    if (seg !== g.numSegments) throw new InputChangedError({ expected: g.fileSize, got: bytes });

    const trees = leafHashes.map((leaves) => buildTree(leaves, g.leaves));
    const roots = trees.map((t) => t.slice(0, HASH_BYTES));
    const ueb = encodeUeb(g, taggedHash(TAGS.shareRoots, ...roots));
    const rootsBytes = new Uint8Array(n * HASH_BYTES);
    roots.forEach((r, i) => rootsBytes.set(r, i * HASH_BYTES));
    await writer.push((i) => {
      const trailer = new Uint8Array(g.shareSize - g.blockTreeOffset);
      trailer.set(trees[i], 0);
      trailer.set(rootsBytes, g.shareRootsOffset - g.blockTreeOffset);
      trailer.set(ueb, g.uebOffset - g.blockTreeOffset);
      trailer.set(encodeFooter(g, i, storageIndex), g.footerOffset - g.blockTreeOffset);
      return trailer;
    });
    await writer.drain();
    await Promise.all(Array.from({ length: n }, (_, i) => sink.close(i)));
    return ueb;
  } catch (e) {
    await writer.settle();
    throw e;
  }
}
