// In-memory helpers for tests and tiny uses: whole shares as byte arrays.
import type { LiteralCap, ReadCap } from '../caps/types.ts';
import { decodeFile, type DecodeOptions, type DecodeReport } from './decode.ts';
import { encodeFile, type EncodeOptions, type EncodeResult, type ShareSink } from './encode.ts';
import { bytesInput } from './input.ts';
import type { ShareSource } from './reader.ts';

/** A ShareSource over bytes in memory (reads past the end return short data, as a lying peer might). */
export function memorySource(shareNum: number, bytes: Uint8Array): ShareSource {
  return {
    shareNum,
    size: bytes.length,
    async read(offset, length) { return bytes.subarray(offset, offset + length); },
  };
}

/** A ShareSink that collects every share; `shares()` concatenates them once encoding finished. */
export function memorySink(): ShareSink & { shares(): Uint8Array[] } {
  const parts = new Map<number, Uint8Array[]>();
  return {
    async write(i, chunk) { (parts.get(i) ?? parts.set(i, []).get(i)!).push(chunk); },
    async close() {},
    shares() {
      return [...parts.keys()].sort((a, b) => a - b).map((i) => Buffer.concat(parts.get(i)!)).map((b) => new Uint8Array(b.buffer, b.byteOffset, b.length));
    },
  };
}

export async function encodeBytes(bytes: Uint8Array, opts: Omit<EncodeOptions, 'sink'>): Promise<EncodeResult & { shares: Uint8Array[] }> {
  const sink = memorySink();
  const r = await encodeFile(bytesInput(bytes), { ...opts, sink });
  return { ...r, shares: r.cap.type === 'lit' ? [] : sink.shares() };
}

/** Decode from whole shares; `null` marks a missing share. Throws NotEnoughSharesError etc. */
export async function decodeBytes(cap: ReadCap | LiteralCap | string, shares: (Uint8Array | null)[], opts: DecodeOptions & { report?: (r: DecodeReport) => void } = {}): Promise<Uint8Array> {
  const sources = shares.flatMap((s, i) => (s ? [memorySource(i, s)] : []));
  const stream = decodeFile(cap, sources, opts);
  const out: Uint8Array[] = [];
  try {
    for await (const chunk of stream) out.push(chunk);
  } finally {
    opts.report?.(stream.report);
  }
  const b = Buffer.concat(out);
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}
