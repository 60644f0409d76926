// Incremental backup: a second backup reads only the changed file and stores only it, the trees on its path
// and the snapshot (one pack of data, one of metadata). P2PB_MANY_FILES=10000 runs the same test on a bigger
// tree. A file changed behind an unchanged size and mtime is still caught (its ctime or inode moved).
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backup, openBackupCache, diff, pruneRepository, restore, type BackupCache } from '../../src/backup/index.ts';
import { createGrid, type Grid } from './grid.ts';
import { describeTree, makeTree } from './tree.ts';

const FILES = Number(process.env.P2PB_MANY_FILES ?? 2000);
const PER_DIR = 100;
let grid: Grid, work: string, cache: BackupCache;
before(async () => {
  grid = await createGrid();
  work = await mkdtemp(join(tmpdir(), 'p2pb-inc-'));
  cache = await openBackupCache(join(work, 'cache'));
});
after(async () => {
  await cache.close();
  await grid.close();
  await rm(work, { recursive: true, force: true });
});

/** A grid and a backup cache of the test's own (`name` under the work dir), both closed when it ends. */
async function gridAndCache(t: TestContext, name: string): Promise<{ g: Grid; c: BackupCache }> {
  const g = await createGrid();
  t.after(() => g.close());
  const c = await openBackupCache(join(work, name));
  t.after(() => c.close());
  return { g, c };
}

test(`second backup of ${FILES} files reads and uploads only what changed`, { timeout: 600_000 }, async () => {
  const src = join(work, 'src');
  // Mostly literal-sized files (the backup logic is the same; shares for each would only slow the test),
  // every 50th one big enough to be stored as shares.
  for (let d = 0; d < FILES / PER_DIR; d++) {
    await mkdir(join(src, `d${d}`, 'sub'), { recursive: true });
    for (let i = 0; i < PER_DIR; i++) {
      const body = i % 50 === 0 ? `file ${d}/${i} `.repeat(10) : `file ${d}/${i}`;
      await writeFile(join(src, `d${d}`, i % 2 ? 'sub' : '', `f${i}`), body);
    }
  }
  const first = await backup(src, { repo: grid.repo, chunker: grid.chunker, cache });
  assert.equal(first.stats.files, FILES);
  assert.equal(first.stats.unchanged, 0);

  const changed = join(src, 'd3', 'sub', 'f7');
  const body = 'changed content, long enough to be stored as shares on the grid';
  await writeFile(changed, body);
  const before = { puts: grid.packs.puts, gets: grid.packs.gets };
  const second = await backup(src, { repo: grid.repo, chunker: grid.chunker, cache, parent: first.snapshotCap });
  assert.equal(second.stats.bytesRead, Buffer.byteLength(body));
  assert.equal(second.stats.unchanged, FILES - 1);
  // The file, its three directories (sub, d3, root) and the snapshot: 5 new blobs in 2 packs (data, metadata).
  assert.equal(second.stats.blobsNew, 5);
  assert.equal(second.stats.packs, 2);
  assert.equal(grid.packs.puts - before.puts, 2);
  assert.equal(second.stats.dirsReused, second.stats.dirs - 3);
  assert.equal(grid.packs.gets - before.gets, 0);
  assert.deepEqual((await diff(grid.src, first.snapshotCap, second.snapshotCap)).changed, ['d3/sub/f7']);

  // Nothing changed: only the snapshot object is new.
  const third = await backup(src, { repo: grid.repo, chunker: grid.chunker, cache });
  assert.equal(third.stats.bytesRead, 0);
  assert.equal(third.stats.blobsNew, 1);
  assert.equal(third.stats.packs, 1);
  assert.equal(third.root, second.root);
});

test('a file rewritten with the same size and mtime is read again: its ctime (same inode) or its inode (replaced) tells', async () => {
  const src = join(work, 'same-size-same-mtime');
  const T0 = Date.UTC(2024, 5, 1, 12, 0, 0); // whole seconds: utimes sets it back exactly
  await makeTree(src, {
    'a.txt': { type: 'file', content: 'a'.repeat(64), mtimeMs: T0 },
    'b.txt': { type: 'file', content: 'b'.repeat(64), mtimeMs: T0 },
    'c.txt': { type: 'file', content: 'c'.repeat(64), mtimeMs: T0 }
  });
  const first = await backup(src, { repo: grid.repo, chunker: grid.chunker, cache });
  const before = { a: await lstat(join(src, 'a.txt'), { bigint: true }), b: await lstat(join(src, 'b.txt'), { bigint: true }) };
  // a.txt: new bytes in place, mtime put back: same inode, size and mtime; only its ctime moved.
  await writeFile(join(src, 'a.txt'), 'A'.repeat(64));
  await utimes(join(src, 'a.txt'), T0 / 1000, T0 / 1000);
  // b.txt: replaced by another file of the same size and mtime (an editor's save-by-rename): a new inode.
  await writeFile(join(src, 'b.new'), 'B'.repeat(64));
  await utimes(join(src, 'b.new'), T0 / 1000, T0 / 1000);
  await rename(join(src, 'b.new'), join(src, 'b.txt'));
  const now = { a: await lstat(join(src, 'a.txt'), { bigint: true }), b: await lstat(join(src, 'b.txt'), { bigint: true }) };
  for (const f of ['a', 'b'] as const) {
    assert.equal(now[f].size, before[f].size, `${f}.txt: same size`);
    assert.equal(now[f].mtimeNs, before[f].mtimeNs, `${f}.txt: same mtime`);
  }
  assert.equal(now.a.ino, before.a.ino, 'a.txt: same inode');
  assert.notEqual(now.a.ctimeNs, before.a.ctimeNs, 'a.txt: its ctime moved');
  assert.notEqual(now.b.ino, before.b.ino, 'b.txt: another inode');

  const second = await backup(src, { repo: grid.repo, chunker: grid.chunker, cache, parent: first.snapshotCap });
  assert.equal(second.stats.unchanged, 1, 'only c.txt comes from the cache');
  assert.equal(second.stats.bytesRead, 128);
  assert.deepEqual((await diff(grid.src, first.snapshotCap, second.snapshotCap)).changed, ['a.txt', 'b.txt']);
});

test('a cached file is reused only while the repository holds its content: unasked while the mark is current, else asked in bulk; one it no longer holds is read and stored again', async (t) => {
  const src = join(work, 'held');
  const files: Record<string, { type: 'file' | 'dir'; content: string }> = {};
  for (let d = 0; d < 12; d++) {
    files[`d${d}`] = { type: 'dir', content: '' };
    for (let i = 0; i < 5; i++) files[`d${d}/f${i}`] = { type: 'file', content: i === 0 ? 'tiny' : `file ${d}/${i} `.repeat(20 + i) };
  }
  files['big.bin'] = { type: 'file', content: 'x'.repeat(3 << 20) };
  await makeTree(src, files);
  const first = await backup(src, { repo: grid.repo, chunker: grid.chunker, cache });
  let asked = 0;
  const has = grid.repo.has.bind(grid.repo);
  grid.repo.has = (ids) => (asked++, has(ids));
  t.after(() => (grid.repo.has = has));
  const again = await backup(src, { repo: grid.repo, chunker: grid.chunker, cache, parent: first.snapshotCap });
  assert.equal(again.stats.unchanged, 61);
  assert.equal(again.root, first.root);
  assert.equal(asked, 0, 'the folder was marked under the index generation it still has: nothing asked');

  // A mark that is not the repository's now (as after a prune moved the generation): one question for 13
  // directories, and the folder is marked again.
  await cache.setMark(src, 'another-repo:0');
  const third = await backup(src, { repo: grid.repo, chunker: grid.chunker, cache });
  assert.equal(third.stats.unchanged, 61);
  assert.equal(asked, 1, 'one question for 13 directories');
  assert.equal(await cache.getMark(src), await grid.repo.holdMark());
  await backup(src, { repo: grid.repo, chunker: grid.chunker, cache });
  assert.equal(asked, 1);

  // A repository that holds none of them (as after a prune freed them): every stored file is read again,
  // only the literal ones (their bytes are in the cache entry) come from the cache.
  const other = await createGrid();
  t.after(() => other.close());
  const elsewhere = await backup(src, { repo: other.repo, chunker: other.chunker, cache });
  assert.equal(elsewhere.stats.unchanged, 12, 'the 12 tiny files');
  assert.equal(elsewhere.stats.files, 61);
  const stored = Object.values(files).reduce((n, f) => n + (f.type === 'file' && f.content.length > 55 ? f.content.length : 0), 0);
  assert.equal(elsewhere.stats.bytesRead, stored);
  const out = join(work, 'held-out');
  await restore(elsewhere.snapshotCap, out, { src: other.src });
  assert.deepEqual(await describeTree(out), await describeTree(src));
});

test("a prune that frees a cached file's blob moves the mark: the next backup asks, reads the file again and stores it; the snapshot restores", async (t) => {
  const { g, c } = await gridAndCache(t, 'cache-pruned');
  const src = join(work, 'pruned');
  await makeTree(src, {
    'a.txt': { type: 'file', content: 'kept content '.repeat(400) },
    'big.bin': { type: 'file', content: 'y'.repeat(2 << 20) },
    tiny: { type: 'file', content: 'tiny' }
  });
  await backup(src, { repo: g.repo, chunker: g.chunker, cache: c });
  await g.repo.publish();
  const markBefore = await c.getMark(src);
  assert.equal(markBefore, await g.repo.holdMark());
  // No snapshot is kept: everything the backup stored is freed, and the index gets a new generation.
  const r = await pruneRepository(g.repo, g.src, async () => []);
  assert.ok(r.blobsDead >= 4 && r.packsDeleted >= 2, JSON.stringify(r));
  assert.notEqual(await g.repo.holdMark(), markBefore);
  let asked = 0;
  const has = g.repo.has.bind(g.repo);
  g.repo.has = (ids) => (asked++, has(ids));
  const again = await backup(src, { repo: g.repo, chunker: g.chunker, cache: c });
  assert.equal(asked, 1);
  assert.equal(again.stats.unchanged, 1, 'only the inline file, whose bytes are in its record');
  assert.equal(again.stats.bytesRead, 400 * 13 + (2 << 20));
  const out = join(work, 'pruned-out');
  const back = await restore(again.snapshotCap, out, { src: g.src });
  assert.deepEqual(back.stats.failed, []);
  assert.deepEqual(await describeTree(out), await describeTree(src));
  assert.equal(await c.getMark(src), await g.repo.holdMark());
});

test('under a current mark, a cached record whose reference is malformed is not trusted: the file is read again; a file not held that cannot be read again leaves the folder unmarked', async (t) => {
  const src = join(work, 'marked');
  await makeTree(src, {
    'a.txt': { type: 'file', content: 'a '.repeat(500) },
    'b.txt': { type: 'file', content: 'b '.repeat(500) }
  });
  await backup(src, { repo: grid.repo, chunker: grid.chunker, cache });
  const mark = await grid.repo.holdMark();
  assert.equal(await cache.getMark(src), mark);
  const [rec] = await cache.getFiles([join(src, 'a.txt')]);
  await cache.putFile(join(src, 'a.txt'), { ...rec!, content: `${rec!.content!.slice(0, 40)}!${rec!.content!.slice(41)}` });
  await cache.flush();
  const again = await backup(src, { repo: grid.repo, chunker: grid.chunker, cache });
  assert.equal(again.stats.unchanged, 1);
  assert.equal(again.stats.bytesRead, 1000);
  assert.deepEqual(again.stats.skipped, []);

  // Asked (the mark is stale); the repository answers "not held" and the file is gone before it is read again.
  await cache.setMark(src, 'stale:0');
  const has = grid.repo.has.bind(grid.repo);
  grid.repo.has = async (ids) => {
    await rm(join(src, 'b.txt'));
    return ids.map(() => false);
  };
  t.after(() => (grid.repo.has = has));
  const third = await backup(src, { repo: grid.repo, chunker: grid.chunker, cache });
  assert.equal(third.stats.skipped.length, 1, JSON.stringify(third.stats));
  assert.equal(await cache.getMark(src), 'stale:0', 'a record not vouched for: no new mark');
  grid.repo.has = has;
  await backup(src, { repo: grid.repo, chunker: grid.chunker, cache });
  assert.equal(await cache.getMark(src), mark, 'marked once every record is vouched for');
});

test('a directory of more entries than the walk takes at once (2,600, a subdirectory among them) is backed up whole, then found unchanged', async () => {
  const src = join(work, 'wide');
  await mkdir(join(src, 'm1500', 'inner'), { recursive: true }); // a subdirectory in the second slice of names
  await writeFile(join(src, 'm1500', 'inner', 'x'), 'inside the subdirectory, stored as shares');
  const bodyOf = (i: number) => (i % 3 === 0 ? `wide file ${i} `.repeat(8) : `w${i}`); // shares, or a literal
  for (let i = 0; i < 2600; i++) if (i !== 1500) await writeFile(join(src, `m${String(i).padStart(4, '0')}`), bodyOf(i));
  const first = await backup(src, { repo: grid.repo, chunker: grid.chunker, cache });
  assert.equal(first.stats.files, 2600);
  assert.equal(first.stats.dirs, 3);
  assert.deepEqual(first.stats.skipped, []);
  const out = join(work, 'wide-out');
  await restore(first.snapshotCap, out, { src: grid.src });
  assert.deepEqual(await describeTree(out), await describeTree(src));

  // The cache answered for every file, in every slice: nothing is read again.
  const second = await backup(src, { repo: grid.repo, chunker: grid.chunker, cache });
  assert.equal(second.stats.unchanged, 2600);
  assert.equal(second.stats.bytesRead, 0);
  assert.equal(second.root, first.root);
  // One file changed in the last slice: only it is read.
  const body = 'the last slice changed '.repeat(4);
  await writeFile(join(src, 'm2599'), body);
  const third = await backup(src, { repo: grid.repo, chunker: grid.chunker, cache });
  assert.equal(third.stats.bytesRead, Buffer.byteLength(body));
  assert.deepEqual((await diff(grid.src, second.snapshotCap, third.snapshotCap)).changed, ['m2599']);
});

test('a backup whose packs cannot be stored leaves no cache record of their files: the cache learns of a file only once its content is in the swarm', async (t) => {
  const { g, c } = await gridAndCache(t, 'cache-unstored');
  const src = join(work, 'unstored');
  await mkdir(src);
  const paths: string[] = [];
  for (let i = 0; i < 20; i++) {
    paths.push(join(src, `f${i}`));
    await writeFile(paths[i], `a file stored in a batch of small files, number ${i}`.repeat(3));
  }
  const put = g.packs.putPack;
  g.packs.putPack = async () => {
    throw new Error('no peer takes the pack');
  };
  await assert.rejects(backup(src, { repo: g.repo, chunker: g.chunker, cache: c }), /no peer takes the pack/);
  await c.flush();
  assert.deepEqual(await c.getFiles(paths), new Array(20).fill(undefined), 'no record of a file whose pack failed');

  g.packs.putPack = put;
  const again = await backup(src, { repo: g.repo, chunker: g.chunker, cache: c });
  assert.equal(again.stats.unchanged, 0);
  await c.flush();
  assert.ok(
    (await c.getFiles(paths)).every((r) => r?.content?.length),
    'recorded once stored'
  );
});
