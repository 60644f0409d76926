// Durability estimate (docs/HEALTH.md "Durability"): pure maths, no I/O.
// A file is recoverable when at least k of its distinct shares are on peers that are up. With one share per
// host (the matching repair maintains) and host i up with probability p_i, independently, the number of shares
// up is Poisson-binomial; P[recoverable] = P[X >= k], computed by dynamic programming in O(hosts * k).

/** P[at least k successes] for independent Bernoulli(p_i). */
export function atLeast(k: number, ps: number[]): number {
  if (k <= 0) return 1;
  if (ps.length < k) return 0;
  // dist[j] = P[exactly j successes so far], capped at k (j = k means "k or more").
  let dist = new Float64Array(k + 1);
  dist[0] = 1;
  for (const p of ps) {
    const next = new Float64Array(k + 1);
    for (let j = 0; j <= k; j++) {
      if (!dist[j]) continue;
      next[Math.min(k, j + 1)] += dist[j] * p;
      next[j] += dist[j] * (1 - p);
    }
    dist = next;
  }
  return Math.min(1, Math.max(0, dist[k]));
}

/**
 * P[a file is recoverable]: its holders (shareNum -> peers) reduced to one host per share (the best-available
 * holder of each share, each host used once), then Poisson-binomial over those hosts.
 */
export function fileDurability(k: number, holders: Record<string, string[]>, availability: (peer: string) => number): number {
  const used = new Set<string>();
  const ps: number[] = [];
  const shares = Object.values(holders).map((peers) => [...peers].sort((a, b) => availability(b) - availability(a)));
  for (const peers of shares.sort((a, b) => a.length - b.length)) {
    const peer = peers.find((p) => !used.has(p));
    if (!peer) continue;
    used.add(peer);
    ps.push(availability(peer));
  }
  return atLeast(k, ps);
}

/** A snapshot needs every one of its objects: the product over files (independence), and the weakest file. */
export function snapshotDurability(files: number[]): { probability: number; weakest: number } {
  let probability = 1;
  let weakest = 1;
  for (const f of files) {
    probability *= f;
    weakest = Math.min(weakest, f);
  }
  return { probability, weakest };
}
