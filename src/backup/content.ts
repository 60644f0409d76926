// A file's content from its cap: inline bytes (`p2pb:lit:`), one chunk (a `data` blob) or a chunk list (a
// `list` blob naming the chunks in order). Every chunk is verified by its repository (pack blocks, then its own
// AEAD) before a byte of it is handed out; a list whose lengths do not add up to the size the caller expects is
// refused before anything is read.
import { decodeChunkList } from '../repo/chunk-list.ts';
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
}

/**
 * Open a file entry's content (a DirEntry, or `{ cap, size }`); the entry's size is checked against the content's.
 * `whole: false` reads only this file's ranges of its packs (one file fetched alone); by default whole packs are
 * read and cached (a restore reads their other blobs next).
 */
export async function openContent(src: BlobSource, entry: Pick<DirEntry, 'cap' | 'size'>, signal?: AbortSignal, o: { whole?: boolean } = {}): Promise<Content> {
  const whole = o.whole;
  const size = entry.size;
  const c = entryContent(entry as DirEntry, ['data', 'list']);
  const one = (bytes: Uint8Array): Content => {
    if (size !== undefined && bytes.length !== size)
      throw new InvalidObjectError(`content is ${bytes.length} bytes, its entry says ${size}`, { expected: size, got: bytes.length });
    return {
      size: bytes.length,
      bytes,
      stream: (async function* () {
        yield bytes;
      })()
    };
  };
  if (c.kind === 'lit') return one(c.data);
  const reader = src.reader(c.repo);
  if (c.kind === 'data') return one(await reader.loadBlob('data', c, { signal, maxPlain: size ?? MAX_BLOB_BYTES, whole }));
  // A list of n chunks is 12 + 68n bytes; chunks are at least 1 byte, so a list never needs more than that.
  const chunks = decodeChunkList(
    await reader.loadBlob('list', c, { signal, whole, maxPlain: size === undefined ? MAX_BLOB_BYTES : 12 + 68 * Math.min(size, MAX_BLOB_BYTES) }),
    size
  );
  const total = size ?? chunks.reduce((a, ch) => a + ch.size, 0);
  const byRange = whole === false ? reader.loadBlobsByRange?.bind(reader) : undefined;
  if (byRange) {
    // One file fetched alone: its chunks in batches of GET_BATCH_BYTES, each batch read by range with its
    // neighbours in a pack read as one range (a chunk rarely ends on a pack segment's edge: read one by one,
    // every segment two chunks share was fetched twice).
    const batches: (typeof chunks)[] = [];
    let bytes = Infinity;
    for (const ch of chunks) {
      if (bytes + ch.size > GET_BATCH_BYTES) {
        batches.push([]);
        bytes = 0;
      }
      batches.at(-1)!.push(ch);
      bytes += ch.size;
    }
    return {
      size: total,
      stream: (async function* () {
        const ahead: Promise<Uint8Array[]>[] = [];
        let next = 0;
        const fill = () => {
          while (ahead.length < GET_BATCHES_AHEAD && next < batches.length) {
            const batch = batches[next++];
            const p = byRange(
              'data',
              batch.map((ch) => ({ ...ch, maxPlain: ch.size })),
              { signal }
            ).then((bs) => {
              bs.forEach((b, i) => {
                if (b.length !== batch[i].size) throw new InvalidObjectError(`chunk is ${b.length} bytes, its list says ${batch[i].size}`);
              });
              return bs;
            });
            p.catch(() => {}); // observed in turn below
            ahead.push(p);
          }
        };
        fill();
        while (ahead.length) {
          const bs = await ahead.shift()!;
          fill();
          yield* bs;
        }
      })()
    };
  }
  return {
    size: total,
    stream: (async function* () {
      const ahead: Promise<Uint8Array>[] = [];
      let next = 0;
      const fill = () => {
        while (ahead.length < RESTORE_CHUNKS_AHEAD && next < chunks.length) {
          const ch = chunks[next++];
          const p = reader.loadBlob('data', ch, { signal, maxPlain: ch.size, whole }).then((b) => {
            if (b.length !== ch.size) throw new InvalidObjectError(`chunk is ${b.length} bytes, its list says ${ch.size}`);
            return b;
          });
          p.catch(() => {}); // observed in turn below
          ahead.push(p);
        }
      };
      fill();
      while (ahead.length) {
        const b = await ahead.shift()!;
        fill();
        yield b;
      }
    })()
  };
}
