// The arithmetic of `npm run bench -- wan` (bench/wan.ts), without its namespaces: tc rates read as tc reads
// them (SI units, bits), and the result cell of a goal row names what bounds a row that misses its goal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GOAL_RATIO, overBounds, parseRate, verdict } from '../../bench/wan.ts';

test('parseRate reads tc rates in bits per second, SI units', () => {
  assert.equal(parseRate('40mbit'), 40e6);
  assert.equal(parseRate('500kbit'), 500e3);
  assert.equal(parseRate('1.5gbit'), 1.5e9);
  assert.equal(parseRate('10000bit'), 1e4);
  assert.equal(parseRate('40Mbit'), 40e6);
  for (const bad of ['40', '40mb', '40mbps', 'fast', '-1mbit', '1kbit']) assert.throws(() => parseRate(bad), /--rate/, bad);
});

test('verdict: pass within the goal, else FAIL naming the local work or the link as the bound', () => {
  const bound = 2;
  assert.deepEqual(verdict({ seconds: bound * GOAL_RATIO, boundSeconds: bound, ratio: GOAL_RATIO, floorSeconds: 1 }), { pass: true, note: null });
  // A 4 KiB edit: the link bound is tiny, re-reading the file is not.
  assert.deepEqual(verdict({ seconds: 9, boundSeconds: 0.4, ratio: 22.5, floorSeconds: 8 }), {
    pass: false,
    note: 'local work bounds it, not the link (unshaped 8.00 s, bound 0.40 s)'
  });
  assert.deepEqual(verdict({ seconds: 30, boundSeconds: 20, ratio: 1.5, floorSeconds: 5 }), {
    pass: false,
    note: 'the link bounds it (unshaped 5.00 s, bound 20.00 s)'
  });
  // Local work sets the bound, yet the shaped run took much longer than the unshaped one: said, with how much.
  assert.deepEqual(verdict({ seconds: 6, boundSeconds: 0.4, ratio: 15, floorSeconds: 3 }), {
    pass: false,
    note: 'local work bounds it, not the link (unshaped 3.00 s, bound 0.40 s); yet it took 2.00x the unshaped time'
  });
  assert.deepEqual(verdict({ seconds: 30, boundSeconds: 20, ratio: 1.5, floorSeconds: null }), { pass: false, note: 'no floor measured' });
  assert.equal(verdict({ seconds: null, boundSeconds: null, ratio: null, floorSeconds: 1 }).pass, false);
});

test('overBounds divides by the larger of the link bound and the unshaped floor', () => {
  assert.equal(overBounds({ seconds: 9, boundSeconds: 0.5, floorSeconds: 6 }), 1.5);
  assert.equal(overBounds({ seconds: 30, boundSeconds: 20, floorSeconds: 6 }), 1.5);
  assert.equal(overBounds({ seconds: 30, boundSeconds: 20, floorSeconds: null }), null);
});
