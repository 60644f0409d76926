// bench e2e's settling rule: a swarm's background is settled once a window is under the bound and within
// 0.8-1.25x of the window before it (neither falling nor rising), or quiet (a quarter of the bound), never on its
// first window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settledWindow } from '../../bench/e2e.ts';

test('a window settles the swarm only under the bound, and only quiet or neither falling nor rising against the one before', () => {
  assert.equal(settledWindow(10, null, 100), false, 'never the first window');
  assert.equal(settledWindow(3, null, 12), false, 'quiet, but the first window');
  assert.equal(settledWindow(46.1, 19.6, 102), false, 'rising (a 50-peer swarm still swinging, measured)');
  assert.equal(settledWindow(30, 48.6, 102), false, 'falling');
  // The ratio bounds, above the quiet level (a quarter of 1,000).
  assert.equal(settledWindow(400, 400, 1000), true);
  assert.equal(settledWindow(320, 400, 1000), true, '0.8x: the lowest that counts as steady');
  assert.equal(settledWindow(319, 400, 1000), false);
  assert.equal(settledWindow(500, 400, 1000), true, '1.25x: the highest that counts as steady');
  assert.equal(settledWindow(501, 400, 1000), false);
  assert.equal(settledWindow(1001, 1000, 1000), false, 'steady but over the bound');
  assert.equal(settledWindow(1000, 1000, 1000), true, 'at the bound');
  // Quiet: the ratio of two tiny windows means nothing.
  assert.equal(settledWindow(1.9, 0.1, 12), true, 'a 5-peer swarm swinging between 0.1% and 1.9% (measured)');
  assert.equal(settledWindow(25.5, 50, 102), true, 'quiet at a quarter of the bound, however it fell');
  assert.equal(settledWindow(25.6, 10, 102), false, 'rising above a quarter of the bound');
});
