// `p2pbackup sim incentives`: sweep heterogeneity h = r · meanB / meanA (the expected cost of the space
// one backup needs over the expected value of a backup) and compare the optimum, the symmetric scheme
// and a revenue-maximizing monopoly; find the h above which the monopoly's welfare beats the scheme's.
import { monopolyWelfare, samplePopulation, welfare, symmetricWelfare, type Population, type Welfare } from './model.ts';

export interface IncentivesInit {
  /** Users sampled (Monte Carlo), default 200,000. */
  samples?: number;
  seed?: number;
  /** n/k, default 5/3 (the default 3-of-5 encoding). */
  ratio?: number;
  /** Mean value of a backup, default 1. The sweep keeps it fixed. */
  meanA?: number;
  /** Mean cost per unit of space at the base point, default 0.3 (reported as model.base). */
  meanB?: number;
  /** Sweep: `points` values of h, log-spaced from hMin to hMax (defaults 0.1, 10, 13). */
  hMin?: number;
  hMax?: number;
  points?: number;
}

export interface IncentivesPoint {
  heterogeneity: number;
  meanB: number;
  welfare: Welfare;
}

export interface IncentivesResult {
  model: {
    distribution: 'exponential';
    heterogeneity: string;
    ratio: number;
    meanA: number;
    meanB: number;
    samples: number;
    seed: number;
    base: IncentivesPoint;
  };
  points: IncentivesPoint[];
  /** Smallest h at which the monopoly's welfare exceeds the symmetric scheme's (null if not in the sweep). */
  threshold: number | null;
}

export const SIM_DEFAULTS = { samples: 200_000, seed: 1, ratio: 5 / 3, meanA: 1, meanB: 0.3, hMin: 0.1, hMax: 10, points: 13 } as const;

export function simulateIncentives(init: IncentivesInit = {}): IncentivesResult {
  const o = { ...SIM_DEFAULTS, ...Object.fromEntries(Object.entries(init).filter(([, v]) => v !== undefined)) } as Required<IncentivesInit>;
  check(o);
  const pop = samplePopulation(o.samples, o.seed);
  const at = (h: number): IncentivesPoint => {
    const meanB = (h * o.meanA) / o.ratio;
    return { heterogeneity: h, meanB, welfare: welfare(pop, o.meanA, meanB, o.ratio) };
  };
  const hs = Array.from({ length: o.points }, (_, i) => (o.points === 1 ? o.hMin : o.hMin * (o.hMax / o.hMin) ** (i / (o.points - 1))));
  const points = hs.map(at);
  return {
    model: {
      distribution: 'exponential',
      heterogeneity: 'h = ratio * meanB / meanA (cost of the space one backup needs / value of a backup); the sweep keeps meanA and varies meanB',
      ratio: o.ratio,
      meanA: o.meanA,
      meanB: o.meanB,
      samples: o.samples,
      seed: o.seed,
      base: at((o.ratio * o.meanB) / o.meanA)
    },
    points,
    threshold: findThreshold(pop, o, points)
  };
}

/** The first sign change of monopoly − symmetric along the sweep, refined by bisection on the same sample. */
function findThreshold(pop: Population, o: Required<IncentivesInit>, points: IncentivesPoint[]): number | null {
  const diff = (h: number) => {
    const meanB = (h * o.meanA) / o.ratio;
    return monopolyWelfare(pop, o.meanA, meanB, o.ratio).welfare - symmetricWelfare(pop, o.meanA, meanB, o.ratio);
  };
  for (let i = 0; i < points.length; i++) {
    const w = points[i].welfare;
    if (w.monopoly > w.symmetric) {
      if (i === 0) return null; // the monopoly already wins at the low end: no crossing inside the sweep
      let lo = points[i - 1].heterogeneity;
      let hi = points[i].heterogeneity;
      for (let k = 0; k < 40; k++) {
        const mid = Math.sqrt(lo * hi);
        if (diff(mid) > 0) hi = mid;
        else lo = mid;
      }
      return hi;
    }
  }
  return null;
}

function check(o: Required<IncentivesInit>): void {
  const bad = (msg: string) => {
    throw new RangeError(msg);
  };
  if (!Number.isInteger(o.samples) || o.samples < 100 || o.samples > 10_000_000) bad('samples must be an integer 100..10,000,000');
  if (!Number.isInteger(o.seed) || o.seed < 0) bad('seed must be a non-negative integer');
  for (const k of ['ratio', 'meanA', 'meanB', 'hMin', 'hMax'] as const) if (!(Number.isFinite(o[k]) && o[k] > 0)) bad(`${k} must be a positive number`);
  if (o.ratio < 1) bad('ratio is n/k and must be >= 1');
  if (o.hMax < o.hMin) bad('hMax must be >= hMin');
  if (!Number.isInteger(o.points) || o.points < 1 || o.points > 200) bad('points must be an integer 1..200');
}

/** The human table: one line per point, the best mechanism other than the optimum marked. */
export function formatTable(r: IncentivesResult): string {
  const f = (x: number) => x.toFixed(4).padStart(9);
  const lines = [
    `model: a ~ Exp(${r.model.meanA}), b ~ Exp(h * ${r.model.meanA} / ${fmt(r.model.ratio)}), n/k = ${fmt(r.model.ratio)}, ${r.model.samples} users, seed ${r.model.seed}`,
    `${'h'.padStart(8)} ${'optimum'.padStart(9)} ${'symmetric'.padStart(9)} ${'monopoly'.padStart(9)}  better`,
    ...r.points.map(
      (p) =>
        `${p.heterogeneity.toFixed(3).padStart(8)} ${f(p.welfare.optimum)} ${f(p.welfare.symmetric)} ${f(p.welfare.monopoly)}  ${p.welfare.monopoly > p.welfare.symmetric ? 'monopoly' : 'symmetric'}`
    ),
    r.threshold === null ? 'threshold: none in this sweep' : `threshold: the monopoly beats the symmetric scheme for h > ${r.threshold.toFixed(3)}`
  ];
  return lines.join('\n');
}

const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(3));
