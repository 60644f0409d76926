import type { ShareSource } from '../../src/format/index.ts';

/** Deterministic pseudo-random bytes (xorshift32) so tests and vectors don't depend on the OS RNG. */
export function prng(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** A ShareSource over bytes that logs every read. */
export function countingSource(shareNum: number, bytes: Uint8Array, log: { share: number; offset: number; length: number }[]): ShareSource {
  return {
    shareNum,
    size: bytes.length,
    async read(offset, length) {
      log.push({ share: shareNum, offset, length });
      return bytes.subarray(offset, offset + length);
    }
  };
}

export function pickSubset(n: number, k: number, rnd: () => number): number[] {
  const idx = [...Array(n).keys()];
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, k).sort((a, b) => a - b);
}

export function keep(shares: Uint8Array[], subset: number[]): (Uint8Array | null)[] {
  return shares.map((s, i) => (subset.includes(i) ? s : null));
}

import { encodePack, type EncodeOptions } from '../../src/format/index.ts';
/** encodePack as the tests use it: the options of format 1 tests that no longer apply are ignored. */
export function encodeBytes(bytes: Uint8Array, opts: EncodeOptions & Record<string, unknown>) {
  return encodePack(bytes, { k: opts.k, n: opts.n, segmentSize: opts.segmentSize, signal: opts.signal });
}
