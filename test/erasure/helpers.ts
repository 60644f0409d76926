// Deterministic random shards for the erasure tests.
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

export function randomShards(count: number, len: number, seed: number): Uint8Array[] {
  const r = rng(seed);
  return Array.from({ length: count }, () => {
    const a = new Uint8Array(len);
    for (let i = 0; i < len; i += 4) {
      const v = r();
      a[i] = v;
      if (i + 1 < len) a[i + 1] = v >>> 8;
      if (i + 2 < len) a[i + 2] = v >>> 16;
      if (i + 3 < len) a[i + 3] = v >>> 24;
    }
    return a;
  });
}

/** All subsets of {0..n-1} of size `size`. */
export function subsets(n: number, size: number): number[][] {
  const out: number[][] = [];
  const walk = (start: number, acc: number[]) => {
    if (acc.length === size) {
      out.push([...acc]);
      return;
    }
    for (let i = start; i < n; i++) walk(i + 1, [...acc, i]);
  };
  walk(0, []);
  return out;
}
