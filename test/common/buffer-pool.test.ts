import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { BufferPool, releaseAllPools } from '../../src/common/buffer-pool.ts';
import { packPool } from '../../src/repo/pack-cache.ts';
import { PACK_TARGET_BYTES } from '../../src/repo/constants.ts';
import { fullGc } from '../../src/common/idle-gc.ts';

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

test('a full pool makes room for a bigger buffer by letting smaller ones go, the smallest first', () => {
  const pool = new BufferPool({ maxBytes: 256 * KiB, idleMs: 60_000, unit: 64 * KiB });
  const small = pool.take(64 * KiB);
  const mid = pool.take(128 * KiB);
  const same = pool.take(128 * KiB);
  const big = pool.take(192 * KiB);
  const huge = pool.take(320 * KiB);
  pool.give(small);
  pool.give(mid);
  assert.equal(pool.bytesHeld, 192 * KiB);
  pool.give(same); // 320 KiB would be over: the smallest (64 KiB) goes, mid stays
  assert.equal(pool.bytesHeld, 256 * KiB);
  pool.give(big); // 192 KiB: both 128 KiB buffers go
  assert.equal(pool.bytesHeld, 192 * KiB);
  const other = pool.take(1); // a new one (the 192 KiB is held back below)
  pool.give(other); // 64 KiB, nothing smaller to let go and no room: not kept
  assert.equal(pool.bytesHeld, 192 * KiB);
  pool.give(huge); // more than maxBytes on its own: never kept
  assert.equal(pool.bytesHeld, 192 * KiB);
  assert.equal(pool.take(100 * KiB).buffer, big.buffer);
  assert.equal(pool.bytesHeld, 0);
  assert.notEqual(pool.take(64 * KiB).buffer, small.buffer); // let go: a new one
});

test('packs read one after another come from the pack pool once the small first reads are gone', () => {
  // A restore's reads (PackCache, Repository.readRange): a few small blobs read alone (a snapshot, trees), the
  // packer's first packs of a run (1, 2 and 4 MiB), then 6-8 MiB packs (PACK_TARGET_BYTES); each pack is given back
  // once two newer ones are in use. Before, the small buffers filled the pool and every full pack was read into a
  // fresh buffer.
  const MiB = 1 << 20;
  assert.equal(PACK_TARGET_BYTES, 8 * MiB, 'the sizes below are those of 8 MiB packs');
  packPool.clear();
  const before = packPool.allocated;
  const sizes = [0.3, 0.8, 0.5, 1, 2, 4, 7.65, 7.95, 7.55, 8, 7.75, 6.1, 7.9, 8, 7.6, 7.85, 7.95, 7.7, 8, 7.8, 7.55, 7.95, 8].map((m) => Math.round(m * MiB));
  const inUse: Uint8Array[] = [];
  for (const size of sizes) {
    const b = packPool.take(size);
    assert.equal(b.length, size);
    inUse.push(b);
    if (inUse.length > 2) packPool.give(inUse.shift()!);
  }
  // At most three buffers of a full pack (two in use, one in the pool) besides the small ones (2 MiB units).
  assert.ok(packPool.allocated - before <= (3 * 2 + 2 + 2 + 4 + 3 * 8) * MiB, `${(packPool.allocated - before) / MiB} MiB allocated`);
  packPool.clear();
});

test('making room lets go of no more than needed, the smallest first, and never a buffer as big as the new one', () => {
  const pool = new BufferPool({ maxBytes: 320 * KiB, idleMs: 60_000, unit: 64 * KiB });
  const [mid, small, x] = [pool.take(128 * KiB), pool.take(64 * KiB), pool.take(192 * KiB)];
  assert.equal(pool.allocated, 384 * KiB);
  pool.give(mid);
  pool.give(small); // kept after mid: in the order given, mid would go first
  pool.give(x); // 384 KiB would be over: small goes (exactly 320 then), mid stays
  assert.equal(pool.bytesHeld, 320 * KiB);
  assert.equal(pool.take(100 * KiB).buffer, mid.buffer);
  assert.equal(pool.take(100 * KiB).buffer, x.buffer);
  assert.equal(pool.allocated, 384 * KiB, 'both served from the pool');

  const even = new BufferPool({ maxBytes: 256 * KiB, idleMs: 60_000, unit: 64 * KiB });
  const [a, b, c] = [even.take(128 * KiB), even.take(128 * KiB), even.take(128 * KiB)];
  even.give(a);
  even.give(b);
  even.give(c); // as big as each kept one: none goes for it, and it is not kept
  assert.deepEqual(
    [even.take(128 * KiB).buffer, even.take(128 * KiB).buffer].map((t) => t === c.buffer),
    [false, false]
  );
  const whole = new BufferPool({ maxBytes: 256 * KiB, idleMs: 60_000, unit: 64 * KiB });
  const all = whole.take(256 * KiB);
  whole.give(all); // exactly maxBytes: kept
  assert.equal(whole.bytesHeld, 256 * KiB);
});

test('releaseAllPools lets every pool keep nothing; buffers still in use come back to their pool as before', () => {
  const p = new BufferPool({ maxBytes: 1 << 20, idleMs: 60_000, unit: 64 * KiB });
  const q = new BufferPool({ maxBytes: 1 << 20, idleMs: 60_000, unit: 64 * KiB });
  const a = p.take(64 * KiB);
  const b = q.take(64 * KiB);
  const inUse = p.take(64 * KiB);
  p.give(a);
  q.give(b);
  assert.equal(p.bytesHeld + q.bytesHeld, 128 * KiB);
  releaseAllPools();
  assert.equal(p.bytesHeld, 0);
  assert.equal(q.bytesHeld, 0);
  assert.equal(p.buffersHeld + q.buffersHeld, 0);
  p.give(inUse);
  assert.equal(p.bytesHeld, 64 * KiB, 'a buffer taken before the release is still one of the pool');
  assert.equal(p.take(64 * KiB).buffer, inUse.buffer);
});

test('releaseAllPools passes over pools that are gone (collected) and still clears the others', async () => {
  const gc = fullGc()!;
  const kept = new BufferPool({ maxBytes: 1 << 20, idleMs: 60_000 });
  kept.give(kept.take(64 * KiB));
  (() => {
    const gone = new BufferPool({ maxBytes: 1 << 20, idleMs: 60_000 }); // nothing kept: no timer holds it
    assert.equal(gone.take(64 * KiB).length, 64 * KiB);
  })();
  await new Promise((r) => setImmediate(r)); // a WeakRef's target is kept until the job that made it ends
  gc();
  releaseAllPools();
  assert.equal(kept.bytesHeld, 0);
});
