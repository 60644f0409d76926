// Per-segment sealing: one key seals one file; segment j uses the 24-byte nonce
//   nonce = H(TAGS.segmentNonce)[0..16] || u64be(j)
// so HChaCha20 runs once per file key, and each segment is its own AEAD message (ciphertext || 16-byte tag).
import { TAG_BYTES, TAGS } from './constants.ts';
import { taggedHash } from './hash.ts';
import { deriveSubkey, openWithSubkey, sealStream, type XChaChaSubkey } from './xchacha20poly1305.ts';

export const SEGMENT_NONCE_PREFIX: Uint8Array = taggedHash(TAGS.segmentNonce).slice(0, 16);

export function segmentNonceTail(index: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(index));
  return b;
}

/** Full 24-byte nonce of segment `index` (for interop tests against other XChaCha implementations). */
export function segmentNonce(index: number): Uint8Array {
  const n = new Uint8Array(24);
  n.set(SEGMENT_NONCE_PREFIX); n.set(segmentNonceTail(index), 16);
  return n;
}

export interface SegmentSealer {
  /**
   * Seal plaintext pieces (concatenated) of segment `index` into `out`: one buffer, or consecutive views (the k data
   * blocks of a segment) filled in order, total length >= plaintext + 16. Returns bytes written; the rest of `out`
   * is left as it was.
   */
  sealInto(index: number, pieces: readonly Uint8Array[], out: Uint8Array | readonly Uint8Array[]): number;
  /** Open `sealed` (ciphertext || tag) of segment `index` into a new buffer. Throws DecryptError. */
  open(index: number, sealed: Uint8Array): Uint8Array;
}

export function segmentSealer(fileKey: Uint8Array): SegmentSealer {
  const sk: XChaChaSubkey = deriveSubkey(fileKey, SEGMENT_NONCE_PREFIX);
  return {
    sealInto(index, pieces, out) {
      const views = out instanceof Uint8Array ? [out] : out;
      let v = 0, w = 0, total = 0; // writing views[v] at offset w
      const put = (b: Uint8Array) => {
        for (let o = 0; o < b.length;) {
          if (v >= views.length) throw new RangeError('sealInto: output too small');
          const dst = views[v];
          const take = Math.min(b.length - o, dst.length - w);
          dst.set(o === 0 && take === b.length ? b : b.subarray(o, o + take), w);
          o += take; w += take;
          if (w === dst.length) { v++; w = 0; }
        }
        total += b.length;
      };
      put(sealStream(sk, segmentNonceTail(index), pieces, put));
      return total;
    },
    open(index, sealed) {
      const ctLen = sealed.length - TAG_BYTES;
      const out = new Uint8Array(Math.max(0, ctLen));
      openWithSubkey(sk, segmentNonceTail(index), sealed.subarray(0, ctLen), sealed.subarray(ctLen), out);
      return out;
    },
  };
}
