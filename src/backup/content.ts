// A file's content from its cap: inline bytes (`p2pb:lit:`), one chunk (a `data` blob) or a chunk list (a
// `list` blob naming the chunks in order). Every chunk is verified by its repository (pack blocks, then its own
// AEAD) before a byte of it is handed out; a list whose lengths do not add up to the size the caller expects is
// refused before anything is read.
import { ChunkList, type ChunkRef } from '../repo/chunk-list.ts';
import { MAX_BLOB_BYTES } from '../repo/constants.ts';
import { GET_BATCHES_AHEAD, GET_BATCH_BYTES, RESTORE_CHUNKS_AHEAD } from './constants.ts';
import { InvalidObjectError } from './errors.ts';
import { entryContent } from './objects.ts';
import type { BlobSource, DirEntry } from './types.ts';

export interface Content {
  size: number;
  /** Verified chunks in order. */
  stream: AsyncIterable<Uint8Array>;
  /** The whole content when it is one piece in memory anyway (inline or one chunk): read it, do not change it. */
  bytes?: Uint8Array;
  /** Give back a chunk of `stream` once done with it and no view of it is kept (openContent's `pooled`). */
  release(chunk: Uint8Array): void;
  /** Done with this content, read to its end or not (its stream may not have started): its announced reads are forgotten. */
  close(): void;
}

const NOTHING = () => {};

/** Content in memory (inline, or one chunk): its stream is made only if asked for (a restore reads `bytes`). */
class InMemory implements Content {
  readonly size: number;
  readonly bytes: Uint8Array;
  readonly release: (chunk: Uint8Array) => void;
  close = NOTHING;
  constructor(bytes: Uint8Array, release: (chunk: Uint8Array) => void = NOTHING) {
    this.size = bytes.length;
    this.bytes = bytes;
    this.release = release;
  }
  get stream(): AsyncIterable<Uint8Array> {
    const bytes = this.bytes;
    return (async function* () {
      yield bytes;
    })();
  }
}

/**
 * Open a file entry's content (a DirEntry, or `{ cap, size }`); the entry's size is checked against the content's.
 * `whole: false` reads only this file's ranges of its packs (one file fetched alone); by default whole packs are
 * read and cached (a restore reads their other blobs next).
 */
export async function openContent(
  src: BlobSource,
  entry: Pick<DirEntry, 'cap' | 'size'>,
  signal?: AbortSignal,
  o: { whole?: boolean; pooled?: boolean } = {}
): Promise<Content> {
  const whole = o.whole;
  const size = entry.size;
  const c = entryContent(entry as DirEntry, ['data', 'list']);
  const one = (bytes: Uint8Array, release?: (chunk: Uint8Array) => void): Content => {
    if (size !== undefined && bytes.length !== size) {
      release?.(bytes);
      throw new InvalidObjectError(`content is ${bytes.length} bytes, its entry says ${size}`, { expected: size, got: bytes.length });
    }
    return new InMemory(bytes, release);
  };
  if (c.kind === 'lit') return one(c.data);
  const reader = src.reader(c.repo);
  const release: (chunk: Uint8Array) => void = o.pooled && reader.releaseBlob ? reader.releaseBlob.bind(reader) : NOTHING;
  // One chunk, in memory: `pooled`, its buffer goes back with release() (a restore's small file once copied to the writer).
  if (c.kind === 'data') return one(await reader.loadBlob('data', c, { signal, maxPlain: size ?? MAX_BLOB_BYTES, whole, pooled: o.pooled }), release);
  // A list of n chunks is 12 + 68n bytes; chunks are at least 1 byte, so a list never needs more than that.
  // Kept as loaded (68 bytes a chunk), each chunk decoded when read: not an object and two arrays per chunk.
  const list = ChunkList.decode(
    await reader.loadBlob('list', c, { signal, whole, maxPlain: size === undefined ? MAX_BLOB_BYTES : 12 + 68 * Math.min(size, MAX_BLOB_BYTES) }),
    size
  );
  const total = size ?? list.total;
  const byRange = whole === false ? reader.loadBlobsByRange?.bind(reader) : undefined;
  // One file fetched alone: its chunks in batches of GET_BATCH_BYTES, each read by range with its neighbours
  // in a pack read as one range (a chunk rarely ends on a pack segment's edge: read one by one, every segment
  // two chunks share was fetched twice). Otherwise one chunk at a time, through the pack cache. Group g is
  // chunks starts[g] up to starts[g + 1].
  const starts: number[] = [];
  let bytes = Infinity;
  for (let i = 0; i < list.count; i++) {
    if (!byRange || bytes + list.sizeAt(i) > GET_BATCH_BYTES) {
      starts.push(i);
      bytes = 0;
    }
    bytes += list.sizeAt(i);
  }
  starts.push(list.count);
  // Whole packs through the cache: the chunks are announced first, so that a pack read only for them is let go
  // once this file has read the last of them (their references are made for this call only).
  const plan =
    whole !== false && reader.planReads
      ? await reader.planReads(
          'data',
          Array.from({ length: list.count }, (_, i) => list.at(i)),
          signal
        )
      : undefined;
  const load = (group: ChunkRef[]): Promise<Uint8Array[]> =>
    byRange
      ? byRange(
          'data',
          group.map((ch) => ({ ...ch, maxPlain: ch.size })),
          { signal }
        )
      : reader.loadBlob('data', group[0], { signal, maxPlain: group[0].size, whole, pooled: o.pooled, plan }).then((b) => [b]);
  const ahead = byRange ? GET_BATCHES_AHEAD : RESTORE_CHUNKS_AHEAD;
  const close = () => plan?.close();
  return {
    size: total,
    release,
    close,
    stream: (async function* () {
      const pending: Promise<Uint8Array[]>[] = [];
      let next = 0;
      const fill = () => {
        while (pending.length < ahead && next < starts.length - 1) {
          const group: ChunkRef[] = [];
          for (let i = starts[next]; i < starts[next + 1]; i++) group.push(list.at(i));
          next++;
          const p = load(group).then((bs) => {
            bs.forEach((b, i) => {
              if (b.length !== group[i].size) throw new InvalidObjectError(`chunk is ${b.length} bytes, its list says ${group[i].size}`);
            });
            return bs;
          });
          p.catch(() => {}); // observed in turn below
          pending.push(p);
        }
      };
      try {
        fill();
        while (pending.length) {
          const bs = await pending.shift()!;
          fill();
          yield* bs;
        }
      } finally {
        close();
      }
    })()
  };
}
