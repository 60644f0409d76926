// Seeded randomness and byte-level mutations for bench/fuzz.ts and its targets (bench/fuzz-targets.ts).
/** Deterministic PRNG (mulberry32): a seed reproduces a run exactly. */
export type Rng = () => number;
export function rng(seed: number): Rng {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
export const int = (r: Rng, n: number) => Math.floor(r() * n);
export const pick = <T>(r: Rng, xs: readonly T[]): T => xs[int(r, xs.length)];
export function randomBytes(r: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = int(r, 256);
  return b;
}

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x20, 0x22, 0x3a, 0x5c];

/** Byte-level mutations of one input (any target whose input is bytes). `other` is another seed to splice with. */
export function mutateBytes(input: Uint8Array, r: Rng, other?: Uint8Array): Uint8Array {
  const b = Uint8Array.from(input);
  const at = () => int(r, Math.max(1, b.length));
  switch (int(r, 9)) {
    case 0:
      if (b.length) b[at()] ^= 1 << int(r, 8);
      return b;
    case 1:
      return b.subarray(0, int(r, b.length + 1));
    case 2: {
      const i = at();
      return concat(b.subarray(0, i), randomBytes(r, 1 + int(r, 16)), b.subarray(i));
    }
    case 3:
      for (let k = 1 + int(r, 8); k > 0 && b.length; k--) b[at()] = int(r, 256);
      return b;
    case 4:
      if (b.length) b[at()] = pick(r, INTERESTING);
      return b;
    case 5: {
      const i = at();
      const j = i + int(r, 64);
      return concat(b.subarray(0, j), b.subarray(i, j), b.subarray(j));
    } // duplicate a slice
    case 6: {
      const i = at();
      return concat(b.subarray(0, i), b.subarray(Math.min(b.length, i + 1 + int(r, 32))));
    } // cut a slice
    case 7:
      if (b.length >= 4) {
        const i = int(r, b.length - 3);
        new DataView(b.buffer, b.byteOffset).setUint32(i, pick(r, [0, 1, 0x7fffffff, 0xffffffff, b.length, b.length + 1]));
      }
      return b;
    default:
      return other ? concat(b.subarray(0, at()), other.subarray(int(r, other.length + 1))) : b;
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
