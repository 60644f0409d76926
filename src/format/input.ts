// Re-readable file inputs (a convergent key needs a hashing pass before the encoding pass)
// and the rechunker that turns arbitrary chunks into segments.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { InputChangedError } from './errors.ts';

/**
 * A file that can be read more than once. `open()` yields its bytes in order; the chunks it yields
 * must not be modified afterwards (the encoder may hold them until a segment is full).
 */
export interface FileInput {
  size: number;
  open(signal?: AbortSignal): AsyncIterable<Uint8Array>;
}

export function bytesInput(bytes: Uint8Array, chunkSize = 1 << 20): FileInput {
  return {
    size: bytes.length,
    async *open() {
      for (let o = 0; o < bytes.length; o += chunkSize) yield bytes.subarray(o, Math.min(bytes.length, o + chunkSize));
    },
  };
}

/** A file on disk; its size is taken now, and a changed size is refused while encoding. */
export async function fileInput(path: string): Promise<FileInput> {
  const st = await stat(path);
  return {
    size: st.size,
    async *open(signal) {
      for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, signal })) yield chunk as Buffer;
    },
  };
}

/** Group input chunks into segments of `segmentSize` (last may be short); checks the declared size. */
export async function* segments(input: FileInput, segmentSize: number, signal?: AbortSignal): AsyncGenerator<Uint8Array[]> {
  let pieces: Uint8Array[] = [];
  let have = 0, total = 0;
  for await (const chunk of input.open(signal)) {
    signal?.throwIfAborted();
    total += chunk.length;
    if (total > input.size) throw new InputChangedError({ expected: input.size, got: total });
    let o = 0;
    while (o < chunk.length) {
      const take = Math.min(segmentSize - have, chunk.length - o);
      pieces.push(chunk.subarray(o, o + take));
      have += take; o += take;
      if (have === segmentSize) { yield pieces; pieces = []; have = 0; }
    }
  }
  if (total !== input.size) throw new InputChangedError({ expected: input.size, got: total });
  if (have > 0) yield pieces;
}
