// In-memory helpers for tests and tiny uses: whole shares as byte arrays.
import type { PackCap } from '../caps/types.ts';
import { decodeFile, type DecodeOptions, type DecodeReport } from './decode.ts';
import type { ShareSource } from './reader.ts';

/** A ShareSource over bytes in memory (reads past the end return short data, as a lying peer might). */
export function memorySource(shareNum: number, bytes: Uint8Array): ShareSource {
  return {
    shareNum,
    size: bytes.length,
    async read(offset, length) {
      return bytes.subarray(offset, offset + length);
    }
  };
}

/** Decode from whole shares; `null` marks a missing share. Throws NotEnoughSharesError etc. */
export async function decodeBytes(
  cap: PackCap | string,
  shares: (Uint8Array | null)[],
  opts: DecodeOptions & { report?: (r: DecodeReport) => void } = {}
): Promise<Uint8Array> {
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
