// decodeFile: verified, streaming, range-capable read of a pack from untrusted ShareSources. Every block is
// checked against its Merkle path up to the pack cap before use; the bytes are a pack's (sealed blobs: src/repo
// opens them), so nothing here decrypts.
import { createCodec, type Codec } from '../erasure/index.ts';
import { InvalidCapError } from '../caps/errors.ts';
import { parseCap } from '../caps/text.ts';
import { packStorageIndex } from '../caps/derive.ts';
import type { PackCap } from '../caps/types.ts';
import { BufferPool } from '../common/buffer-pool.ts';
import { GROUP_READ_BYTES, SHARE_POOL_BYTES, SHARE_POOL_IDLE_MS, WHOLE_SHARE_READ_MAX } from './constants.ts';
import { CorruptDataError, CorruptShareError, InvalidParamsError, NotEnoughSharesError } from './errors.ts';
import { segmentPlainSize, type Geometry } from './geometry.ts';
import { hex, ShareReader, type ShareSource } from './reader.ts';

export interface DecodeReport {
  storageIndex: string | null; // hex
  corrupt: CorruptShareError[]; // shares dropped for bad bytes
  failed: { share: number; error: unknown }[]; // shares dropped because a read threw
  sharesUsed: number[]; // shares that supplied at least one verified block
  segmentsDecoded: number;
}

export type DecodeProgress =
  | { type: 'segment'; segment: number; bytes: number; total: number }
  | { type: 'corrupt'; error: CorruptShareError }
  | { type: 'failed'; share: number; error: unknown };

export interface DecodeOptions {
  signal?: AbortSignal;
  onProgress?: (e: DecodeProgress) => void;
  /** Plaintext byte range; only the segments it touches are fetched. */
  range?: { offset: number; length: number };
  /** Largest block tree read in one request (default WHOLE_TREE_READ_MAX); larger trees are read path by path. */
  treeReadMax?: number;
  /** Largest share read whole when the whole file is wanted (default WHOLE_SHARE_READ_MAX; 0: never). */
  wholeShareMax?: number;
  /** Whole-file reads: blocks of consecutive segments read together up to this many bytes (default GROUP_READ_BYTES; 0: one block per read). */
  groupReadBytes?: number;
  /**
   * Where the plaintext goes: the range's bytes (range.length, or the whole pack) are written here and the stream
   * yields views of it, in order, instead of a fresh buffer per segment. At least the range's length.
   */
  into?: Uint8Array;
}

/** Plaintext chunks in order; `report` fills in as decoding proceeds. */
export interface DecodeStream extends AsyncIterable<Uint8Array> {
  report: DecodeReport;
}

/** Whole shares read into reused buffers (up to WHOLE_SHARE_READ_MAX each: a few packs' worth kept, none once idle). */
const sharePool = new BufferPool({ maxBytes: SHARE_POOL_BYTES, idleMs: SHARE_POOL_IDLE_MS });

/**
 * `source` as is, or (a share of at most `max` bytes) one read of all of it, into a pooled buffer, every read
 * served from that. The read pushes onto `taken` a function that run() calls once the decode ended well (no view
 * of the share is left): it gives the buffer back if that read succeeded (a failed one may still be writing it).
 */
function wholeShare(source: ShareSource, max: number, taken: (() => void)[]): ShareSource {
  if (!Number.isSafeInteger(source.size) || source.size <= 0 || source.size > max) return source;
  let all: Promise<Uint8Array> | null = null;
  return {
    shareNum: source.shareNum,
    size: source.size,
    async read(offset, length, signal) {
      if (!all) {
        const into = sharePool.take(source.size);
        all = source.read(0, source.size, signal, into);
        const read = all;
        taken.push(
          () =>
            void read.then(
              () => sharePool.give(into),
              () => {}
            )
        );
      }
      const b = await all;
      // A short answer is caught by the reader's length check (ShareReader.read) as for any other read.
      return b.subarray(offset, offset + length);
    }
  };
}

function isAbort(e: unknown): boolean {
  return e instanceof Error && (e.name === 'AbortError' || (e as { code?: string }).code === 'ABORT_ERR');
}

function resolveRange(size: number, range?: { offset: number; length: number }): { offset: number; end: number } {
  if (!range) return { offset: 0, end: size };
  const { offset, length } = range;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new InvalidParamsError('range outside the file', { offset, length, size });
  }
  return { offset, end: offset + length };
}

export function decodeFile(cap: PackCap | string, sources: ShareSource[], opts: DecodeOptions = {}): DecodeStream {
  const c = typeof cap === 'string' ? parseCap(cap) : cap;
  if (c.type !== 'pack') throw new InvalidCapError('ERR_CAP_WRONG_KIND', 'decoding needs a pack cap', { type: c.type });
  const report: DecodeReport = { storageIndex: null, corrupt: [], failed: [], sharesUsed: [], segmentsDecoded: 0 };
  const range = resolveRange(c.size, opts.range);
  if (opts.into && opts.into.length < range.end - range.offset)
    throw new InvalidParamsError(`into holds ${opts.into.length} bytes, the range ${range.end - range.offset}`, { into: opts.into.length });
  const storageIndex = packStorageIndex(c.uebHash);
  report.storageIndex = hex(storageIndex);
  return { report, [Symbol.asyncIterator]: () => run(c, storageIndex, sources, opts, report, range) };
}

const READ_AHEAD_SEGMENTS = 4; // segments in flight during a download; bounds memory to ~4 segments

async function* run(
  cap: PackCap,
  storageIndex: Uint8Array,
  sources: ShareSource[],
  opts: DecodeOptions,
  report: DecodeReport,
  range: { offset: number; end: number }
): AsyncGenerator<Uint8Array> {
  const { signal, onProgress } = opts;
  const { k, n } = cap;
  if (range.end === range.offset) return;
  const expect = { storageIndex, uebHash: cap.uebHash, k, n, size: cap.size };
  // Prefer data shares (no reconstruction needed), then parity. For a whole file, each share is read whole
  // at its first read if small (WHOLE_SHARE_READ_MAX), else its blocks a group at a time (GROUP_READ_BYTES).
  const whole = range.offset === 0 && range.end === cap.size;
  const taken: (() => void)[] = []; // whole shares' pooled buffers, given back when the decode ends well
  const pending = [...sources]
    .sort((a, b) => a.shareNum - b.shareNum)
    .map(
      (s) =>
        new ShareReader(
          whole && opts.wholeShareMax !== 0 ? wholeShare(s, opts.wholeShareMax ?? WHOLE_SHARE_READ_MAX, taken) : s,
          expect,
          opts.treeReadMax,
          whole ? (opts.groupReadBytes ?? GROUP_READ_BYTES) : 0
        )
    );
  const active: ShareReader[] = [];
  const used = new Set<number>();
  let g: Geometry | null = null;

  const drop = (r: ShareReader, e: unknown) => {
    const i = active.indexOf(r);
    if (i >= 0) active.splice(i, 1);
    if (e instanceof CorruptShareError) {
      report.corrupt.push(e);
      onProgress?.({ type: 'corrupt', error: e });
    } else {
      report.failed.push({ share: r.shareNum, error: e });
      onProgress?.({ type: 'failed', share: r.shareNum, error: e });
    }
  };

  // Open more readers until `want` distinct shares are available (or none remain).
  const distinct = () => new Set(active.map((r) => r.shareNum)).size;
  // Concurrent segment fetches share one in-flight open: a fetch that needs more sources waits for
  // readers another fetch is already opening instead of concluding that none are left.
  let opening: Promise<void> | null = null;
  const openBatch = async (want: number) => {
    const have = new Set(active.map((r) => r.shareNum));
    const batch: ShareReader[] = [];
    const rest: ShareReader[] = [];
    for (const r of pending) {
      if (batch.length < want - have.size && !have.has(r.shareNum) && !batch.some((b) => b.shareNum === r.shareNum)) batch.push(r);
      else rest.push(r);
    }
    pending.splice(0, pending.length, ...rest);
    if (!batch.length) return;
    const results = await Promise.allSettled(batch.map((r) => r.open(signal)));
    signal?.throwIfAborted();
    results.forEach((res, i) => {
      if (res.status === 'fulfilled') {
        active.push(batch[i]);
        g ??= batch[i].geometry;
      } else if (isAbort(res.reason)) throw res.reason;
      else drop(batch[i], res.reason);
    });
  };
  const ensure = async (want: number) => {
    while (distinct() < want) {
      if (opening) {
        await opening;
        continue;
      }
      if (!pending.length) break;
      const before = pending.length;
      opening = openBatch(want).finally(() => {
        opening = null;
      });
      await opening;
      if (pending.length === before) break;
    }
  };

  // Too few good shares: corrupt ones that would have made up the k say the data is damaged, not just away.
  // (A share that served this segment and failed another counts once, as good.)
  const tooFew = (good: Iterable<number>, segment?: number) => {
    const ok = new Set(good);
    const found = ok.size;
    const corrupt = new Set(report.corrupt.map((e) => (e.details as { share: number }).share).filter((s) => !ok.has(s))).size;
    return corrupt > 0 && found + corrupt >= k
      ? new CorruptDataError({ needed: k, good: found, corrupt, storageIndex: hex(storageIndex), ...(segment !== undefined && { segment }) })
      : new NotEnoughSharesError({ needed: k, found, storageIndex: hex(storageIndex), ...(segment !== undefined && { segment }) });
  };
  await ensure(k);
  if (!g) throw tooFew([]);
  const geo: Geometry = g;
  // Made at the first segment that needs parity: with the k data shares at hand (the usual case) no segment
  // does, and a codec is a WebAssembly instance of its own (a 10 GiB address reservation, its tables written).
  let codec: Codec | null = null;
  const first = Math.floor(range.offset / geo.segmentSize);
  const last = Math.floor((range.end - 1) / geo.segmentSize);
  let delivered = 0;

  // Fetch the k verified blocks of one segment, replacing sources that fail or lie.
  const fetchBlocks = async (seg: number): Promise<Map<number, Uint8Array>> => {
    const blocks = new Map<number, Uint8Array>();
    const tried = new Set<ShareReader>();
    while (blocks.size < k) {
      const picks: ShareReader[] = [];
      for (const r of active) {
        if (picks.length >= k - blocks.size) break;
        if (tried.has(r) || blocks.has(r.shareNum) || picks.some((p) => p.shareNum === r.shareNum)) continue;
        picks.push(r);
      }
      if (picks.length < k - blocks.size) {
        await ensure(distinct() + (k - blocks.size - picks.length));
        for (const r of active) {
          if (picks.length >= k - blocks.size) break;
          if (tried.has(r) || blocks.has(r.shareNum) || picks.includes(r) || picks.some((p) => p.shareNum === r.shareNum)) continue;
          picks.push(r);
        }
        if (!picks.length) throw tooFew(blocks.keys(), seg);
      }
      const results = await Promise.allSettled(
        picks.map((r) => {
          tried.add(r);
          return r.readBlock(seg, signal);
        })
      );
      signal?.throwIfAborted();
      results.forEach((res, i) => {
        if (res.status === 'fulfilled') {
          blocks.set(picks[i].shareNum, res.value);
          used.add(picks[i].shareNum);
        } else if (isAbort(res.reason)) throw res.reason;
        else drop(picks[i], res.reason);
      });
    }
    return blocks;
  };

  // Read-ahead: up to READ_AHEAD_SEGMENTS segments are fetched while the current one is decoded and
  // consumed, so network round trips, peers' disks and our CPU overlap. Memory: that many segments.
  const window: Promise<Map<number, Uint8Array>>[] = [];
  let next = first;
  const fill = () => {
    while (window.length < READ_AHEAD_SEGMENTS && next <= last) {
      const p = fetchBlocks(next++);
      p.catch(() => {}); // observed when its turn comes; never an unhandled rejection meanwhile
      window.push(p);
    }
  };

  for (let seg = first; seg <= last; seg++) {
    signal?.throwIfAborted();
    fill();
    const blocks = await window.shift()!;
    fill();
    let data: Uint8Array[];
    if ([...Array(k).keys()].every((i) => blocks.has(i))) {
      data = [...Array(k).keys()].map((i) => blocks.get(i)!);
    } else {
      codec ??= createCodec({ dataShards: k, parityShards: geo.m });
      data = codec.reconstruct(Array.from({ length: n }, (_, i) => blocks.get(i) ?? null)).slice(0, k);
    }
    const plainLen = segmentPlainSize(geo, seg);
    const bs = data[0].length;
    const segStart = seg * geo.segmentSize;
    // Straight into `into` when the whole segment is wanted; a segment cut by the range goes through its own buffer.
    const direct = opts.into && segStart >= range.offset && segStart + plainLen <= range.end;
    const plain = direct ? opts.into!.subarray(segStart - range.offset, segStart - range.offset + plainLen) : new Uint8Array(plainLen);
    for (let i = 0; i < k && i * bs < plainLen; i++) plain.set(data[i].subarray(0, Math.min(bs, plainLen - i * bs)), i * bs);
    report.segmentsDecoded++;
    report.sharesUsed = [...used].sort((a, b) => a - b);
    const from = Math.max(range.offset, segStart) - segStart;
    const to = Math.min(range.end, segStart + plainLen) - segStart;
    const part = from === 0 && to === plain.length ? plain : plain.subarray(from, to);
    const dest = opts.into?.subarray(segStart + from - range.offset, segStart + to - range.offset);
    if (dest && !direct) dest.set(part);
    delivered += to - from;
    onProgress?.({ type: 'segment', segment: seg, bytes: delivered, total: range.end - range.offset });
    yield dest ?? part;
  }
  // Every segment's reads have settled (allSettled) and its bytes are copied out: no view of a share is left.
  // After a failure or an early stop, reads may still be in flight: those buffers are left to the GC.
  for (const give of taken) give();
}
