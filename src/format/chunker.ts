// Placeholder content-defined chunker (replaced by the chunker branch's measured FastCDC at merge).
import { createHash } from 'node:crypto';

export interface ChunkerParams { min: number; avg: number; max: number }
export const CHUNK_MIN_BYTES = 512 << 10;
export const CHUNK_AVG_BYTES = 1 << 20;
export const CHUNK_MAX_BYTES = 8 << 20;

export interface Chunker { readonly params: ChunkerParams; cut(buf: Uint8Array, final: boolean): number }

export function createChunker(key: Uint8Array, params: Partial<ChunkerParams> = {}): Chunker {
  const p: ChunkerParams = { min: params.min ?? CHUNK_MIN_BYTES, avg: params.avg ?? CHUNK_AVG_BYTES, max: params.max ?? CHUNK_MAX_BYTES };
  const gear = new Uint32Array(256);
  for (let i = 0; i < 256; i += 8) {
    const h = createHash('sha256').update(key).update(Uint8Array.of(i)).digest();
    for (let j = 0; j < 8; j++) gear[i + j] = h.readUInt32BE(j * 4);
  }
  const bits = Math.round(Math.log2(p.avg));
  const mask = ((1 << bits) - 1) << (32 - bits) >>> 0;
  return {
    params: p,
    cut(buf, final) {
      const n = buf.length;
      if (n <= p.min) return final ? n : 0;
      const end = Math.min(n, p.max);
      let h = 0;
      for (let i = p.min; i < end; i++) {
        h = ((h << 1) + gear[buf[i]]) >>> 0;
        if ((h & mask) === 0) return i + 1;
      }
      if (end === p.max) return p.max;
      return final ? n : 0;
    }
  };
}

export async function* chunkStream(source: AsyncIterable<Uint8Array>, chunker: Chunker, o: { signal?: AbortSignal } = {}): AsyncIterable<Uint8Array> {
  let buf = new Uint8Array(0);
  for await (const piece of source) {
    o.signal?.throwIfAborted();
    const joined = new Uint8Array(buf.length + piece.length);
    joined.set(buf); joined.set(piece, buf.length);
    buf = joined;
    for (let c; buf.length >= chunker.params.max || (c = chunker.cut(buf, false)) > 0;) {
      c = chunker.cut(buf, false);
      if (c === 0) break;
      yield buf.slice(0, c);
      buf = buf.subarray(c);
    }
  }
  while (buf.length) {
    const c = chunker.cut(buf, true);
    yield buf.slice(0, c);
    buf = buf.subarray(c);
  }
}
