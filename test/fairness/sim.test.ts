// The incentive simulator: closed forms, orderings and monotonicity, determinism, the CLI's JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  samplePopulation,
  symmetricWelfare,
  optimumWelfare,
  monopolyWelfare,
  symmetricExact,
  optimumExact,
  simulateIncentives,
  renderChart
} from '../../src/fairness/sim/index.ts';
import { cli } from '../integration/helpers.ts';

const pop = samplePopulation(100_000, 7);
const close = (got: number, want: number, tol: number, what: string) => assert.ok(Math.abs(got - want) <= tol, `${what}: ${got} vs ${want}`);

test('with n/k = 1 the symmetric welfare is E[(a − b)+] = α²/(α + β)', () => {
  for (const [a, b] of [
    [1, 1],
    [1, 0.25],
    [2, 3]
  ]) {
    close(symmetricWelfare(pop, a, b, 1), symmetricExact(a, b, 1), 0.01 * a, `α=${a} β=${b}`);
    // and the closed form itself is E[(a − b)+] by direct numerical integration over b
    let s = 0;
    const steps = 20_000;
    for (let i = 0; i < steps; i++) {
      const x = ((i + 0.5) / steps) * 40 * b;
      s += (Math.exp(-x / b) / b) * a * Math.exp(-x / a) * ((40 * b) / steps);
    }
    close(s, symmetricExact(a, b, 1), 1e-4, 'integral');
  }
});

test('with α = r β the optimum is α ln 2 (half the users served, by symmetry)', () => {
  close(optimumExact(1, 0.6, 5 / 3), Math.log(2), 1e-9, 'exact');
  close(optimumWelfare(pop, 1, 0.6, 5 / 3).welfare, Math.log(2), 0.01, 'sampled');
  close(optimumWelfare(pop, 1, 0.6, 5 / 3).served, 0.5, 0.01, 'served');
});

test('the optimum dominates both mechanisms; welfare falls as space gets dearer', () => {
  let prev = { o: Infinity, s: Infinity, m: Infinity };
  for (const h of [0.05, 0.1, 0.3, 1, 3, 10, 30]) {
    const b = h / 2;
    const o = optimumWelfare(pop, 1, b, 2).welfare;
    const s = symmetricWelfare(pop, 1, b, 2);
    const m = monopolyWelfare(pop, 1, b, 2).welfare;
    assert.ok(o >= s - 1e-12 && o >= m - 1e-12, `h=${h}`);
    assert.ok(o <= prev.o && s <= prev.s && m <= prev.m + 0.005, `monotone at h=${h}`);
    prev = { o, s, m };
  }
  const mono = monopolyWelfare(pop, 1, 0.1, 2);
  assert.ok(mono.priceSell > 2 * mono.priceBuy, 'the monopoly sells above the cost of the space it buys');
});

test('sweep: symmetric wins for homogeneous cheap space, the monopoly above a threshold; deterministic', () => {
  const r = simulateIncentives({ samples: 20_000, points: 9 });
  assert.equal(r.points.length, 9);
  assert.ok(r.points[0].welfare.symmetric > r.points[0].welfare.monopoly);
  assert.ok(r.points.at(-1)!.welfare.monopoly > r.points.at(-1)!.welfare.symmetric);
  assert.ok(r.threshold !== null && r.threshold > 0.5 && r.threshold < 1.5, `threshold ${r.threshold}`);
  assert.deepEqual(simulateIncentives({ samples: 20_000, points: 9 }), r);
  // Welfare is homogeneous in (meanA, meanB): the threshold in h does not move with n/k.
  close(simulateIncentives({ samples: 20_000, points: 9, ratio: 3 }).threshold!, r.threshold!, 1e-9, 'threshold vs n/k');
  const svg = renderChart(r);
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal((svg.match(/<path /g) ?? []).length, 3);
});

test('p2pbackup sim incentives --json prints { model, points, threshold }; bad options exit 2', async () => {
  const r = await cli(['--json', 'sim', 'incentives', '--samples', '5000', '--points', '5', '--seed', '3']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(out), ['model', 'points', 'threshold']);
  assert.deepEqual(Object.keys(out.points[0]), ['heterogeneity', 'welfare']);
  assert.deepEqual(Object.keys(out.points[0].welfare).sort(), ['monopoly', 'optimum', 'symmetric']);
  assert.equal(out.model.seed, 3);
  const bad = await cli(['sim', 'incentives', '--ratio', '0.5']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /n\/k/);
});
