// A backup that stops without a snapshot (cancelled, or a store failure) must settle, leave the repository usable
// by the next backup, and stop reading files once it knows it will fail.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { backup, restore, RESTORE_TEMP_PREFIX, type BackupProgress, type BlobSink } from '../../src/backup/index.ts';
import { TREE_BATCH } from '../../src/backup/constants.ts';
import { tempDir } from '../integration/helpers.ts';
import { createGrid } from './grid.ts';
import { assertOneFileDirs, makeOneFileDirs } from './tree.ts';

const DIRS = TREE_BATCH * 3;

/** DIRS directories of one small file each: their blobs all wait in the first, unsealed pack. */
const manyDirs = (root: string) => makeOneFileDirs(join(root, 'many'), DIRS);

/** A temporary folder and a grid, both removed once the test is over. */
async function fixture(t: TestContext, prefix: string) {
  const tmp = await tempDir(prefix);
  t.after(() => tmp.cleanup());
  const grid = await createGrid();
  t.after(() => grid.close());
  return { tmp, grid };
}

const fileEvents = (events: BackupProgress[]) => events.filter((e) => e.type === 'backup:backup:file').length;

test('a cancelled backup settles with its reason, and the next backup of the same repository stores and restores', { timeout: 120_000 }, async (t) => {
  const { tmp, grid } = await fixture(t, 'p2pb-abort-');
  const src = await manyDirs(tmp.dir);
  const ac = new AbortController();
  const events: BackupProgress[] = [];
  const stop = new Error('cancelled by the test');
  // Before the fix this never settled: the blobs queued in the open pack waited for a flush that never came.
  await assert.rejects(
    backup(src, {
      repo: grid.repo,
      chunker: grid.chunker,
      signal: ac.signal,
      onProgress: (e) => {
        events.push(e);
        if (e.type === 'backup:backup:file' && fileEvents(events) === 300) ac.abort(stop);
      }
    }),
    (err) => err === stop
  );
  assert.ok(fileEvents(events) < DIRS, `the walk stopped (${fileEvents(events)} of ${DIRS} files)`);
  assert.equal(grid.packs.puts, 0, 'nothing of the cancelled run was uploaded (its blobs were in the open pack)');
  // The same repository object, as a daemon keeps it: its packs are not uploaded under the cancelled signal.
  const r = await backup(src, { repo: grid.repo, chunker: grid.chunker });
  assert.equal(r.stats.files, DIRS);
  const out = join(tmp.dir, 'out');
  await restore(r.snapshotCap, out, { src: grid.src });
  await assertOneFileDirs(out, [0, 299, DIRS - 1]);
});

test('a tree that cannot be stored fails the backup with that error and stops its walk', { timeout: 120_000 }, async (t) => {
  const { tmp, grid } = await fixture(t, 'p2pb-abort-tree-');
  const src = await manyDirs(tmp.dir);
  const refused = new Error('no holder takes trees today');
  const repo = grid.repo;
  const sink: BlobSink = {
    readCap: repo.readCap,
    saveBlobs: async (kind, plains, o) => {
      if (kind === 'tree') throw refused;
      return repo.saveBlobs(kind, plains, o);
    },
    flush: () => repo.flush(),
    abandon: (reason) => repo.abandon(reason),
    has: (ids) => repo.has(ids),
    holdMark: (signal) => repo.holdMark(signal)
  };
  const events: BackupProgress[] = [];
  await assert.rejects(backup(src, { repo: sink, chunker: grid.chunker, onProgress: (e) => events.push(e) }), (err) => err === refused);
  // The first trees are stored once TREE_BATCH directories are complete; their failure stops the walk there.
  assert.ok(fileEvents(events) < DIRS - TREE_BATCH, `the walk stopped after the first tree batch failed (${fileEvents(events)} of ${DIRS} files)`);
  assert.equal(events.filter((e) => e.type === 'backup:backup:dir').length, 0);
});

test('a cancelled restore settles with its reason and leaves no temporary file', { timeout: 120_000 }, async (t) => {
  const { tmp, grid } = await fixture(t, 'p2pb-abort-restore-');
  const src = await manyDirs(tmp.dir);
  await writeFile(join(src, 'big.bin'), randomBytes(24 << 20)); // several chunks, downloading when the stop comes
  const r = await backup(src, { repo: grid.repo, chunker: grid.chunker });
  const out = join(tmp.dir, 'out');
  const ac = new AbortController();
  const stop = new Error('restore cancelled by the test');
  let files = 0;
  await assert.rejects(
    restore(r.snapshotCap, out, {
      src: grid.src,
      signal: ac.signal,
      onProgress: (e) => {
        if (e.type === 'backup:restore:file' && ++files === 200) ac.abort(stop);
      }
    }),
    (err) => err === stop
  );
  assert.ok(files < DIRS, `the restore stopped (${files} of ${DIRS + 1} files)`);
  const temps: string[] = [];
  const walk = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.name.startsWith(RESTORE_TEMP_PREFIX)) temps.push(join(dir, e.name));
      if (e.isDirectory()) await walk(join(dir, e.name));
    }
  };
  await walk(out);
  assert.deepEqual(temps, []);
});

test(
  'a backup whose packs could not be placed fails; once the peers are back the next backup of the same repository works',
  { timeout: 120_000 },
  async (t) => {
    const { tmp, grid } = await fixture(t, 'p2pb-abort-peers-');
    const src = join(tmp.dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'a.bin'), randomBytes(3 << 20));
    await grid.repo.sync(); // the record is read while every peer answers
    // Only 2 of 5 peers reachable: no pack can be placed on `happy` (4) of them.
    const away = grid.servers.splice(2);
    await assert.rejects(backup(src, { repo: grid.repo, chunker: grid.chunker }), (err: Error) => err.name !== 'AssertionError');
    grid.servers.push(...away);
    // The repository object lives on (a daemon's): before, its packer kept the failed upload's error and refused
    // every later blob until the process restarted.
    await writeFile(join(src, 'b.bin'), randomBytes(1 << 20));
    const r = await backup(src, { repo: grid.repo, chunker: grid.chunker });
    assert.equal(r.stats.files, 2);
    const out = join(tmp.dir, 'out');
    await restore(r.snapshotCap, out, { src: grid.src });
    assert.deepEqual(await readFile(join(out, 'a.bin')), await readFile(join(src, 'a.bin')));
  }
);
