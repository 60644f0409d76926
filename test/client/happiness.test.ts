import { test } from 'node:test';
import assert from 'node:assert/strict';
import { happiness } from '../../src/client/happiness.ts';

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
