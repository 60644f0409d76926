import { test } from 'node:test';
import assert from 'node:assert/strict';
import { happiness, planPlacement } from '../../src/client/happiness.ts';

const pl = (o: Record<number, string[]>) => new Map(Object.entries(o).map(([k, v]) => [Number(k), new Set(v)]));

test('happiness counts distinct servers matched to distinct shares', () => {
  assert.equal(happiness(pl({})), 0);
  assert.equal(happiness(pl({ 0: ['a'], 1: ['b'], 2: ['c'] })), 3);
  // three shares on one server count once
  assert.equal(happiness(pl({ 0: ['a'], 1: ['a'], 2: ['a'] })), 1);
  // a matching needs augmenting paths: greedy 0->a would block 1
  assert.equal(happiness(pl({ 0: ['a', 'b'], 1: ['a'] })), 2);
  assert.equal(happiness(pl({ 0: ['a', 'b'], 1: ['a', 'b'], 2: ['a', 'b'] })), 2);
});

test('planPlacement spreads one share per server and reuses servers only when it must', () => {
  const plan = planPlacement(5, ['a', 'b', 'c', 'd', 'e', 'f'], new Map());
  assert.deepEqual([...plan.entries()], [[0, 'a'], [1, 'b'], [2, 'c'], [3, 'd'], [4, 'e']]);
  const few = planPlacement(5, ['a', 'b'], new Map());
  assert.equal(few.size, 5);
  assert.equal(new Set(few.values()).size, 2);
  const withExisting = planPlacement(3, ['a', 'b', 'c', 'd'], pl({ 1: ['c'] }));
  assert.deepEqual([...withExisting.entries()], [[0, 'a'], [2, 'b']]);
});
