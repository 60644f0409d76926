// The pack writer's sizes: a run's first pack is sealed small and each next one at twice the last, up to the
// target, so that a backup's upload starts after half a MiB instead of 8; a flush ends the run; an idle open pack
// leaves early.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPacker } from '../../src/repo/packer.ts';
import { PACK_FIRST_BYTES, PACK_TARGET_BYTES } from '../../src/repo/constants.ts';
import type { PackStore } from '../../src/repo/types.ts';
import type { IndexEntry } from '../../src/repo/index-part.ts';
import type { PackCap } from '../../src/caps/index.ts';

test('pack sizes double from PACK_FIRST_BYTES to PACK_TARGET_BYTES within a run, and start small again after a flush', async () => {
  const sizes: number[] = [];
  const store: PackStore = {
    async putPack(bytes) {
      sizes.push(bytes.length);
      return { type: 'pack', n: sizes.length } as unknown as PackCap;
    },
    async readPack() {
      throw new Error('not read here');
    }
  };
  const packer = createPacker(store);
  const blob = new Uint8Array(1 << 20);
  const MiB = 1 << 20;
  for (let i = 0; i < 60; i++) await packer.add(Uint8Array.of(i), 'data', blob);
  await packer.flush();
  assert.equal(PACK_FIRST_BYTES, MiB / 2);
  assert.equal(PACK_TARGET_BYTES, 8 * MiB);
  // 1 MiB blobs: the first pack takes one blob over its half MiB (a pack takes any blob while empty).
  assert.deepEqual(
    sizes.map((s) => s / MiB),
    [1, 1, 2, 4, 8, 8, 8, 8, 8, 8, 4]
  );
  sizes.length = 0;
  for (let i = 0; i < 5; i++) await packer.add(Uint8Array.of(i), 'data', blob);
  await packer.flush();
  assert.deepEqual(
    sizes.map((s) => s / MiB),
    [1, 1, 2, 1],
    'a new run starts small again'
  );
});

test('blobs are written straight into reused pack buffers; concurrent adds under backpressure never overflow a pack', async () => {
  const MiB = 1 << 20;
  const target = 4 * MiB;
  const packs: { copy: Uint8Array; buffer: ArrayBufferLike }[] = [];
  let release: (() => void)[] = [];
  const store: PackStore = {
    async putPack(bytes) {
      const n = packs.push({ copy: Uint8Array.from(bytes), buffer: bytes.buffer });
      await new Promise<void>((r) => release.push(r)); // uploads finish only when the test lets them
      return { type: 'pack', n } as unknown as PackCap;
    },
    async readPack() {
      throw new Error('not read here');
    }
  };
  const packer = createPacker(store, { targetBytes: target, firstBytes: target, inFlight: 1 });
  const blob = (i: number, size: number) => new Uint8Array(size).fill(i);
  const added: { i: number; size: number; stored: Promise<IndexEntry> }[] = [];
  const add = async (i: number, size: number) => {
    const { stored } = await packer.addWith(Uint8Array.of(i), 'data', size, (dest) => dest.set(blob(i, size)));
    added.push({ i, size, stored });
  };
  // Two writers at once (a backup's files side by side), blobs of 1.5 MiB: packs fill while both wait.
  const writers = [0, 1].map(async (w) => {
    for (let j = 0; j < 24; j++) await add(w * 100 + j, 1.5 * MiB);
  });
  const pump = setInterval(() => {
    for (const r of release.splice(0)) r();
  }, 5);
  try {
    await Promise.all(writers);
    await add(999, 6 * MiB); // bigger than a pack: a buffer of its own
    await packer.flush();
  } finally {
    clearInterval(pump);
  }
  for (const p of packs) assert.ok(p.copy.length <= target || p.copy.length === 6 * MiB, `a pack of ${p.copy.length} bytes`);
  for (const a of added) {
    const e = await a.stored;
    const p = packs[(e.pack as unknown as { n: number }).n - 1].copy;
    assert.equal(e.length, a.size);
    assert.ok(
      p.subarray(e.offset, e.offset + e.length).every((b) => b === (a.i & 0xff)),
      `blob ${a.i} intact in its pack`
    );
  }
  const full = packs.filter((p) => p.buffer.byteLength === target);
  assert.ok(full.length >= 12, `${full.length} packs in target-sized buffers`);
  assert.ok(
    new Set(full.map((p) => p.buffer)).size <= full.length / 2,
    `their buffers are reused, not one per pack: ${new Set(full.map((p) => p.buffer)).size} for ${full.length}`
  );
});

test('add copies the sealed bytes in; pending counts the open pack; a failed upload rejects its blobs, the next add and flush', async () => {
  const packs: Uint8Array[] = [];
  let fail = false;
  const store: PackStore = {
    async putPack(bytes) {
      if (fail) throw new Error('holders refused');
      packs.push(Uint8Array.from(bytes));
      return { type: 'pack', n: packs.length } as unknown as PackCap;
    },
    async readPack() {
      throw new Error('not read here');
    }
  };
  const packer = createPacker(store, { targetBytes: 1 << 20, firstBytes: 1 << 20 });
  const a = new Uint8Array(1000).fill(1),
    b = new Uint8Array(3000).fill(2);
  await packer.add(Uint8Array.of(1), 'data', a);
  const { stored } = await packer.add(Uint8Array.of(2), 'data', b);
  assert.equal(packer.pending, 4000);
  await packer.flush();
  assert.equal(packer.pending, 0);
  assert.deepEqual(packs, [new Uint8Array([...a, ...b])]);
  assert.deepEqual(await stored, { id: Uint8Array.of(2), kind: 'data', pack: { type: 'pack', n: 1 }, offset: 1000, length: 3000 });
  fail = true;
  const lost = await packer.add(Uint8Array.of(3), 'data', a);
  await packer.add(Uint8Array.of(4), 'data', new Uint8Array((1 << 20) - 100)); // seals the pack holding blob 3
  await assert.rejects(lost.stored, /holders refused/);
  await assert.rejects(packer.add(Uint8Array.of(5), 'data', a), /holders refused/, 'no blob is admitted after a failed upload');
  await assert.rejects(packer.flush(), /holders refused/);
  // The run ended with its error; a packer kept by a daemon takes the next run's blobs.
  fail = false;
  const next = await packer.add(Uint8Array.of(6), 'data', a);
  await packer.flush();
  assert.deepEqual(await next.stored, { id: Uint8Array.of(6), kind: 'data', pack: { type: 'pack', n: 2 }, offset: 0, length: 1000 });
});

test("abandon rejects the open pack's blobs without uploading them, waits for the uploads in flight, and the next run starts clean", async () => {
  const puts: { bytes: number; signal?: AbortSignal }[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const store: PackStore = {
    async putPack(bytes, opts) {
      puts.push({ bytes: bytes.length, signal: opts?.signal });
      if (puts.length === 1) await gate; // the first pack is still uploading when the run is abandoned
      return { type: 'pack', n: puts.length } as unknown as PackCap;
    },
    async readPack() {
      throw new Error('not read here');
    }
  };
  const packer = createPacker(store, { targetBytes: 4000, firstBytes: 4000 });
  const blob = new Uint8Array(3000);
  const first = await packer.add(Uint8Array.of(1), 'data', blob);
  const open = await packer.add(Uint8Array.of(2), 'data', blob); // seals the first pack; this one stays open
  assert.equal(puts.length, 1);
  const reason = new Error('cancelled');
  let abandoned = false;
  const done = packer.abandon(reason).then(() => (abandoned = true));
  await assert.rejects(open.stored, (err) => err === reason);
  await new Promise((r) => setImmediate(r));
  assert.equal(abandoned, false, 'abandon waits for the upload in flight');
  release();
  await done;
  assert.equal((await first.stored).offset, 0, 'the pack in flight was stored');
  assert.equal(puts.length, 1, 'the open pack was not uploaded');
  assert.equal(packer.pending, 0);
  const next = await packer.add(Uint8Array.of(3), 'data', blob);
  await packer.flush();
  assert.deepEqual(await next.stored, { id: Uint8Array.of(3), kind: 'data', pack: { type: 'pack', n: 2 }, offset: 0, length: 3000 });
});

test("a pack's upload is aborted only once every blob in it was added under an aborted signal", async () => {
  const signals: (AbortSignal | undefined)[] = [];
  const store: PackStore = {
    async putPack(_bytes, opts) {
      signals.push(opts?.signal);
      return { type: 'pack', n: signals.length } as unknown as PackCap;
    },
    async readPack() {
      throw new Error('not read here');
    }
  };
  const packer = createPacker(store, { targetBytes: 1 << 20, firstBytes: 1 << 20 });
  const blob = new Uint8Array(100);
  // A daemon's packer outlives a cancelled run: the next run's packs do not carry its signal.
  const first = new AbortController();
  await packer.add(Uint8Array.of(1), 'data', blob, first.signal);
  await packer.flush();
  first.abort(new Error('first run cancelled'));
  const second = new AbortController();
  await packer.add(Uint8Array.of(2), 'data', blob, second.signal);
  await packer.flush();
  assert.equal(signals[1]?.aborted, false);
  // Two runs' blobs in one pack: it stays wanted while one of them does.
  const a = new AbortController(),
    b = new AbortController();
  await packer.add(Uint8Array.of(3), 'data', blob, a.signal);
  await packer.add(Uint8Array.of(4), 'data', blob, b.signal);
  await packer.flush();
  a.abort(new Error('a'));
  assert.equal(signals[2]?.aborted, false, 'one of two aborted: still uploaded');
  b.abort(new Error('b'));
  assert.equal(signals[2]?.aborted, true, 'both aborted: the upload is aborted');
  assert.equal(signals[2]?.reason.message, 'b');
  // A blob added without a signal: the pack is always uploaded.
  const c = new AbortController();
  await packer.add(Uint8Array.of(5), 'data', blob, c.signal);
  await packer.add(Uint8Array.of(6), 'data', blob);
  await packer.flush();
  c.abort();
  assert.equal(signals[3], undefined);
});

test('a pack buffer is reused as soon as the store has consumed it, while its upload still runs', async () => {
  const MiB = 1 << 20;
  const target = MiB;
  const seen: { buffer: ArrayBufferLike; copy: Uint8Array }[] = [];
  const release: (() => void)[] = [];
  let consumedEarly = true;
  const store: PackStore = {
    async putPack(bytes, o = {}) {
      const n = seen.push({ buffer: bytes.buffer, copy: Uint8Array.from(bytes) });
      if (consumedEarly) o.onConsumed?.(); // as uploadPack does once the shares are encoded
      await new Promise<void>((r) => release.push(r)); // the upload itself is still running
      return { type: 'pack', n } as unknown as PackCap;
    },
    async readPack() {
      throw new Error('not read here');
    }
  };
  const run = async () => {
    seen.length = 0;
    const packer = createPacker(store, { targetBytes: target, firstBytes: target, inFlight: 2 });
    const stored: Promise<IndexEntry>[] = [];
    // Three packs' worth of 512 KiB blobs; every upload stays pending until the end.
    for (let i = 0; i < 6; i++) stored.push((await packer.add(Uint8Array.of(i), 'data', new Uint8Array(MiB / 2).fill(i))).stored);
    const flushed = packer.flush();
    while (release.length) release.shift()!();
    await flushed;
    for (const [i, s] of stored.entries()) {
      const e = await s;
      assert.ok(
        seen[(e.pack as unknown as { n: number }).n - 1].copy.subarray(e.offset, e.offset + e.length).every((b) => b === i),
        `blob ${i} intact in what its store was given`
      );
    }
    return new Set(seen.map((s) => s.buffer)).size;
  };
  assert.equal(await run(), 1, 'the three packs were sealed in one buffer: each was given back before the next opened');
  consumedEarly = false;
  assert.equal(await run(), 3, 'a store that never calls onConsumed keeps each buffer until its upload settles');
});

test('a buffer given back twice (onConsumed, then the upload settling) is reused by one pack at a time', async () => {
  const MiB = 1 << 20;
  const copies: Uint8Array[] = [];
  const store: PackStore = {
    async putPack(bytes, o = {}) {
      // Every second pack is read a turn later (uploadPack encodes it first): the packs after it are sealed
      // meanwhile, into buffers that uploads read at once gave back.
      const n = copies.length + 1;
      copies.length = n;
      if (n % 2 === 0) await new Promise((r) => setImmediate(r));
      copies[n - 1] = Uint8Array.from(bytes);
      o.onConsumed?.();
      return { type: 'pack', n } as unknown as PackCap;
    },
    async readPack() {
      throw new Error('not read here');
    }
  };
  const packer = createPacker(store, { targetBytes: MiB, firstBytes: MiB, inFlight: 3 });
  const stored: Promise<IndexEntry>[] = [];
  for (let i = 0; i < 24; i++) stored.push((await packer.add(Uint8Array.of(i), 'data', new Uint8Array(MiB / 2).fill(i + 1))).stored);
  await packer.flush();
  for (const [i, s] of stored.entries()) {
    const e = await s;
    const pack = copies[(e.pack as unknown as { n: number }).n - 1];
    assert.ok(
      pack.subarray(e.offset, e.offset + e.length).every((b) => b === i + 1),
      `blob ${i} is what its store read (no later pack was sealed into its buffer first)`
    );
  }
});

test('a flush with no pack open stores nothing and succeeds', async () => {
  let puts = 0;
  const store: PackStore = {
    async putPack() {
      puts++;
      return { type: 'pack', n: puts } as unknown as PackCap;
    },
    async readPack() {
      throw new Error('not read here');
    }
  };
  const packer = createPacker(store);
  await packer.flush();
  await packer.add(Uint8Array.of(1), 'data', new Uint8Array(10));
  await packer.flush();
  await packer.flush();
  assert.equal(puts, 1);
});

test('an open pack that took no blob for idleSealMs is sealed, but only when an upload slot is free', async () => {
  const sizes: number[] = [];
  const release: (() => void)[] = [];
  const store: PackStore = {
    async putPack(bytes) {
      sizes.push(bytes.length);
      await new Promise<void>((r) => release.push(r)); // stored only when the test says so
      return { type: 'pack', n: sizes.length } as unknown as PackCap;
    },
    async readPack() {
      throw new Error('not read here');
    }
  };
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const packer = createPacker(store, { targetBytes: 1 << 20, firstBytes: 1 << 20, inFlight: 1, idleSealMs: 40 });
  const { stored } = await packer.add(Uint8Array.of(1), 'data', new Uint8Array(1000));
  await packer.add(Uint8Array.of(2), 'data', new Uint8Array(1000));
  assert.deepEqual(sizes, [], 'blobs coming in keep the pack open');
  await wait(150);
  assert.deepEqual(sizes, [2000], 'the idle pack left without a flush');
  // Its upload takes the only slot: a blob now waits in the open pack, however long.
  await packer.add(Uint8Array.of(3), 'data', new Uint8Array(500));
  await wait(150);
  assert.deepEqual(sizes, [2000], 'no slot free: the open pack waits');
  release.shift()!();
  assert.equal((await stored).offset, 0);
  const flushed = packer.flush();
  await wait(10);
  assert.deepEqual(sizes, [2000, 500]);
  release.shift()!();
  await flushed;
  // 0: never sealed for idleness.
  const never = createPacker(store, { targetBytes: 1 << 20, firstBytes: 1 << 20, idleSealMs: 0 });
  await never.add(Uint8Array.of(4), 'data', new Uint8Array(100));
  await wait(100);
  assert.deepEqual(sizes, [2000, 500]);
  const last = never.flush();
  await wait(10);
  release.shift()!();
  await last;
  assert.deepEqual(sizes, [2000, 500, 100]);
});
