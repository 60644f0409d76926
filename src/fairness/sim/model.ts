// The incentive model (docs/INCENTIVES.md). A population of N users; user i has a value a_i for
// backing up one unit of data and a cost b_i per unit of disk it offers, a ~ Exp(meanA), b ~ Exp(meanB)
// independent. Backing up one unit takes r = n/k units of space on others; each user can offer up to r
// units (the contribution the symmetric scheme asks of it). Welfare is per user (divide by N).
//
//   symmetric:  i backs up iff a_i >= r b_i (it must offer r units to store 1):  W = E[(a − r b)+]
//   optimum:    serve the m highest values from the m cheapest suppliers:  W = max_m (Σ_top m a − r Σ_cheapest m b) / N
//   monopoly:   sells backup at p_s, buys space at p_b per unit; serving m users needs m suppliers, so
//               p_s = m-th highest a, p_b = m-th lowest b; m maximizes profit m (p_s − r p_b);
//               W = users' surplus + profit = (Σ_top m a − r Σ_cheapest m b) / N at that m.
// Monte Carlo with common random numbers: one sample of standard exponentials, scaled by the means, so
// curves over a sweep are smooth and the output is deterministic for a seed.
import { mulberry32, standardExponentials } from './rng.ts';

export interface Welfare {
  optimum: number;
  symmetric: number;
  monopoly: number;
}

export interface Population {
  readonly size: number;
  /** Standard exponentials paired per user (for the symmetric scheme). */
  readonly ea: Float64Array;
  readonly eb: Float64Array;
  /** Prefix sums of ea sorted descending and eb sorted ascending (index m = sum of the first m). */
  readonly topA: Float64Array;
  readonly lowB: Float64Array;
  /** ea sorted descending, eb sorted ascending. */
  readonly sortedA: Float64Array;
  readonly sortedB: Float64Array;
}

export function samplePopulation(samples: number, seed: number): Population {
  const rnd = mulberry32(seed);
  const ea = standardExponentials(samples, rnd);
  const eb = standardExponentials(samples, rnd);
  const sortedA = Float64Array.from(ea).sort().reverse();
  const sortedB = Float64Array.from(eb).sort();
  const topA = new Float64Array(samples + 1);
  const lowB = new Float64Array(samples + 1);
  for (let i = 0; i < samples; i++) {
    topA[i + 1] = topA[i] + sortedA[i];
    lowB[i + 1] = lowB[i] + sortedB[i];
  }
  return { size: samples, ea, eb, topA, lowB, sortedA, sortedB };
}

export function symmetricWelfare(p: Population, meanA: number, meanB: number, r: number): number {
  let s = 0;
  for (let i = 0; i < p.size; i++) {
    const v = meanA * p.ea[i] - r * meanB * p.eb[i];
    if (v > 0) s += v;
  }
  return s / p.size;
}

const served = (p: Population, m: number, meanA: number, meanB: number, r: number) => meanA * p.topA[m] - r * meanB * p.lowB[m];

export function optimumWelfare(p: Population, meanA: number, meanB: number, r: number): { welfare: number; served: number } {
  // Σ_top m a − r Σ_cheapest m b is concave in m (decreasing increments): stop at the first loss.
  let m = 0;
  while (m < p.size && meanA * p.sortedA[m] - r * meanB * p.sortedB[m] > 0) m++;
  return { welfare: served(p, m, meanA, meanB, r) / p.size, served: m / p.size };
}

export function monopolyWelfare(
  p: Population,
  meanA: number,
  meanB: number,
  r: number
): { welfare: number; served: number; priceSell: number; priceBuy: number; profit: number } {
  let best = 0;
  let bestM = 0;
  for (let m = 1; m <= p.size; m++) {
    const margin = meanA * p.sortedA[m - 1] - r * meanB * p.sortedB[m - 1];
    if (margin <= 0) break; // margins only fall with m
    const profit = m * margin;
    if (profit > best) {
      best = profit;
      bestM = m;
    }
  }
  return {
    welfare: served(p, bestM, meanA, meanB, r) / p.size,
    served: bestM / p.size,
    priceSell: bestM ? meanA * p.sortedA[bestM - 1] : Infinity,
    priceBuy: bestM ? meanB * p.sortedB[bestM - 1] : 0,
    profit: best / p.size
  };
}

export function welfare(p: Population, meanA: number, meanB: number, r: number): Welfare {
  return {
    optimum: optimumWelfare(p, meanA, meanB, r).welfare,
    symmetric: symmetricWelfare(p, meanA, meanB, r),
    monopoly: monopolyWelfare(p, meanA, meanB, r).welfare
  };
}

// ---- closed forms (continuous population), for tests and docs --------------------------------------

/** E[(a − r b)+] for a ~ Exp(α), b ~ Exp(β): α² / (α + r β). */
export function symmetricExact(meanA: number, meanB: number, r: number): number {
  return (meanA * meanA) / (meanA + r * meanB);
}

/**
 * Welfare when serving a fraction D (highest values, cheapest suppliers):
 * W(D) = E[a; a ≥ α ln(1/D)] − r E[b; b ≤ −β ln(1−D)] = D α (1 + ln(1/D)) − r β (D + (1−D) ln(1−D)).
 */
export function servedWelfareExact(D: number, meanA: number, meanB: number, r: number): number {
  if (D <= 0) return 0;
  const value = D * meanA * (1 - Math.log(D));
  const cost = D >= 1 ? r * meanB : r * meanB * (D + (1 - D) * Math.log(1 - D));
  return value - cost;
}

/** Optimum of the continuous model: the D where the marginal value α ln(1/D) equals r β ln(1/(1−D)). */
export function optimumExact(meanA: number, meanB: number, r: number): number {
  let lo = 1e-12;
  let hi = 1 - 1e-12;
  for (let i = 0; i < 200; i++) {
    const D = (lo + hi) / 2;
    if (meanA * -Math.log(D) > r * meanB * -Math.log(1 - D)) lo = D;
    else hi = D;
  }
  return servedWelfareExact(lo, meanA, meanB, r);
}
