import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool } from '../../src/common/buffer-pool.ts';
import { encodePack } from '../../src/format/index.ts';
import { parseCap, type PackCap } from '../../src/caps/index.ts';
import { PackCache } from '../../src/repo/pack-cache.ts';
import type { PackStore } from '../../src/repo/types.ts';
import { prng } from '../format/helpers.ts';

const SIZE = 3000;

function packs(count: number): { cap: PackCap; bytes: Uint8Array }[] {
  return Array.from({ length: count }, (_, i) => {
    const bytes = prng(SIZE, i + 1);
    const r = encodePack(bytes, { k: 2, n: 3, segmentSize: 1024 });
    return { cap: typeof r.cap === 'string' ? (parseCap(r.cap) as PackCap) : (r.cap as PackCap), bytes };
  });
}

/** A store whose reads wait for `open()` and then write the pack into the caller's buffer. */
function gatedStore(all: { cap: PackCap; bytes: Uint8Array }[]) {
  let open!: () => void;
  let gate = new Promise<void>((r) => (open = r));
  const reads: Uint8Array[] = [];
  const store: PackStore = {
    async putPack() {
      throw new Error('not here');
    },
    async readPack(cap, o = {}) {
      const p = all.find((x) => x.cap.size === cap.size && x.cap.uebHash.every((b, i) => b === cap.uebHash[i]))!;
      await gate;
      if (!o.into) throw new Error('the cache reads into a pooled buffer');
      reads.push(o.into);
      o.into.set(p.bytes);
      return o.into.subarray(0, p.bytes.length);
    }
  };
  return {
    store,
    reads,
    open: () => open(),
    close: () => (gate = new Promise<void>((r) => (open = r)))
  };
}

test('a dropped pack goes back to the pool only once no caller uses it; the next read reuses it', async () => {
  const [a, b, c] = packs(3);
  const pool = new BufferPool({ maxBytes: 1 << 24, idleMs: 60_000, unit: 4096 });
  const s = gatedStore([a, b, c]);
  const cache = new PackCache(s.store, SIZE, pool); // room for one pack
  const seenA = cache.use(a.cap, undefined, (bytes) => Buffer.from(bytes));
  const seenB = cache.use(b.cap, undefined, (bytes) => Buffer.from(bytes)); // drops A while its caller waits
  await new Promise((r) => setImmediate(r));
  assert.equal(pool.bytesHeld, 0, "A's buffer is not handed back while its caller waits for it");
  s.open();
  assert.deepEqual(new Uint8Array(await seenA), a.bytes, 'the caller of a dropped pack still gets its bytes');
  assert.deepEqual(new Uint8Array(await seenB), b.bytes);
  assert.equal(pool.bytesHeld, 4096, "A's buffer is back once its caller is done");
  const seenC = await cache.use(c.cap, undefined, (bytes) => Buffer.from(bytes)); // drops B (no caller): back too
  assert.deepEqual(new Uint8Array(seenC), c.bytes);
  assert.equal(s.reads[2].buffer, s.reads[0].buffer, "C is read into A's old buffer");
  await new Promise((r) => setImmediate(r));
  assert.equal(pool.bytesHeld, 4096, "B's buffer went back when C dropped it");
});

test('a caller still using a pack keeps its buffer out of the pool; a failed read never gives its buffer back', async () => {
  const [a, b] = packs(2);
  const pool = new BufferPool({ maxBytes: 1 << 24, idleMs: 60_000, unit: 4096 });
  const s = gatedStore([a, b]);
  s.open();
  const cache = new PackCache(s.store, SIZE, pool);
  let during = -1;
  await cache.use(a.cap, undefined, (bytes) => {
    void cache.use(b.cap, undefined, () => {}); // drops A while this caller is inside fn
    during = pool.bytesHeld;
    return bytes.length;
  });
  assert.equal(during, 0);
  await new Promise((r) => setImmediate(r));
  assert.equal(pool.bytesHeld, 4096);
  // A caller with a signal waits a turn longer for bytes already read; its pack dropped meanwhile stays its own.
  await cache.use(a.cap, undefined, () => 0); // A cached again (B dropped)
  const x = cache.use(a.cap, new AbortController().signal, () => pool.bytesHeld);
  void cache.use(b.cap, undefined, () => {}); // drops A before x's function runs
  const held = pool.bytesHeld;
  assert.equal(await x, held, "A's buffer is not in the pool while x reads it");
  await new Promise((r) => setImmediate(r));
  assert.equal(pool.bytesHeld, held + 4096, 'and is once x is done');

  const failing: PackStore = { ...s.store, readPack: async () => Promise.reject(new Error('no holders')) };
  const pool2 = new BufferPool({ maxBytes: 1 << 24, idleMs: 60_000, unit: 4096 });
  const cache2 = new PackCache(failing, SIZE, pool2);
  await assert.rejects(
    cache2.use(a.cap, undefined, () => 0),
    /no holders/
  );
  cache2.clear();
  await new Promise((r) => setImmediate(r));
  assert.equal(pool2.bytesHeld, 0);
});

test('one read per pack while it is cached; the least recently used is dropped first; failed reads and clear() keep nothing', async () => {
  const [a, b, c] = packs(3);
  const pool = new BufferPool({ maxBytes: 1 << 24, idleMs: 60_000, unit: 4096 });
  const s = gatedStore([a, b, c]);
  s.open();
  let failNext = false;
  const reads: string[] = [];
  const store: PackStore = {
    ...s.store,
    async readPack(cap, o) {
      const name = cap === a.cap ? 'a' : cap === b.cap ? 'b' : 'c';
      reads.push(name);
      if (failNext) {
        failNext = false;
        throw new Error('holder gone');
      }
      return s.store.readPack(cap, o);
    }
  };
  const cache = new PackCache(store, 2 * SIZE, pool); // room for two packs
  const read = async (p: { cap: PackCap; bytes: Uint8Array }) => assert.deepEqual(await cache.use(p.cap, undefined, (x) => Uint8Array.from(x)), p.bytes);
  await read(a);
  await read(a);
  await read(b);
  await read(a); // a is now the most recently used
  await read(c); // drops b, not a
  await read(a);
  assert.deepEqual(reads, ['a', 'b', 'c']);
  await read(b); // read again; drops c
  await read(a);
  assert.deepEqual(reads, ['a', 'b', 'c', 'b']);
  cache.clear();
  await read(a);
  assert.deepEqual(reads, ['a', 'b', 'c', 'b', 'a']);
  cache.clear();
  failNext = true;
  await assert.rejects(
    cache.use(a.cap, undefined, () => 0),
    /holder gone/
  );
  await read(a); // the failure was not kept
  assert.deepEqual(reads, ['a', 'b', 'c', 'b', 'a', 'a', 'a']);
});

test('a pack read only through a plan is let go once its planned reads are made; one also read without a plan stays', async () => {
  const [a, b] = packs(2);
  const pool = new BufferPool({ maxBytes: 1 << 24, idleMs: 60_000, unit: 4096 });
  const s = gatedStore([a, b]);
  s.open();
  const cache = new PackCache(s.store, 10 * SIZE, pool); // room for all: only the plan lets a pack go early
  const settle = () => new Promise((r) => setImmediate(r));
  const planned = async (p: { cap: PackCap; bytes: Uint8Array }, plan: ReturnType<PackCache['plan']>) => {
    assert.deepEqual(await cache.use(p.cap, undefined, (x) => Uint8Array.from(x), plan), p.bytes);
    plan.took(p.cap);
  };

  const plan = cache.plan();
  plan.expect(a.cap);
  plan.expect(a.cap);
  await planned(a, plan);
  await settle();
  assert.equal(pool.bytesHeld, 0, 'one planned read of A is still to come: A stays');
  await planned(a, plan);
  await settle();
  assert.equal(pool.bytesHeld, 4096, "A's last planned read was made: its buffer is back in the pool");
  assert.equal(s.reads.length, 1);
  plan.took(a.cap); // a read the plan no longer expects changes nothing
  plan.close();

  // B is also read without a plan (a small file in the same pack): it stays after the planned reads.
  const plan2 = cache.plan();
  plan2.expect(b.cap);
  await cache.use(b.cap, undefined, () => 0);
  await planned(b, plan2);
  await settle();
  assert.equal(pool.bytesHeld, 0, 'B was taken from the pool and stays cached');
  await cache.use(b.cap, undefined, () => 0);
  assert.equal(s.reads.length, 2, 'B was read once');

  // A plan closed before its reads were made lets nothing go and leaves no expectation behind.
  const plan3 = cache.plan();
  plan3.expect(a.cap);
  plan3.expect(a.cap);
  await planned(a, plan3); // A read again (dropped above); one planned read left
  plan3.close();
  await settle();
  assert.equal(pool.bytesHeld, 0, 'closing forgets the expectation without dropping A');
  const plan4 = cache.plan();
  plan4.expect(a.cap);
  await planned(a, plan4);
  await settle();
  assert.equal(pool.bytesHeld, 4096, "the closed plan's leftover expectation did not keep A: plan4's read let it go");
  assert.equal(s.reads.length, 3);
});

test('plans count together: one plan closing or taking what it never expected does not let go of what another still expects', async () => {
  const [a, b] = packs(2);
  const pool = new BufferPool({ maxBytes: 1 << 24, idleMs: 60_000, unit: 4096 });
  const s = gatedStore([a, b]);
  s.open();
  const settle = () => new Promise((r) => setImmediate(r));
  const cache = new PackCache(s.store, 10 * SIZE, pool);
  const p1 = cache.plan();
  const p2 = cache.plan();
  p1.expect(a.cap);
  p1.expect(a.cap);
  p2.expect(a.cap);
  p2.expect(a.cap);
  await cache.use(a.cap, undefined, () => 0, p1);
  p1.took(a.cap);
  p1.close(); // forgets its one read left: p2's two remain
  p1.took(a.cap); // nothing of p1's is left to take
  await cache.use(a.cap, undefined, () => 0, p2);
  p2.took(a.cap);
  await settle();
  assert.equal(pool.bytesHeld, 0, 'p2 still expects a read of A: A stays');
  await cache.use(a.cap, undefined, () => 0, p2);
  p2.took(a.cap);
  await settle();
  assert.equal(pool.bytesHeld, 4096, "p2's last read let A go");
  assert.equal(s.reads.length, 1);

  // The last planned read of a pack the cache already dropped (no room) is harmless.
  const small = new PackCache(s.store, SIZE, pool); // room for one pack
  const p3 = small.plan();
  p3.expect(a.cap);
  await small.use(a.cap, undefined, () => 0, p3);
  await small.use(b.cap, undefined, () => 0); // drops A
  assert.doesNotThrow(() => p3.took(a.cap));
});
