// bench e2e's settling rule: a swarm's background is settled once a window is under the bound and within
// 0.8-1.25x of the window before it (neither falling nor rising), never on its first window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settledWindow } from '../../bench/e2e.ts';

test('a window settles the swarm only under the bound and neither falling nor rising against the one before', () => {
  assert.equal(settledWindow(10, null, 100), false, 'never the first window');
  assert.equal(settledWindow(46.1, 19.6, 102), false, 'rising (a 50-peer swarm still swinging, measured)');
  assert.equal(settledWindow(19.6, 48.6, 102), false, 'falling');
  assert.equal(settledWindow(20, 20, 102), true);
  assert.equal(settledWindow(16, 20, 102), true, '0.8x: the lowest that counts as steady');
  assert.equal(settledWindow(15.9, 20, 102), false);
  assert.equal(settledWindow(25, 20, 102), true, '1.25x: the highest that counts as steady');
  assert.equal(settledWindow(25.1, 20, 102), false);
  assert.equal(settledWindow(103, 100, 102), false, 'steady but over the bound');
  assert.equal(settledWindow(102, 100, 102), true, 'at the bound');
});
