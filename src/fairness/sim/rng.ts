// A small seeded PRNG (mulberry32) so the simulator's output is the same on every run and machine.

/** Uniform in (0, 1), never 0 (so −ln u is finite). */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297;
  };
}

/** `count` draws of a standard exponential (mean 1); scale by a mean to get Exp(mean). */
export function standardExponentials(count: number, rnd: () => number): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = -Math.log(rnd());
  return out;
}
