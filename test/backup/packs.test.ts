// Packs: small files and directory objects share a few stored files; each is read back through its slice
// cap, copies are stored once, a lost pack loses exactly its members, and upload failures reach every waiter.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { formatCap, parseCap, storedCapOf } from '../../src/caps/index.ts';
import {
  backup, restore, ls, reachableCaps, openBackupCache, readObject, PACK_FILE_MAX_BYTES, type ObjectStore,
} from '../../src/backup/index.ts';
import { createPackWriter, openContent } from '../../src/backup/packs.ts';
import { counting, createGrid, type Grid } from './grid.ts';
import { describeTree, makeTree, type Spec } from './tree.ts';

let grid: Grid;
let work: string;
before(async () => { grid = await createGrid(); work = await mkdtemp(join(tmpdir(), 'p2pb-packs-')); });
after(async () => { await grid.close(); await rm(work, { recursive: true, force: true }); });

const T = Date.UTC(2024, 5, 1);

/** 12 directories of 25 files of 100 B..20 KiB, and one file larger than PACK_FILE_MAX_BYTES. */
function smallTree(): Record<string, Spec> {
  const spec: Record<string, Spec> = {};
  for (let d = 0; d < 12; d++) {
    spec[`d${d}`] = { type: 'dir', mtimeMs: T };
    for (let f = 0; f < 25; f++) spec[`d${d}/f${f}.bin`] = { type: 'file', content: randomBytes(100 + ((d * 25 + f) * 997) % 20_000), mtimeMs: T };
  }
  spec['alone.bin'] = { type: 'file', content: randomBytes(PACK_FILE_MAX_BYTES + 1), mtimeMs: T };
  return spec;
}

test('a tree of 300 small files is stored as a few packs and restored byte for byte', async () => {
  const src = join(work, 'small');
  await makeTree(src, smallTree());
  const store = counting(grid.objects);
  const { snapshotCap, stats } = await backup(src, { store, host: 't' });
  assert.equal(stats.files, 301);
  // ~3 MB of small files: one pack a PACK_TARGET_BYTES or less, the big file alone, one pack of the 12
  // leaf directories, the root directory and the snapshot. Stored alone, that would be 315 objects.
  assert.ok(stats.packs >= 2, `packs ${stats.packs}`);
  assert.ok(stats.uploads <= 6, `uploads ${stats.uploads}`);
  assert.equal(store.puts, stats.uploads);

  const entries = await ls(grid.objects, snapshotCap, 'd3');
  const types = new Set(entries.map((e) => parseCap(e.cap!).type));
  assert.deepEqual([...types], ['slice']);
  assert.equal(parseCap((await ls(grid.objects, snapshotCap)).find((e) => e.name === 'alone.bin')!.cap!).type, 'chk');

  // Every pack is downloaded once however many files it holds.
  const reader = counting(grid.objects);
  const dst = join(work, 'small-dst');
  const r = await restore(snapshotCap, dst, { store: reader });
  assert.equal(r.stats.files, 301);
  assert.deepEqual(await describeTree(dst), await describeTree(src));
  assert.ok(reader.gets <= stats.uploads, `gets ${reader.gets}`);

  // The caps to keep alive are the packs, not their slices.
  const keep = await reachableCaps(grid.objects, [snapshotCap]);
  assert.ok([...keep].every((c) => parseCap(c).type === 'chk'));
  assert.equal(keep.size, stats.uploads);
});

test('a slice cap reads exactly its bytes, through the pack cache and through a range download', async () => {
  const src = join(work, 'slices');
  await makeTree(src, { 'a': { type: 'file', content: randomBytes(3000) }, 'b': { type: 'file', content: randomBytes(5000) }, 'c': { type: 'file', content: randomBytes(70) } });
  const { snapshotCap } = await backup(src, { store: grid.objects });
  const entries = await ls(grid.objects, snapshotCap);
  assert.equal(entries.length, 3);
  for (const e of entries) {
    const want = await readFile(join(src, e.name));
    assert.equal(parseCap(e.cap!).type, 'slice');
    assert.deepEqual(Buffer.from(await readObject(grid.objects, e.cap!)), want);
    const direct = await grid.objects.getFile(e.cap!);
    assert.equal(direct.size, want.length);
    const parts: Uint8Array[] = [];
    for await (const chunk of direct.stream) parts.push(chunk);
    assert.deepEqual(Buffer.concat(parts), want);
  }
});

test('a copied or moved small file is not stored again', async () => {
  const src = join(work, 'dedup');
  await makeTree(src, { 'x': { type: 'dir' }, 'x/one.txt': { type: 'file', content: randomBytes(4000) }, 'x/two.txt': { type: 'file', content: randomBytes(4000) } });
  const cache = await openBackupCache(join(work, 'dedup-cache'));
  try {
    const first = await backup(src, { store: grid.objects, cache });
    await cp(join(src, 'x'), join(src, 'y'), { recursive: true });
    const store = counting(grid.objects);
    const second = await backup(src, { store, cache, parent: first.snapshotCap });
    assert.equal(second.stats.bytesRead, 8000, 'the copies are read (they are new paths)');
    const capsOf = async (dir: string) => (await ls(grid.objects, second.snapshotCap, dir)).map((e) => e.cap);
    assert.deepEqual(await capsOf('y'), await capsOf('x'));
    // No file content is stored again: only y's directory object (the copies have new mtimes), the root
    // directory (another height, so another object) and the snapshot.
    assert.equal(store.puts, 3);
    assert.ok(store.putBytes < 2000, `put ${store.putBytes} bytes`);
  } finally {
    await cache.close();
  }
});

test('losing a pack loses exactly the files in it, each reported, none half-written', async () => {
  const src = join(work, 'lost');
  await makeTree(src, { 'p': { type: 'dir' }, 'p/a': { type: 'file', content: randomBytes(2000) }, 'p/b': { type: 'file', content: randomBytes(2000) }, 'big': { type: 'file', content: randomBytes(PACK_FILE_MAX_BYTES + 10) } });
  const { snapshotCap } = await backup(src, { store: grid.objects });
  const a = parseCap((await ls(grid.objects, snapshotCap, 'p')).find((e) => e.name === 'a')!.cap!);
  assert.equal(a.type, 'slice');
  assert.ok((await grid.removeShares(formatCap(storedCapOf(a)), [0, 1, 2])) >= 3);
  const dst = join(work, 'lost-dst');
  const failed: string[] = [];
  const r = await restore(snapshotCap, dst, { store: grid.objects, onItemError: (p) => { failed.push(p); } });
  assert.deepEqual(failed.sort(), [join(dst, 'p', 'a'), join(dst, 'p', 'b')]);
  assert.ok(r.stats.failed.every((f) => f.code === 'ERR_NOT_ENOUGH_SHARES'));
  assert.deepEqual((await describeTree(dst)).get('big')?.size, PACK_FILE_MAX_BYTES + 10);
  assert.deepEqual(await readdir(join(dst, 'p')), []);
});

test('pack writer: one object alone keeps its own cap; an upload failure reaches every waiter and flush', async () => {
  const w = createPackWriter(grid.objects, { targetBytes: 10_000 });
  const one = await w.add(randomBytes(500));
  await w.flush();
  assert.equal(parseCap(await one.cap).type, 'chk');
  const lit = await w.add(new Uint8Array(10));
  assert.equal(parseCap(await lit.cap).type, 'lit');

  let puts = 0;
  const failing: ObjectStore = {
    async putFile(input, o) { if (++puts === 2) throw Object.assign(new Error('disk on fire'), { code: 'ERR_TEST' }); return grid.objects.putFile(input, o); },
    getFile: (cap, o) => grid.objects.getFile(cap, o)
  };
  const f = createPackWriter(failing, { targetBytes: 1000, inFlight: 1 });
  const items = [];
  for (let i = 0; i < 3; i++) items.push((await f.add(randomBytes(600))).cap); // pack 1: items 0, 1 (sealed at 1200)
  // Item 3 seals pack 2 (items 2, 3), whose upload fails while two packs are in flight: that add throws.
  await assert.rejects(f.add(randomBytes(600)), { code: 'ERR_TEST' });
  await assert.rejects(f.flush(), { code: 'ERR_TEST' });
  assert.equal(parseCap(await items[0]).type, 'slice');
  await assert.rejects(items[2], { code: 'ERR_TEST' });
  await assert.rejects(f.add(randomBytes(100)), { code: 'ERR_TEST' }, 'a failed writer refuses more');
  // The content reader serves slices of a stored pack exactly.
  const { size, stream } = await openContent(grid.objects, await items[1]);
  assert.equal(size, 600);
  for await (const chunk of stream) assert.equal(chunk.length, 600);
});
