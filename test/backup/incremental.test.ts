// Incremental backup: a second backup reads only the changed file and stores only it, the trees on its path
// and the snapshot (one pack of data, one of metadata). P2PB_MANY_FILES=10000 runs the same test on a bigger
// tree. A file changed behind an unchanged size and mtime is still caught (its ctime or inode moved).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backup, openBackupCache, diff, restore, type BackupCache } from '../../src/backup/index.ts';
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

test('a cached file is reused only while the repository holds its content, asked in bulk; one it no longer holds is read and stored again', async (t) => {
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
  assert.equal(asked, 1, 'one question for 13 directories');

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
