// The idle collection: when it decides to collect, and that the collection it asks for frees dead buffers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getHeapSpaceStatistics } from 'node:v8';
import { BufferPool } from '../../src/common/buffer-pool.ts';
import { fullGc, idleGcStep, IDLE_GC_MIN_BYTES, startIdleGc, WORK_GC_MIN_BYTES, WORK_SWITCH_GC_MIN_BYTES, type IdleGcState } from '../../src/common/idle-gc.ts';

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

/** Old-generation bytes V8 holds beyond what is in use (pages kept after a collection). */
const oldSlack = () => {
  const s = getHeapSpaceStatistics().find((x) => x.space_name === 'old_space')!;
  return s.space_size - s.space_used_size;
};

test('fullGc compacts the heap: the old generation gives back the pages of objects that died there', () => {
  const gc = fullGc()!;
  gc();
  // ~40 MiB of small objects that live long enough to be promoted, then die together, leaving holes between
  // survivors (every 64th kept) that only a compaction frees page by page.
  let live: unknown[][] | null = [];
  for (let i = 0; i < 16; i++) {
    live.push(Array.from({ length: 65_536 }, (_, j) => ({ i, j, s: 'x'.repeat(8) + j })));
    if (i % 4 === 3) gc(); // promoted
  }
  const kept = live.map((a) => a.filter((_, j) => j % 64 === 0));
  live = null;
  gc();
  const slack = oldSlack();
  assert.ok(kept.length === 16);
  assert.ok(slack < 8 << 20, `old space keeps ${(slack / 1048576).toFixed(1)} MiB it does not use`);
});

test('workEnded: once no operation runs, the pools let go and one collection runs before it returns; never while one runs', () => {
  const pool = new BufferPool({ maxBytes: 4 << 20, idleMs: 60_000 });
  let busy = true;
  const collected: string[] = [];
  const idle = startIdleGc({ checkMs: 3_600_000, workMinBytes: 0, busy: () => busy, onCollect: (_b, _a, why) => collected.push(why) });
  try {
    pool.give(pool.take(1 << 20));
    assert.equal(idle.workEnded(), 'busy');
    assert.deepEqual(collected, [], 'an operation still runs: nothing collected');
    assert.equal(pool.bytesHeld, 1 << 20, 'and the pool keeps its buffer');
    busy = false;
    assert.equal(idle.workEnded(), 'collected');
    assert.deepEqual(collected, ['work ended'], 'collected at once: the operation answers after it');
    assert.equal(pool.bytesHeld, 0);
    idle.stop();
    assert.equal(idle.workEnded(), 'stopped');
    assert.deepEqual(collected, ['work ended'], 'stopped: no more collections');
  } finally {
    idle.stop();
  }
});

test('workEnded: a daemon that did not grow WORK_GC_MIN_BYTES since its last collection waits for the idle checks', () => {
  const pool = new BufferPool({ maxBytes: 4 << 20, idleMs: 60_000 });
  const collected: string[] = [];
  const idle = startIdleGc({ checkMs: 3_600_000, busy: () => false, onCollect: (_b, _a, why) => collected.push(why) });
  let grown: Uint8Array | null = null;
  try {
    pool.give(pool.take(1 << 20));
    assert.equal(idle.workEnded(), 'small');
    assert.deepEqual(collected, [], 'nothing grew: no collection');
    assert.equal(pool.bytesHeld, 1 << 20, 'and the pools keep their buffers');
    grown = new Uint8Array(WORK_GC_MIN_BYTES + (16 << 20)).fill(1); // resident: every page written
    idle.workEnded();
    assert.deepEqual(collected, ['work ended'], `grew ${WORK_GC_MIN_BYTES >> 20} MiB and more: collected`);
    assert.equal(pool.bytesHeld, 0);
    assert.equal(idle.workEnded(), 'small');
    assert.deepEqual(collected, ['work ended'], 'measured from what the collection left: not again');
  } finally {
    assert.ok(grown === null || grown.length > 0);
    idle.stop();
  }
});

test('the idle checks do not collect while an operation runs, and do once it has ended and buffers settled', async () => {
  let busy = true;
  const collected: string[] = [];
  const idle = startIdleGc({ checkMs: 20, minBytes: 1 << 20, busy: () => busy, onCollect: (_b, _a, why) => collected.push(why) });
  const held: Uint8Array[] = [];
  try {
    for (let i = 0; i < 4; i++) held.push(new Uint8Array(1 << 20).fill(1)); // grown past the floor, then still
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(collected, [], 'busy: no collection however settled');
    busy = false;
    for (let i = 0; i < 50 && !collected.length; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(collected, ['idle']);
    await new Promise((r) => setTimeout(r, 120));
    assert.deepEqual(collected, ['idle'], 'settled at what the collection left: not again');
  } finally {
    idle.stop();
    assert.equal(held.length, 4);
  }
});

test('without a busy callback nothing counts as running: the checks run and workEnded weighs only the growth', async () => {
  const collected: string[] = [];
  const idle = startIdleGc({ checkMs: 10, workMinBytes: 0, onCollect: (_b, _a, why, ms) => collected.push(`${why} ${ms >= 0}`) });
  try {
    await new Promise((r) => setTimeout(r, 50)); // a few checks: none may throw
    assert.equal(idle.workEnded(), 'collected');
    assert.deepEqual(collected.slice(-1), ['work ended true']);
  } finally {
    idle.stop();
  }
});

test('workStarting: an operation of another kind than the last starts from a collection; one of the same kind, or not alone, does not', () => {
  const pool = new BufferPool({ maxBytes: 4 << 20, idleMs: 60_000 });
  const collected: string[] = [];
  const idle = startIdleGc({ checkMs: 3_600_000, switchMinBytes: 0, workMinBytes: Number.MAX_SAFE_INTEGER, onCollect: (_b, _a, why) => collected.push(why) });
  try {
    pool.give(pool.take(1 << 20));
    assert.equal(idle.workStarting('backup', true), 'same', 'the first operation: nothing ran before it');
    assert.equal(idle.workEnded(), 'small');
    assert.equal(idle.workStarting('backup', true), 'same', 'backups back to back keep their heap');
    assert.deepEqual(collected, []);
    assert.equal(pool.bytesHeld, 1 << 20);
    assert.equal(idle.workStarting('restore', false), 'busy', 'another operation runs: its buffers are in use');
    assert.deepEqual(collected, []);
    assert.equal(idle.workStarting('restore', true), 'same', 'the last kind was restore (the busy one)');
    assert.equal(idle.workStarting('backup', true), 'collected');
    assert.deepEqual(collected, ['work starting'], 'collected before the backup did anything');
    assert.equal(pool.bytesHeld, 0, 'the pools let go first');
    idle.stop();
    assert.equal(idle.workStarting('restore', true), 'stopped');
    assert.deepEqual(collected, ['work starting']);
  } finally {
    idle.stop();
  }
});

test('workStarting: a daemon that did not grow WORK_SWITCH_GC_MIN_BYTES since its last collection does not collect', () => {
  const collected: string[] = [];
  const idle = startIdleGc({ checkMs: 3_600_000, workMinBytes: Number.MAX_SAFE_INTEGER, onCollect: (_b, _a, why) => collected.push(why) });
  let grown: Uint8Array | null = null;
  try {
    idle.workStarting('backup', true);
    assert.equal(idle.workStarting('restore', true), 'small');
    assert.deepEqual(collected, []);
    grown = new Uint8Array(WORK_SWITCH_GC_MIN_BYTES + (16 << 20)).fill(1); // resident: every page written
    assert.equal(idle.workStarting('backup', true), 'collected', `grew ${WORK_SWITCH_GC_MIN_BYTES >> 20} MiB and more`);
    assert.equal(idle.workStarting('restore', true), 'small', 'measured from what the collection left: not again');
    assert.deepEqual(collected, ['work starting']);
  } finally {
    assert.ok(grown === null || grown.length > 0);
    idle.stop();
  }
});
