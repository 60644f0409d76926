// The owner's repository over a no-network grid: deduplication by id within a run, across backups and across
// devices of one owner; the local index lost and rebuilt from the swarm; an index that points at the wrong place
// gives a named error and no bytes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backup, restore, ls, contentOf } from '../../src/backup/index.ts';
import {
  BlobNotFoundError,
  encodeIndexPart,
  type BlobIndex,
  openLocalIndex,
  RecordConflictError,
  Repository,
  repoReadCap,
  RepoConflictError,
  RepoLockedError
} from '../../src/repo/index.ts';
import { plainPool, smallPlainPool } from '../../src/repo/repository.ts';
import { INDEX_PART_ENTRIES, INDEX_WRITE_BATCH, LOCATE_AHEAD_MAX } from '../../src/repo/constants.ts';
import { createMutableWriteCap, formatCap, packKey, toReadCap, type PackCap } from '../../src/caps/index.ts';
import { createGrid } from '../backup/grid.ts';
import { openContent } from '../../src/backup/content.ts';
import { GET_BATCH_BYTES } from '../../src/backup/constants.ts';
import { describeTree } from '../backup/tree.ts';

const work = await mkdtemp(join(tmpdir(), 'p2pb-repo-'));
const hexOfId = (id: Uint8Array) => Buffer.from(id).toString('hex');
after(() => rm(work, { recursive: true, force: true }));

async function tree(name: string) {
  const dir = join(work, name);
  await mkdir(join(dir, 'a'), { recursive: true });
  await writeFile(join(dir, 'a', 'one.txt'), 'one '.repeat(3000));
  await writeFile(join(dir, 'big.bin'), randomBytes(3 << 20));
  await writeFile(join(dir, 'small.bin'), randomBytes(20_000));
  return dir;
}

test('a second device of the same owner (same secret, empty local index) stores nothing it already holds', async (t) => {
  const grid = await createGrid();
  t.after(() => grid.close());
  const dir = await tree('dev');
  const first = await backup(dir, { repo: grid.repo, chunker: grid.chunker });
  await grid.repo.publish();
  assert.ok(first.stats.blobsNew >= 6, `first backup stored its blobs: ${first.stats.blobsNew}`);

  const second = await grid.device('laptop');
  const before = grid.packs.putBytes;
  const r = await backup(dir, { repo: second, chunker: grid.chunker, time: first.snapshot.time + 1 });
  // Only the snapshot object is new (its time differs); every chunk, list and tree was found through the swarm's index.
  assert.equal(r.stats.blobsNew, 1, JSON.stringify(r.stats));
  assert.equal(r.root, first.root, 'same trees, same root');
  assert.ok(grid.packs.putBytes - before < 2000, `stored ${grid.packs.putBytes - before} bytes`);
  const out = join(work, 'dev-out');
  await restore(r.snapshotCap, out, { src: { reader: () => second } });
  assert.deepEqual(await describeTree(out), await describeTree(dir));
});

test('a lost local index is rebuilt from the swarm; a reader with only the repository read cap restores', async (t) => {
  const grid = await createGrid();
  t.after(() => grid.close());
  const dir = await tree('lost');
  const r = await backup(dir, { repo: grid.repo, chunker: grid.chunker });
  await grid.repo.publish();
  // A reader without the owner's secret and without any local index (a read-only device holding a root cap).
  const indexDir = join(grid.dir, 'reader-index');
  const reader = new Repository({ packs: grid.packs, record: grid.record, readCap: repoReadCap(grid.secret), index: await openLocalIndex(indexDir) });
  t.after(() => reader.close());
  assert.equal(reader.canWrite, false);
  const out = join(work, 'lost-out');
  await restore(r.snapshotCap, out, { src: { reader: () => reader } });
  assert.deepEqual(await describeTree(out), await describeTree(dir));
  await assert.rejects(reader.saveBlobs('data', [new Uint8Array(10)]), TypeError, 'a reader cannot store');
  // A blob no index knows: a named error after one merge of the swarm's parts.
  await assert.rejects(reader.loadBlob('data', { id: randomBytes(32), key: randomBytes(32) }), BlobNotFoundError);
});

test('an index entry that points at the wrong pack or offset gives a named error and no bytes; restore writes nothing for it', async (t) => {
  const grid = await createGrid();
  t.after(() => grid.close());
  const dir = await tree('lie');
  const r = await backup(dir, { repo: grid.repo, chunker: grid.chunker });
  await grid.repo.publish();
  const entries = await ls(grid.src, r.snapshotCap);
  const small = contentOf(entries.find((e) => e.name === 'small.bin')!.cap!, ['data']);
  const one = contentOf((await ls(grid.src, r.snapshotCap, 'a'))[0].cap!, ['data']);
  if (small.kind === 'lit' || one.kind === 'lit') assert.fail('stored files');
  // A fresh index that believes small.bin's blob is where a.txt's is (same pack, another offset).
  const where = await grid.repo.locate(one.id);
  const liar = new Repository({
    packs: grid.packs,
    record: { read: async () => null, write: async () => {} },
    readCap: repoReadCap(grid.secret),
    index: await openLocalIndex(join(grid.dir, 'liar-index'))
  });
  t.after(() => liar.close());
  await liar.index.addPart('forged', [{ id: small.id, ...where }]);
  await liar.index.reset(0).catch(() => {});
  await liar.index.addPart('forged', [{ id: small.id, ...where }]);
  await assert.rejects(liar.loadBlob('data', small), (e: { code?: string }) => e.code === 'ERR_BLOB_INTEGRITY');
  const out = join(work, 'lie-out');
  const failed: string[] = [];
  await restore(r.snapshotCap, out, {
    src: { reader: () => liar },
    onItemError: (p) => {
      failed.push(p);
    }
  }).catch(() => {});
  assert.ok(!(await describeTree(out).catch(() => new Map())).has('small.bin'), 'no bytes written under its name');
  void encodeIndexPart;
});

/** A grid of the test's own holding a backup (published) of `files` (name -> bytes), put in folder `name`; each file's entry. */
async function backedUp(t: { after: (fn: () => Promise<void>) => void }, name: string, files: Record<string, Uint8Array>) {
  const grid = await createGrid();
  t.after(() => grid.close());
  const dir = join(work, name);
  await mkdir(dir);
  for (const [f, b] of Object.entries(files)) await writeFile(join(dir, f), b);
  const r = await backup(dir, { repo: grid.repo, chunker: grid.chunker });
  await grid.repo.publish();
  const entries = await ls(grid.src, r.snapshotCap);
  return { grid, entry: (f: string) => entries.find((e) => e.name === f)! };
}

test("one file fetched alone reads its chunks' neighbouring ranges as one range per pack run, each pack byte once", async (t) => {
  const bytes = randomBytes(6 << 20);
  const { grid, entry: entryOf } = await backedUp(t, 'get', { 'six.bin': bytes });
  const entry = entryOf('six.bin');
  const list = contentOf(entry.cap!, ['list']);
  assert.equal(list.kind, 'list', 'a file of several chunks');
  const ranges: { pack: string; offset: number; length: number }[] = [];
  const readPack = grid.packs.readPack.bind(grid.packs);
  grid.packs.readPack = async (cap, o = {}) => {
    if (o.range) ranges.push({ pack: cap.uebHash.toString(), ...o.range });
    return readPack(cap, o);
  };
  const c = await openContent(grid.src, entry, undefined, { whole: false });
  const parts: Uint8Array[] = [];
  for await (const b of c.stream) parts.push(b);
  assert.ok(Buffer.concat(parts).equals(bytes));
  const chunks = parts.length;
  assert.ok(chunks >= 3, `${chunks} chunks`);
  assert.ok(ranges.length < chunks, `${ranges.length} range reads for ${chunks} chunks`);
  // No two reads of one pack touch or overlap: each pack segment two neighbouring chunks share is fetched once.
  for (const a of ranges)
    for (const b of ranges)
      if (a !== b && a.pack === b.pack) assert.ok(a.offset + a.length < b.offset || b.offset + b.length < a.offset, JSON.stringify([a, b]));
});

test('a file over GET_BATCH_BYTES fetched alone comes in several batches of neighbouring chunks, every chunk once and in order', async (t) => {
  const bytes = randomBytes(GET_BATCH_BYTES + (3 << 20));
  const { grid, entry: entryOf } = await backedUp(t, 'get-batches', { 'big.bin': bytes });
  const batches: number[][] = [];
  const byRange = grid.repo.loadBlobsByRange.bind(grid.repo);
  grid.repo.loadBlobsByRange = async (kind, refs, o) => {
    batches.push(refs.map((r) => r.maxPlain!));
    return byRange(kind, refs, o);
  };
  const c = await openContent(grid.src, entryOf('big.bin'), undefined, { whole: false });
  assert.equal(c.size, bytes.length);
  const parts: Uint8Array[] = [];
  for await (const b of c.stream) parts.push(b);
  assert.ok(Buffer.concat(parts).equals(bytes));
  assert.ok(batches.length >= 2, `${batches.length} batches`);
  // Each batch holds at most GET_BATCH_BYTES (but a first chunk bigger than that alone), and together they are the chunks in order.
  for (const b of batches) assert.ok(b.length === 1 || b.reduce((x, y) => x + y, 0) <= GET_BATCH_BYTES, JSON.stringify(b));
  // Opened by its cap alone (no size to check against): its size is its chunks' lengths summed.
  const byCap = await openContent(grid.src, { cap: entryOf('big.bin').cap }, undefined, { whole: false });
  assert.equal(byCap.size, bytes.length);
  byCap.close();
  assert.deepEqual(
    batches.flat(),
    parts.map((p) => p.length)
  );
});

test('a file of one chunk, and an inline one, are streamed whole as well as given as bytes', async (t) => {
  const files = { 'small.bin': randomBytes(20_000), 'tiny.txt': Buffer.from('inline') };
  const { grid, entry: entryOf } = await backedUp(t, 'one-piece', files);
  for (const [name, want] of Object.entries(files)) {
    const entry = entryOf(name);
    for (const whole of [false, true]) {
      const c = await openContent(grid.src, entry, undefined, { whole });
      assert.ok(c.bytes && Buffer.from(c.bytes).equals(want), name);
      const parts: Uint8Array[] = [];
      for await (const b of c.stream) parts.push(b);
      assert.equal(parts.length, 1, name);
      assert.ok(Buffer.from(parts[0]).equals(want), name);
    }
  }
});

test('one saveBlobs call with a repeated blob, then a known one, then a new one stores the new one', async (t) => {
  // The index is asked once for the call's ids; a repeat of a blob stored earlier in the same call must not shift
  // which answer belongs to which blob (a shifted answer called the last, new blob known: it was never stored).
  const grid = await createGrid();
  t.after(() => grid.close());
  const known = randomBytes(5000);
  await grid.repo.saveBlobs('data', [known]);
  await grid.repo.flush();
  const a = randomBytes(5000);
  const fresh = randomBytes(5000);
  const rs = await grid.repo.saveBlobs('data', [a, a, known, fresh]);
  assert.deepEqual(
    rs.map((r) => r.isNew),
    [true, false, false, true]
  );
  await grid.repo.flush(); // stores the open pack: `stored` settles only once its pack is in the swarm
  await Promise.all(rs.map((r) => r.stored));
  for (const [i, plain] of [a, a, known, fresh].entries())
    assert.ok(Buffer.from(await grid.repo.loadBlob('data', rs[i].ref)).equals(plain), `blob ${i} reads back`);
});

test('pooled plaintexts: a released blob buffer is handed out again; what a caller still holds is never reused', async (t) => {
  const grid = await createGrid();
  t.after(() => grid.close());
  plainPool.clear(); // earlier restores in this file left buffers there
  smallPlainPool.clear();
  const raw = [randomBytes(300_000), randomBytes(200_000)];
  const zstd = Buffer.alloc(400_000, 'compressible ');
  const saved = await grid.repo.saveBlobs('data', [...raw, zstd]);
  await grid.repo.flush();
  await Promise.all(saved.map((s) => s.stored));
  const [a, b, z] = saved.map((s) => s.ref);
  const first = await grid.repo.loadBlob('data', a, { pooled: true });
  assert.deepEqual(Buffer.from(first), raw[0]);
  const held = await grid.repo.loadBlob('data', b, { pooled: true }); // kept: never released
  assert.notEqual(held.buffer, first.buffer);
  grid.repo.releaseBlob(first);
  const again = await grid.repo.loadBlob('data', b, { pooled: true });
  assert.equal(again.buffer, first.buffer, 'the released buffer is reused');
  assert.deepEqual(Buffer.from(again), raw[1]);
  assert.deepEqual(Buffer.from(held), raw[1], 'the held one is untouched');
  grid.repo.releaseBlob(again);
  // A compressed blob decompresses into pooled memory of its own; its payload buffer goes back at once.
  const unz = await grid.repo.loadBlob('data', z, { pooled: true });
  assert.deepEqual(Buffer.from(unz), zstd);
  assert.notEqual(unz.buffer, again.buffer);
  const next = await grid.repo.loadBlob('data', a, { pooled: true });
  assert.equal(next.buffer, again.buffer, "the compressed blob's payload buffer was given back");
  // Both released: the compressed blob read again takes the smaller buffer for its payload and decodes into its
  // own earlier plaintext buffer (before, that plaintext was fresh memory each time, left to the collector).
  grid.repo.releaseBlob(next);
  grid.repo.releaseBlob(unz);
  const unzAgain = await grid.repo.loadBlob('data', z, { pooled: true });
  assert.equal(unzAgain.buffer, unz.buffer, "a compressed blob's plaintext buffer is the pool's and is reused");
  assert.deepEqual(Buffer.from(unzAgain), zstd);
  grid.repo.releaseBlob(unzAgain);
  grid.repo.releaseBlob(held);
  const plain = await grid.repo.loadBlob('data', a); // not pooled: fresh memory
  assert.notEqual(plain.buffer, held.buffer);
  assert.notEqual(plain.buffer, next.buffer);
  assert.notEqual(plain.buffer, unz.buffer);
});

test("a run's stored blobs reach the local index a batch at a time as their packs are stored, not only at its flush; a run holds no list of them all", async (t) => {
  // A backup of millions of files kept every blob's id, location and promise until its one flush at the end.
  // Now each batch of INDEX_WRITE_BATCH stored locations is written while the run goes on, and leaves `pending`.
  const grid = await createGrid({ packTargetBytes: 256 * 1024 });
  t.after(() => grid.close());
  const total = INDEX_WRITE_BATCH + 300;
  const plains = Array.from({ length: total }, () => randomBytes(1024));
  const results = [];
  for (let i = 0; i < total; i += 100) results.push(...(await grid.repo.saveBlobs('data', plains.slice(i, i + 100))));
  assert.ok(results.every((r) => r.isNew));
  const firstIds = results.slice(0, INDEX_WRITE_BATCH).map((r) => hexOfId(r.ref.id));
  // The first batch's packs are stored while the run is still open (only the last, open pack waits for the flush).
  await Promise.all(results.slice(0, INDEX_WRITE_BATCH).map((r) => r.stored));
  let indexed = 0;
  for (let waited = 0; waited < 10_000 && indexed < INDEX_WRITE_BATCH; waited += 20) {
    indexed = (await grid.repo.index.getMany(firstIds)).filter((l) => l !== undefined).length;
    if (indexed < INDEX_WRITE_BATCH) await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(indexed, INDEX_WRITE_BATCH, 'the first batch is in the local index before any flush');
  assert.ok((await grid.repo.index.unpublished()).length >= INDEX_WRITE_BATCH);
  // Found there by the same run: stored once, whether a blob is still pending or already indexed.
  const again = await grid.repo.saveBlobs('data', plains);
  assert.ok(again.every((r) => !r.isNew));
  assert.deepEqual(await grid.repo.has(results.map((r) => r.ref.id)), Array(total).fill(true));
  await grid.repo.flush();
  const own = await grid.repo.index.unpublished();
  assert.equal(own.length, total, 'every blob of the run indexed once');
  assert.deepEqual(new Set(own.map((e) => hexOfId(e.id))), new Set(results.map((r) => hexOfId(r.ref.id))));
  for (const i of [0, INDEX_WRITE_BATCH - 1, total - 1]) assert.ok(Buffer.from(await grid.repo.loadBlob('data', results[i].ref)).equals(plains[i]));
});

test('a flush ends a run of uploads: the pack store is told to let go of memory kept for the next packs, after the last upload', async (t) => {
  const grid = await createGrid();
  t.after(() => grid.close());
  const calls: string[] = [];
  const repo = new Repository({
    packs: {
      ...grid.packs,
      async putPack(bytes, o) {
        const cap = await grid.packs.putPack(bytes, o);
        calls.push('put');
        return cap;
      },
      release: () => calls.push('release')
    },
    record: grid.record,
    secret: grid.secret,
    readCap: repoReadCap(grid.secret),
    index: await openLocalIndex(join(work, 'release-index'))
  });
  t.after(() => repo.close());
  await repo.saveBlobs('data', [randomBytes(1000)]);
  assert.deepEqual(calls, [], 'nothing stored or released while the pack is open');
  await repo.flush();
  assert.deepEqual(calls, ['put', 'release']);
});

test('locateMany answers as locate does, in order, in few index reads; a blob of an open pack and one only the swarm knows too', async (t) => {
  const grid = await createGrid();
  t.after(() => grid.close());
  const plains = Array.from({ length: 1500 }, (_, i) => Buffer.from(`blob ${i} `.repeat(40)));
  const saved = await grid.repo.saveBlobs('data', plains);
  await grid.repo.flush();
  await grid.repo.publish();
  // One more, still in its open pack (pending: not in the index yet).
  const [open] = await grid.repo.saveBlobs('data', [Buffer.from('not flushed yet')]);
  // A second device knows nothing until it merges the swarm's index (its first miss does that).
  const laptop = await grid.device('laptop');
  const ids = [...saved.map((s) => s.ref.id), saved[7].ref.id];
  let reads = 0;
  const getMany = laptop.index.getMany.bind(laptop.index);
  laptop.index.getMany = (x) => (reads++, getMany(x));
  const got = await laptop.locateMany(ids.map(hexOfId));
  // The first batch: one read, one merge of the swarm's index, one read of its misses; the second: one read.
  assert.equal(reads, 3, `${reads} index reads for ${ids.length} ids`);
  assert.equal(got.length, ids.length);
  for (const [i, id] of ids.entries()) assert.deepEqual(got[i], await laptop.locate(id), `blob ${i}`);
  // The writer itself: its open pack's blob is located once the pack is stored, like locate does.
  const [mine] = await Promise.all([grid.repo.locateMany([saved[0].ref.id, open.ref.id].map(hexOfId)), grid.repo.flush()]);
  const where = await grid.repo.locate(open.ref.id);
  assert.equal(formatCap(mine[1].pack), formatCap(where.pack));
  assert.deepEqual([mine[1].offset, mine[1].length, mine[1].kind], [where.offset, where.length, where.kind]);
  await assert.rejects(laptop.locateMany([saved[1].ref.id, randomBytes(32)].map(hexOfId)), BlobNotFoundError);
});

/** A repository on `grid` over its own local index wrapped by `wrap` (tests that time or fail the index's calls). */
async function repoOver(grid: Awaited<ReturnType<typeof createGrid>>, name: string, wrap: (index: BlobIndex) => BlobIndex) {
  const repo = new Repository({
    packs: grid.packs,
    record: grid.record,
    secret: grid.secret,
    readCap: repoReadCap(grid.secret),
    index: wrap(await openLocalIndex(join(work, name))),
    packTargetBytes: 256 * 1024
  });
  return repo;
}

test('a blob pending when the index is asked and indexed before the answer comes is still known: saveBlobs stores it once, has() says held', async (t) => {
  const grid = await createGrid();
  t.after(() => grid.close());
  // The batch write of stored locations waits at `gate`; an index read taken while `stale` is set answers from
  // before that write, then lets it commit (and the ids leave `pending`) before the answer arrives.
  let gate: (() => void) | null = null;
  let committed: Promise<void> = Promise.resolve();
  let stale = false;
  const repo = await repoOver(grid, 'race-index', (index) => ({
    ...index,
    async addOwn(entries) {
      if (entries.length < INDEX_WRITE_BATCH) return index.addOwn(entries);
      committed = new Promise<void>((done) => {
        gate = async () => {
          await index.addOwn(entries);
          await new Promise((r) => setImmediate(r)); // the ids leave `pending` right after the write
          done();
        };
      });
      await committed;
    },
    // The reads deduplication makes (saveBlobs, has).
    async heldMany(ids) {
      const answers = await index.heldMany(ids);
      if (stale && gate) {
        stale = false;
        const open = gate;
        gate = null;
        void open();
        await committed;
      }
      return answers;
    }
  }));
  t.after(() => repo.close());
  const waitForGate = async () => {
    for (let i = 0; i < 500 && !gate; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(gate, "a batch's write is waiting at the gate");
  };
  // More than a batch: the packs of the first INDEX_WRITE_BATCH stored blobs are stored while the run goes on.
  const plains = Array.from({ length: INDEX_WRITE_BATCH + 300 }, () => randomBytes(1024));
  const first = await repo.saveBlobs('data', plains);
  await waitForGate();
  // A batch of ids is pending with its write held back; the next index read lets the write through behind its back.
  stale = true;
  const fresh = randomBytes(1024);
  const again = await repo.saveBlobs('data', [...plains, fresh]);
  assert.equal(stale, false, 'the race happened');
  assert.deepEqual(
    again.map((r) => r.isNew),
    [...plains.map(() => false), true],
    'every blob of the run is known, the new one is new'
  );
  assert.equal(repo.stats.blobsNew, plains.length + 1);
  assert.equal(repo.stats.blobsKnown, plains.length);
  assert.equal(repo.stats.bytesNew, (plains.length + 1) * 1024);
  // has(): the same race with the next batch, and an id nobody stored.
  const more = Array.from({ length: INDEX_WRITE_BATCH + 300 }, () => randomBytes(1024));
  const third = await repo.saveBlobs('data', more);
  await waitForGate();
  stale = true;
  assert.deepEqual(await repo.has([...first, ...third].map((r) => r.ref.id).concat([randomBytes(32)])), [...first, ...third].map(() => true).concat([false]));
  assert.equal(stale, false, 'the race happened');
  await repo.flush();
  assert.equal((await repo.index.unpublished()).length, 2 * plains.length + 1);
});

test('a batch write of stored locations that fails is written again at the flush: no location is lost', async (t) => {
  const grid = await createGrid();
  t.after(() => grid.close());
  let failures = 0;
  const repo = await repoOver(grid, 'fail-index', (index) => ({
    ...index,
    async addOwn(entries) {
      if (failures === 0 && entries.length >= INDEX_WRITE_BATCH) {
        failures++;
        throw new Error('disk full (injected)');
      }
      return index.addOwn(entries);
    }
  }));
  t.after(() => repo.close());
  const plains = Array.from({ length: INDEX_WRITE_BATCH + 10 }, () => randomBytes(1024));
  const rs = await repo.saveBlobs('data', plains);
  await repo.flush();
  await Promise.all(rs.map((r) => r.stored));
  assert.equal(failures, 1, 'the first batch write failed');
  const own = await repo.index.unpublished();
  assert.deepEqual(new Set(own.map((e) => hexOfId(e.id))), new Set(rs.map((r) => hexOfId(r.ref.id))));
  assert.deepEqual(
    await repo.has(rs.map((r) => r.ref.id)),
    rs.map(() => true)
  );
});

test('the local index hands out its unpublished entries a page at a time, in id order, each entry once', async () => {
  const index = await openLocalIndex(join(work, 'pages-index'));
  try {
    const pack = { type: 'pack' as const, uebHash: randomBytes(32), k: 3, n: 5, size: 1000 };
    const own = Array.from({ length: 5 }, (_, i) => ({ id: randomBytes(32), pack, offset: i, length: 1, kind: 'data' as const }));
    await index.addOwn(own);
    await index.addPart('merged', [{ id: randomBytes(32), pack, offset: 99, length: 1, kind: 'data' as const }]);
    const pages = async (size: number) => {
      const out: string[][] = [];
      for await (const page of index.unpublishedPages(size)) out.push(page.map((e) => hexOfId(e.id)));
      return out;
    };
    const sorted = own.map((e) => hexOfId(e.id)).sort();
    assert.deepEqual(await pages(2), [sorted.slice(0, 2), sorted.slice(2, 4), sorted.slice(4)]);
    assert.deepEqual(await pages(5), [sorted]);
    assert.deepEqual(
      await pages(1),
      sorted.map((h) => [h])
    );
    for await (const page of index.unpublishedPages(2)) assert.equal(page[0].offset, own.find((e) => hexOfId(e.id) === hexOfId(page[0].id))!.offset);
    await index.markPublished(sorted);
    assert.deepEqual(await pages(2), []);
  } finally {
    await index.close();
  }
});

test('a publish of more entries than one index part stores one part per INDEX_PART_ENTRIES, marks every entry published, and another device finds them all', async (t) => {
  const grid = await createGrid();
  t.after(() => grid.close());
  const [r] = await grid.repo.saveBlobs('data', [randomBytes(2000)]);
  await grid.repo.flush();
  await r.stored;
  const loc = await grid.repo.locate(r.ref.id);
  // Entries of the same pack under ids of their own (the index does not check them against the pack).
  const extra = Array.from({ length: INDEX_PART_ENTRIES }, () => ({ id: randomBytes(32), ...loc }));
  await grid.repo.index.addOwn(extra);
  const before = (await grid.repo.readRecord()).record.index.length;
  assert.equal(await grid.repo.publish(), INDEX_PART_ENTRIES + 1);
  assert.equal((await grid.repo.readRecord()).record.index.length, before + 2, 'two parts');
  assert.deepEqual(await grid.repo.index.unpublished(), []);
  assert.equal(await grid.repo.publish(), 0, 'nothing left to publish');
  const other = await grid.device('other');
  const sample = [r.ref.id, extra[0].id, extra[INDEX_PART_ENTRIES - 1].id, extra[12345].id];
  const found = await other.locateMany(sample.map(hexOfId));
  assert.deepEqual(
    found.map((l) => [l.offset, l.length]),
    sample.map(() => [loc.offset, loc.length])
  );
});

test('the local index: own entries are found before and after publishing and across a reset; merged ones go with a reset', async () => {
  const index = await openLocalIndex(join(work, 'own-index'));
  try {
    const pack = { type: 'pack' as const, uebHash: randomBytes(32), k: 3, n: 5, size: 1000 };
    const own = { id: randomBytes(32), pack, offset: 0, length: 10, kind: 'data' as const };
    const merged = { id: randomBytes(32), pack, offset: 10, length: 10, kind: 'data' as const };
    const hexOf = (e: { id: Uint8Array }) => Buffer.from(e.id).toString('hex');
    await index.addOwn([own]);
    await index.addPart('part-1', [merged]);
    const found = async () => (await index.getMany([hexOf(own), hexOf(merged)])).map((l) => l?.offset);
    assert.deepEqual(await found(), [0, 10]);
    const device = await index.deviceId();
    await index.reset(1);
    assert.deepEqual(await found(), [0, undefined], 'unpublished: still visible; merged: gone');
    assert.deepEqual((await index.unpublished()).map(hexOf), [hexOf(own)], 'still to be published');
    assert.equal(await index.deviceId(), device, 'the device keeps its id');
    assert.equal(await index.hasPart('part-1'), false);
    assert.equal(await index.generation(), 1);
    await index.markPublished([hexOf(own)]);
    assert.deepEqual(await found(), [0, undefined], 'published: still visible until the next reset');
    assert.deepEqual(await index.unpublished(), []);
    await index.reset(2);
    assert.deepEqual(await found(), [undefined, undefined]);
  } finally {
    await index.close();
  }
});

test("a backup's lock, sync and publish read the record once; the head is written before the record names the parts, and the folder is registered in the write that releases the lock", async (t) => {
  const grid = await createGrid();
  t.after(() => grid.close());
  const dir = await tree('record-trips');
  const folder = formatCap(toReadCap(createMutableWriteCap()));
  const r0 = grid.record.reads;
  const w0 = grid.record.writes;
  await grid.repo.sync(undefined, await grid.repo.lock('backup'));
  await backup(dir, { repo: grid.repo, chunker: grid.chunker });
  let headDone = false;
  let writesAtHead = -1;
  await grid.repo.publish({
    unlock: true,
    folder,
    alongside: async () => {
      await new Promise((r) => setTimeout(r, 50));
      writesAtHead = grid.record.writes;
      headDone = true;
    }
  });
  assert.ok(headDone);
  assert.equal(writesAtHead, w0 + 1, 'only the lock was written when the head was');
  assert.equal(grid.record.reads - r0, 1, 'one read: the lock found no record to guess from');
  assert.equal(grid.record.writes - w0, 2, 'the lock, then parts + folder + unlock in one write');
  const { record } = await grid.repo.readRecord();
  assert.deepEqual(record.folders, [folder]);
  assert.deepEqual(record.locks, []);
  assert.ok(record.index.length >= 1);

  // The next backup of the same folder: no read at all (the device's own last write is the guess), two writes.
  const r1 = grid.record.reads;
  await grid.repo.sync(undefined, await grid.repo.lock('backup'));
  await grid.repo.publish({ unlock: true, folder });
  assert.equal(grid.record.reads - r1, 0);
  assert.equal(grid.record.writes - w0, 4);
  assert.deepEqual((await grid.repo.readRecord()).record.folders, [folder], 'registered once');
});

test('a stale guess of the record is refused by the compare-and-swap and read again: nothing another device wrote is lost, and a lock it released does not block', async (t) => {
  const grid = await createGrid();
  t.after(() => grid.close());
  const laptop = await grid.device('laptop');
  const dir = await tree('stale-guess');
  const folder = formatCap(toReadCap(createMutableWriteCap()));
  // The main device's guess: the record with the laptop's prune lock.
  await laptop.lock('prune');
  await assert.rejects(grid.repo.lock('backup'), RepoLockedError);
  // The laptop publishes blobs of its own and releases its lock: the main device's guess is now stale twice over.
  await backup(dir, { repo: laptop, chunker: grid.chunker });
  await laptop.publish({ unlock: true, folder });
  const laptopParts = (await laptop.readRecord()).record.index.map((p) => hexOfId(p.id));
  assert.ok(laptopParts.length >= 1);
  // Locking on the stale guess would throw RepoLockedError; it is read again and the lock is taken.
  const reads = grid.record.reads;
  const rec = await grid.repo.lock('backup');
  assert.equal(grid.record.reads - reads, 1, 'the guess that threw was read again once');
  assert.equal(rec.locks.length, 1);
  // A publish on a guess the laptop moved: the swap refuses it, the record is read again, and both devices' parts stay.
  await backup(join(dir, 'a'), { repo: grid.repo, chunker: grid.chunker, time: Date.now() + 1 });
  await laptop.lock('backup');
  const readsBefore = grid.record.reads;
  await grid.repo.publish({ unlock: true });
  assert.equal(grid.record.reads - readsBefore, 1, 'the refused guess was read again once');
  const after = (await grid.repo.readRecord()).record;
  for (const id of laptopParts)
    assert.ok(
      after.index.some((p) => hexOfId(p.id) === id),
      'the laptop part stays'
    );
  assert.ok(after.index.length > laptopParts.length, 'the main device added its part');
  assert.deepEqual(
    after.locks.map((l) => l.kind),
    ['backup'],
    "the laptop's lock stays; the main device's is released"
  );
  assert.deepEqual(after.folders, [folder]);
});

test('record updates: a change with nothing to do writes nothing (a guess is read again first); conflicts are retried a bounded number of times; another error is not retried', async (t) => {
  const grid = await createGrid();
  t.after(() => grid.close());
  let conflicts = 0;
  let failWith: Error | null = null;
  const writes: number[] = [];
  const record = {
    read: (o?: { signal?: AbortSignal }) => grid.record.read(o),
    async write(payload: Uint8Array, prevSeq: number | null) {
      writes.push(prevSeq ?? 0);
      if (failWith) throw failWith;
      if (conflicts > 0) {
        conflicts--;
        throw new RecordConflictError(prevSeq, (prevSeq ?? 0) + 1);
      }
      return grid.record.write(payload, prevSeq);
    }
  };
  const repo = new Repository({
    packs: grid.packs,
    record,
    secret: grid.secret,
    readCap: repoReadCap(grid.secret),
    index: await openLocalIndex(join(work, 'updates-index'))
  });
  t.after(() => repo.close());
  const folder = formatCap(toReadCap(createMutableWriteCap()));

  // Nothing to publish, no lock, no folder: no record access at all.
  const r0 = grid.record.reads;
  assert.equal(await repo.publish({ unlock: true }), 0);
  assert.equal(grid.record.reads, r0);
  assert.deepEqual(writes, []);

  await repo.publish({ folder }); // registers the folder: read (nothing known yet), then one write, no index part
  assert.deepEqual(writes, [0]);
  assert.equal(grid.record.reads, r0 + 1);
  assert.deepEqual((await repo.readRecord()).record.index, [], 'no empty index part');

  // The folder is registered already: the guess says "nothing to do", which is read again before it counts.
  const r1 = grid.record.reads;
  const same = await repo.updateRecord((r) => (r.folders.includes(folder) ? null : r));
  assert.deepEqual(same.folders, [folder]);
  assert.equal(grid.record.reads, r1 + 1, 'the guess was read again');
  assert.deepEqual(writes, [0], 'nothing written');
  await repo.publish({ unlock: true, folder });
  assert.deepEqual(writes, [0], 'no part, no lock of ours, folder known: nothing written');

  // Conflicts: one try on the guess, then RECORD_RETRIES + 1 on fresh reads, then RepoConflictError.
  conflicts = 100;
  writes.length = 0;
  await assert.rejects(
    repo.updateRecord((r) => ((r.folders = [...r.folders, formatCap(toReadCap(createMutableWriteCap()))]), r)),
    (e: Error) => e instanceof RepoConflictError && /9 attempts/.test(e.message)
  );
  assert.equal(writes.length, 10);
  // Two conflicts, then the write goes through.
  conflicts = 2;
  writes.length = 0;
  const other = formatCap(toReadCap(createMutableWriteCap()));
  assert.ok((await repo.updateRecord((r) => ((r.folders = [...r.folders, other]), r))).folders.includes(other));
  assert.equal(writes.length, 3);
  assert.deepEqual((await repo.readRecord()).record.folders, [folder, other]);
  // Anything else than a conflict is not retried.
  failWith = new Error('holders unreachable');
  writes.length = 0;
  await assert.rejects(
    repo.updateRecord((r) => ((r.folders = []), r)),
    /holders unreachable/
  );
  assert.equal(writes.length, 1);
});

test('a publish whose head write fails writes no record: the lock stays, and the next publish lists the blobs', async (t) => {
  const grid = await createGrid();
  t.after(() => grid.close());
  const dir = await tree('head-fails');
  const folder = formatCap(toReadCap(createMutableWriteCap()));
  await grid.repo.sync(undefined, await grid.repo.lock('backup'));
  await backup(dir, { repo: grid.repo, chunker: grid.chunker });
  const w0 = grid.record.writes;
  await assert.rejects(
    grid.repo.publish({
      unlock: true,
      folder,
      alongside: async () => {
        await new Promise((r) => setTimeout(r, 20));
        throw new Error('head not written');
      }
    }),
    /head not written/
  );
  assert.equal(grid.record.writes, w0, 'no record write: the parts are not listed, the lock is not released');
  const held = (await grid.repo.readRecord()).record;
  assert.equal(held.locks.length, 1);
  assert.deepEqual(held.index, []);
  assert.deepEqual(held.folders, []);
  const n = await grid.repo.publish({ unlock: true, folder });
  assert.ok(n >= 6, `the blobs of the backup are published by the next publish (${n})`);
  const after = (await grid.repo.readRecord()).record;
  assert.deepEqual(after.locks, []);
  assert.deepEqual(after.folders, [folder]);
  assert.ok(after.index.length >= 1);
  // A reader with the repository's read cap alone finds every blob of the backup through the listed parts.
  const reader = new Repository({
    packs: grid.packs,
    record: grid.record,
    readCap: repoReadCap(grid.secret),
    index: await openLocalIndex(join(work, 'head-fails-reader'))
  });
  t.after(() => reader.close());
  const out = join(work, 'head-fails-out');
  const last = await backup(dir, { repo: grid.repo, chunker: grid.chunker, time: Date.now() + 5 });
  await grid.repo.publish();
  await restore(last.snapshotCap, out, { src: { reader: () => reader } });
  assert.deepEqual(await describeTree(out), await describeTree(dir));
});

test('planReads locates every chunk first: one unknown or of another kind fails it with a named error', async (t) => {
  const grid = await createGrid();
  t.after(() => grid.close());
  const [d] = await grid.repo.saveBlobs('data', [randomBytes(5000)]);
  const [l] = await grid.repo.saveBlobs('list', [randomBytes(300)]);
  await grid.repo.flush();
  const plan = await grid.repo.planReads('data', [d.ref, d.ref]);
  for (let i = 0; i < 2; i++) assert.equal((await grid.repo.loadBlob('data', d.ref, { plan })).length, 5000);
  plan.close();
  await assert.rejects(grid.repo.planReads('data', [d.ref, { id: randomBytes(32), key: d.ref.key }]), BlobNotFoundError);
  await assert.rejects(grid.repo.planReads('data', [d.ref, l.ref]), /a list blob, a data blob was expected/);
});

/** A real LevelDB index that counts its reads (getMany calls and ids asked). */
async function countedIndex(name: string) {
  const index = await openLocalIndex(join(work, name));
  const reads = { calls: 0, ids: 0 };
  const counted = Object.assign(Object.create(index) as typeof index, {
    getMany(ids: string[]) {
      reads.calls++;
      reads.ids += ids.length;
      return index.getMany(ids);
    }
  });
  return { index: counted, reads };
}

test('locateAhead: the next locate of each id takes its location without reading the index; unknown ids are left to locate', async (t) => {
  const grid = await createGrid();
  t.after(() => grid.close());
  const saved = await grid.repo.saveBlobs('data', [randomBytes(3000), randomBytes(3000), randomBytes(3000)]);
  await grid.repo.publish();
  const { index, reads } = await countedIndex('ahead-index');
  const reader = new Repository({ packs: grid.packs, record: grid.record, readCap: repoReadCap(grid.secret), index });
  t.after(() => reader.close());
  await reader.sync();
  const unknown = randomBytes(32);
  await reader.locateAhead([...saved.map((s) => s.ref.id), saved[0].ref.id, unknown]);
  assert.deepEqual(reads, { calls: 1, ids: 4 }, 'one index read for all of them, each id asked once');
  await reader.locateAhead(saved.map((s) => s.ref.id));
  assert.deepEqual(reads, { calls: 1, ids: 4 }, 'ids already looked up are not asked again');
  const again = await grid.repo.locateMany(saved.map((s) => hexOfId(s.ref.id)));
  for (const [i, s] of saved.entries()) assert.deepEqual(await reader.locate(s.ref.id), again[i]);
  assert.equal(reads.calls, 1, 'located from what was looked up ahead');
  await reader.locate(saved[0].ref.id);
  assert.equal(reads.calls, 2, 'taken once: the next locate reads the index again');
  await assert.rejects(reader.locate(unknown), BlobNotFoundError);
  // A location looked up ahead is forgotten with the cache (prune replaced the index).
  await reader.locateAhead([saved[1].ref.id]);
  reader.clearCache();
  const before = reads.calls;
  assert.equal((await reader.loadBlob('data', saved[1].ref)).length, 3000);
  assert.equal(reads.calls, before + 1);
});

test("restore looks up a directory's blobs together: index reads per 1,024 entries, not one per file", async (t) => {
  const grid = await createGrid();
  t.after(() => grid.close());
  const dir = join(work, 'ahead-src');
  const DIRS = 12;
  for (let d = 0; d < DIRS; d++) {
    await mkdir(join(dir, `d${d}`), { recursive: true });
    // Files in packs, and one inline (its content is in the tree: nothing to look up, and it must not spoil the rest).
    for (let i = 0; i < 12; i++) await writeFile(join(dir, `d${d}`, `f${i}`), randomBytes(200 + i));
    await writeFile(join(dir, `d${d}`, 'tiny'), 'inline');
  }
  const b = await backup(dir, { repo: grid.repo, chunker: grid.chunker, time: Date.now() });
  await grid.repo.publish();
  const { index, reads } = await countedIndex('ahead-restore-index');
  const reader = new Repository({ packs: grid.packs, record: grid.record, readCap: repoReadCap(grid.secret), index });
  t.after(() => reader.close());
  const out = join(work, 'ahead-out');
  // The daemon's source makes a reader from the cap (src/peer/folders.ts): none for a cap that is not there.
  await restore(b.snapshotCap, out, { src: { reader: (repo) => (repo ? reader : assert.fail('a reader asked for no repository')) } });
  assert.deepEqual(await describeTree(out), await describeTree(dir));
  // One look-ahead per directory (which also finds its subdirectories' trees), and the snapshot, the root tree
  // and a first sync's miss: one read per file (or per directory) would make DIRS x 12 (or DIRS) more.
  assert.ok(reads.calls <= DIRS + 1 + 4, `index reads: ${reads.calls}`);
});

test('locateAhead keeps at most LOCATE_AHEAD_MAX locations, the oldest going first', async (t) => {
  const grid = await createGrid();
  t.after(() => grid.close());
  const saved = await grid.repo.saveBlobs(
    'data',
    Array.from({ length: LOCATE_AHEAD_MAX + 1 }, (_, i) => new TextEncoder().encode(`blob ${i}`))
  );
  await grid.repo.publish();
  const { index, reads } = await countedIndex('ahead-bound-index');
  const reader = new Repository({ packs: grid.packs, record: grid.record, readCap: repoReadCap(grid.secret), index });
  t.after(() => reader.close());
  await reader.sync();
  await reader.locateAhead(saved.map((s) => s.ref.id));
  const before = reads.calls;
  await reader.locate(saved.at(-1)!.ref.id);
  assert.equal(reads.calls, before, 'the newest is kept');
  await reader.locate(saved[0].ref.id);
  assert.equal(reads.calls, before + 1, 'the oldest went to make room');
});

test("locatePacks names each blob's pack in order, past one index batch (1,024 ids), and each pack once", async (t) => {
  const grid = await createGrid();
  t.after(() => grid.close());
  // Two runs, so the blobs are in several packs, in an order that interleaves them.
  const first = await grid.repo.saveBlobs(
    'data',
    Array.from({ length: 700 }, () => randomBytes(2000))
  );
  await grid.repo.flush();
  const second = await grid.repo.saveBlobs(
    'data',
    Array.from({ length: 700 }, () => randomBytes(2000))
  );
  await grid.repo.flush();
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  const ids = first.flatMap((r, i) => [hex(r.ref.id), hex(second[i].ref.id)]);
  const packs = new Map<string, PackCap>();
  const keys = await grid.repo.locatePacks(ids, packs);
  const where = await grid.repo.locateMany(ids);
  assert.equal(keys.length, 1400);
  assert.deepEqual(
    keys,
    where.map((l) => packKey(l.pack))
  );
  assert.deepEqual(new Set(packs.keys()), new Set(keys));
  assert.ok(packs.size >= 2, `${packs.size} packs`);
  for (const [key, cap] of packs) assert.equal(packKey(cap), key);
});
