// The idle collection: when it decides to collect, and that the collection it asks for frees dead buffers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fullGc, idleGcStep, IDLE_GC_MIN_BYTES, type IdleGcState } from '../../src/common/idle-gc.ts';

test('idleGcStep: collects once buffers grew past the floor and stopped moving; never while they move, never below the threshold', () => {
  const M = IDLE_GC_MIN_BYTES;
  const s: IdleGcState = { prev: -1, floor: 4 << 20 };
  assert.equal(idleGcStep(s, 200 << 20), false, 'no check before: nothing known about movement');
  assert.equal(idleGcStep(s, 120 << 20), false, 'moving (a transfer runs)');
  assert.equal(idleGcStep(s, 121 << 20), true, 'settled, 117 MiB above the floor');
  const t: IdleGcState = { prev: -1, floor: 4 << 20 };
  idleGcStep(t, 4 << 20);
  assert.equal(idleGcStep(t, (4 << 20) + M - 1), false, 'grew less than the threshold');
  assert.equal(idleGcStep(t, (4 << 20) + M - 1), false, 'settled, still under it');
  assert.equal(idleGcStep(t, (4 << 20) + M), true, 'settled at the threshold');
  // A collection of V8's own lowered the buffers: the floor follows, so an idle daemon is not collected again.
  const u: IdleGcState = { prev: -1, floor: 100 << 20 };
  idleGcStep(u, 10 << 20);
  assert.equal(u.floor, 10 << 20);
  assert.equal(idleGcStep(u, 10 << 20), false);
});

test('fullGc frees ArrayBuffers nothing references any more', async () => {
  const gc = fullGc();
  assert.equal(typeof gc, 'function');
  gc!();
  const base = process.memoryUsage().arrayBuffers;
  let bufs: Uint8Array[] | null = Array.from({ length: 8 }, () => new Uint8Array(8 << 20).fill(1));
  assert.ok(process.memoryUsage().arrayBuffers - base >= 60 << 20, 'the buffers are counted while referenced');
  assert.equal(bufs.length, 8);
  bufs = null;
  gc!();
  // V8 sweeps dead ArrayBuffers' memory on a background thread after the collection.
  for (let i = 0; i < 40 && process.memoryUsage().arrayBuffers - base > 16 << 20; i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(process.memoryUsage().arrayBuffers - base <= 16 << 20, `freed: ${process.memoryUsage().arrayBuffers - base} bytes left above the start`);
});
