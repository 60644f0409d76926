import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeBytes, decodeBytes, encodeFile, fileInput, memorySink, bytesInput, InputChangedError, NotEnoughSharesError, InvalidParamsError, DEFAULT_SEGMENT_SIZE } from '../../src/format/index.ts';
import { formatCap, parseCap, storageIndexOf, LITERAL_MAX_BYTES } from '../../src/caps/index.ts';
import { prng, pickSubset, keep } from './helpers.ts';

const secret = new Uint8Array(32).fill(7);

test('round trips over boundary sizes; any k of n shares suffice', async () => {
  const seg = 256;
  const sizes = [0, 1, LITERAL_MAX_BYTES - 1, LITERAL_MAX_BYTES, LITERAL_MAX_BYTES + 1, seg - 1, seg, seg + 1, 5 * seg + 17];
  let rs = 12345;
  const rnd = () => ((rs = (rs * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (const size of sizes) {
    const data = prng(size, size + 1);
    const r = await encodeBytes(data, { k: 3, n: 5, segmentSize: seg, convergenceSecret: secret });
    if (size <= LITERAL_MAX_BYTES) {
      assert.equal(r.cap.type, 'lit');
      assert.equal(r.shares.length, 0);
      assert.deepEqual(await decodeBytes(formatCap(r.cap), []), data);
      continue;
    }
    assert.equal(r.shares.length, 5);
    for (let t = 0; t < 3; t++) {
      const subset = pickSubset(5, 3, rnd);
      assert.deepEqual(await decodeBytes(r.cap, keep(r.shares, subset)), data, `size ${size} subset ${subset}`);
    }
    await assert.rejects(decodeBytes(r.cap, keep(r.shares, [0, 4])), (e: NotEnoughSharesError) => e.code === 'ERR_NOT_ENOUGH_SHARES' && e.details.needed === 3 && e.details.found === 2);
  }
});

test('default segment size ±1 and random (k, n)', async () => {
  for (const size of [DEFAULT_SEGMENT_SIZE - 1, DEFAULT_SEGMENT_SIZE + 1]) {
    const data = prng(size, 3);
    const r = await encodeBytes(data, { k: 2, n: 4, randomKey: true });
    assert.deepEqual(await decodeBytes(r.cap, keep(r.shares, [1, 3])), data);
  }
  let rs = 99;
  const rnd = () => ((rs = (rs * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let t = 0; t < 5; t++) {
    const n = 1 + Math.floor(rnd() * 12), k = 1 + Math.floor(rnd() * n);
    const data = prng(100 + Math.floor(rnd() * 3000), t + 10);
    const r = await encodeBytes(data, { k, n, segmentSize: 64 + Math.floor(rnd() * 900), randomKey: true });
    const subset = pickSubset(n, k, rnd);
    assert.deepEqual(await decodeBytes(formatCap(r.cap), keep(r.shares, subset)), data, `k=${k} n=${n} subset ${subset}`);
  }
});

test('convergence: same file + secret -> same storage index and shares; other secret or random key -> different', async () => {
  const data = prng(2000, 5);
  const a = await encodeBytes(data, { k: 2, n: 3, segmentSize: 512, convergenceSecret: secret });
  const b = await encodeBytes(data, { k: 2, n: 3, segmentSize: 512, convergenceSecret: secret });
  const c = await encodeBytes(data, { k: 2, n: 3, segmentSize: 512, convergenceSecret: new Uint8Array(32).fill(8) });
  const d = await encodeBytes(data, { k: 2, n: 3, segmentSize: 512, randomKey: true });
  const e = await encodeBytes(data, { k: 2, n: 3, segmentSize: 512 });
  assert.deepEqual(a.storageIndex, b.storageIndex);
  assert.equal(formatCap(a.cap), formatCap(b.cap));
  assert.deepEqual(a.shares, b.shares);
  assert.deepEqual(storageIndexOf(a.cap), a.storageIndex);
  for (const other of [c, d, e]) assert.notDeepEqual(a.storageIndex, other.storageIndex);
  assert.notDeepEqual(d.storageIndex, e.storageIndex);
});

test('encodeFile streams a file through a sink factory; result equals the in-memory encoder', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'p2pb-fmt-'));
  try {
    const data = prng(10_000, 9);
    await writeFile(join(dir, 'f'), data);
    const sink = memorySink();
    let started: { storageIndex: Uint8Array; shareSize: number } | undefined;
    const phases = new Set<string>();
    const r = await encodeFile(await fileInput(join(dir, 'f')), {
      k: 3, n: 6, segmentSize: 1000, convergenceSecret: secret,
      sink: (s) => { started = s; return sink; },
      onProgress: (e) => phases.add(e.phase),
    });
    const mem = await encodeBytes(data, { k: 3, n: 6, segmentSize: 1000, convergenceSecret: secret });
    assert.deepEqual(started!.storageIndex, r.storageIndex);
    assert.equal(formatCap(r.cap), formatCap(mem.cap));
    assert.deepEqual(sink.shares(), mem.shares);
    assert.ok(sink.shares().every((s) => s.length === started!.shareSize));
    assert.deepEqual([...phases].sort(), ['encode', 'hash']);
    assert.deepEqual(parseCap(formatCap(r.cap)), r.cap);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('input that changes size, bad params, and abort are refused', async () => {
  const liar = { size: 1000, async *open() { yield new Uint8Array(999); } };
  await assert.rejects(encodeFile(liar, { k: 2, n: 3, randomKey: true, sink: memorySink() }), InputChangedError);
  await assert.rejects(encodeFile(liar, { k: 2, n: 3, convergenceSecret: secret, sink: memorySink() }), InputChangedError);
  await assert.rejects(encodeBytes(prng(100), { k: 4, n: 3 }), InvalidParamsError);
  await assert.rejects(encodeBytes(prng(100), { k: 1, n: 2, segmentSize: 10 }), InvalidParamsError);
  const ac = new AbortController(); ac.abort();
  await assert.rejects(encodeFile(bytesInput(prng(1000)), { k: 1, n: 2, signal: ac.signal, sink: memorySink() }), { name: 'AbortError' });
  const r = await encodeBytes(prng(1000), { k: 1, n: 2, segmentSize: 100 });
  await assert.rejects(decodeBytes(r.cap, r.shares, { signal: ac.signal }), { name: 'AbortError' });
});
