import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { BufferPool } from '../../src/common/buffer-pool.ts';

const KiB = 1024;

test('a given buffer is handed out again, the smallest that fits, capacities rounded up to the unit', () => {
  const pool = new BufferPool({ maxBytes: 1 << 20, idleMs: 60_000, unit: 64 * KiB });
  const a = pool.take(100 * KiB);
  assert.equal(a.length, 100 * KiB);
  assert.equal(a.buffer.byteLength, 128 * KiB);
  const b = pool.take(300 * KiB);
  assert.equal(b.buffer.byteLength, 320 * KiB);
  pool.give(b);
  pool.give(a);
  assert.equal(pool.bytesHeld, 448 * KiB);
  const c = pool.take(120 * KiB); // both fit: the smaller one
  assert.equal(c.buffer, a.buffer);
  assert.equal(c.length, 120 * KiB);
  const d = pool.take(129 * KiB); // only b fits
  assert.equal(d.buffer, b.buffer);
  assert.equal(pool.bytesHeld, 0);
  const e = pool.take(10); // none left: a new one of one unit
  assert.notEqual(e.buffer, a.buffer);
  assert.equal(e.buffer.byteLength, 64 * KiB);
});

test('the pool keeps at most maxBytes, a buffer given twice once, none it did not make', () => {
  const pool = new BufferPool({ maxBytes: 256 * KiB, idleMs: 60_000, unit: 64 * KiB });
  const a = pool.take(128 * KiB);
  const b = pool.take(128 * KiB);
  const c = pool.take(64 * KiB);
  pool.give(a);
  pool.give(a);
  assert.equal(pool.bytesHeld, 128 * KiB);
  pool.give(b);
  pool.give(c); // over maxBytes: dropped
  assert.equal(pool.bytesHeld, 256 * KiB);
  const taken = [pool.take(1), pool.take(1), pool.take(1)];
  assert.deepEqual(
    taken.map((t) => [a.buffer, b.buffer].includes(t.buffer as ArrayBuffer)),
    [true, true, false]
  );
  pool.give(new Uint8Array(64 * KiB)); // not one of ours (its owner may still use it)
  pool.give(new BufferPool({ maxBytes: 1 << 20, idleMs: 60_000, unit: 64 * KiB }).take(64 * KiB)); // another pool's
  assert.equal(pool.bytesHeld, 0);
});

test('an unused pool lets its buffers go after idleMs; a take or give restarts the wait', async () => {
  const pool = new BufferPool({ maxBytes: 1 << 20, idleMs: 150, unit: 64 * KiB });
  pool.give(pool.take(64 * KiB));
  await sleep(90);
  pool.give(pool.take(64 * KiB)); // used again: the wait starts over
  await sleep(90);
  assert.equal(pool.bytesHeld, 64 * KiB);
  await sleep(150);
  assert.equal(pool.bytesHeld, 0);
  const a = pool.take(64 * KiB);
  pool.give(a);
  pool.clear();
  assert.equal(pool.bytesHeld, 0);
  assert.notEqual(pool.take(64 * KiB).buffer, a.buffer);
});

test('best fit: not the first or the last that fits, and never one too small', () => {
  const pool = new BufferPool({ maxBytes: 1 << 20, idleMs: 60_000, unit: 64 * KiB });
  const small = pool.take(64 * KiB);
  const a = pool.take(128 * KiB);
  const b = pool.take(320 * KiB);
  const c = pool.take(192 * KiB);
  for (const x of [small, a, c, b]) pool.give(x);
  assert.equal(pool.take(150 * KiB).buffer, c.buffer); // fits: c (192) and b (320); a and small are too small
  assert.equal(pool.take(64 * KiB).buffer, small.buffer); // exactly one unit: the smallest
  assert.equal(pool.take(300 * KiB).buffer, b.buffer);
  const fresh = pool.take(200 * KiB); // only a (128) is left: a new buffer
  assert.notEqual(fresh.buffer, a.buffer);
  assert.equal(fresh.buffer.byteLength, 256 * KiB);
  assert.equal(pool.bytesHeld, 128 * KiB);
});
