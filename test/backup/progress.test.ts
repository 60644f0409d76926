// Progress: status events (files, bytes, totals, rate, ETA) instead of one event per file for API and CLI
// callers; the scan thread's totals match what the backup stores, under the same exclude rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { TREE_BATCH } from '../../src/backup/constants.ts';
import { join } from 'node:path';
import { createMeter, statusOf } from '../../src/backup/progress.ts';
import { scanTree, startScan } from '../../src/backup/scan.ts';
import { backup, restore } from '../../src/backup/index.ts';
import type { BackupProgress } from '../../src/backup/types.ts';
import { formatDuration, formatStatus } from '../../src/cli/progress.ts';
import { tempDir } from '../integration/helpers.ts';
import { createGrid } from './grid.ts';
import { assertOneFileDirs, makeOneFileDirs } from './tree.ts';

test('ETA: by bytes at the rate so far, by files when there are no bytes, absent without totals', () => {
  assert.equal(statusOf(10, 250, 5, 40, 1000).etaSeconds, 15);
  assert.equal(statusOf(10, 250, 5, 40, 1000).bytesPerSecond, 50);
  assert.equal(statusOf(5, 0, 2, 20, 0).etaSeconds, 6);
  assert.equal(statusOf(40, 1000, 5, 40, 1000).etaSeconds, 0);
  assert.equal(statusOf(0, 0, 1, 40, 1000).etaSeconds, undefined, 'nothing done yet: no rate to go by');
  assert.equal(statusOf(10, 250, 5).etaSeconds, undefined);
  assert.equal(formatDuration(75), '1:15');
  assert.equal(formatDuration(3725), '1:02:05');
  assert.equal(formatStatus(statusOf(10, 2.5e6, 5, 40, 10e6), 5), '10 of 40 files, 2.5 of 10.0 MB, 0.5 MB/s, 0:05 elapsed, ETA 0:15');
});

test('a meter sends one status per interval however many files, and a last one at done()', async () => {
  const events: BackupProgress[] = [];
  const m = createMeter('restore', (e) => events.push(e), 50);
  for (let i = 0; i < 10_000; i++) m.file(3);
  m.total(20_000, 60_000);
  assert.equal(events.length, 0, 'nothing before the interval');
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(events.length, 1);
  assert.deepEqual([events[0].type, (events[0] as any).files, (events[0] as any).totalFiles], ['backup:restore:status', 10_000, 20_000]);
  m.file(3);
  m.done();
  assert.equal(events.length, 2);
  assert.equal((events[1] as any).files, 10_001);
  const quick: BackupProgress[] = [];
  const q = createMeter('backup', (e) => quick.push(e), 50);
  q.file(5);
  q.done();
  assert.deepEqual(
    [(quick[0] as any).totalFiles, (quick[0] as any).totalBytes, (quick[0] as any).etaSeconds],
    [1, 5, 0],
    'done before the totals came: what was done is the total'
  );
  m.file(1);
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(events.length, 2, 'nothing after done()');
});

test('bytes of a file in progress count until it ends, then its size does: a single big file shows progress', async () => {
  const events: any[] = [];
  const m = createMeter('backup', (e) => events.push(e), 20);
  m.total(1, 1000);
  m.partial(300);
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual([events.at(-1).files, events.at(-1).bytes], [0, 300]);
  assert.ok(events.at(-1).etaSeconds > 0);
  m.partial(400);
  m.partial(-700); // the file ended ...
  m.file(1000); // ... and counts whole, once
  m.done();
  assert.deepEqual([events.at(-1).files, events.at(-1).bytes, events.at(-1).etaSeconds], [1, 1000, 0]);
});

test('the scan counts what the backup stores (excludes, ignore files, exclude-if-present) and backup/restore report it', async (t) => {
  const tmp = await tempDir('p2pb-progress-');
  t.after(() => tmp.cleanup());
  const src = join(tmp.dir, 'src');
  await mkdir(join(src, 'a/b'), { recursive: true });
  await mkdir(join(src, 'skipme'), { recursive: true });
  await mkdir(join(src, 'cache'), { recursive: true });
  await writeFile(join(src, 'one.txt'), 'x'.repeat(100));
  await writeFile(join(src, 'a/two.log'), 'y'.repeat(50)); // excluded by pattern
  await writeFile(join(src, 'a/b/three.bin'), Buffer.alloc(300_000, 7)); // a large file
  await writeFile(join(src, 'a/.p2pbackupignore'), 'b/ignored.txt\n');
  await writeFile(join(src, 'a/b/ignored.txt'), 'z'.repeat(10));
  await writeFile(join(src, 'skipme/.nobackup'), '');
  await writeFile(join(src, 'skipme/four.txt'), 'w'.repeat(10));
  await writeFile(join(src, 'cache/five.txt'), 'v'.repeat(7));
  const opts = { excludes: ['*.log', 'cache/'], excludeIfPresent: ['.nobackup'] };

  const direct = scanTree({ root: src, patterns: opts.excludes, excludeIfPresent: opts.excludeIfPresent });
  const threaded = await startScan({ root: src, patterns: opts.excludes, excludeIfPresent: opts.excludeIfPresent }).totals;
  assert.deepEqual(threaded, direct);

  const grid = await createGrid();
  t.after(() => grid.close());
  const src2 = grid.src;
  const events: BackupProgress[] = [];
  const r = await backup(src, { repo: grid.repo, chunker: grid.chunker, ...opts, onProgress: (e) => events.push(e) });
  // The ignore file itself is a regular file the backup keeps.
  assert.deepEqual(direct, { files: r.stats.files, bytes: r.stats.bytesTotal });
  assert.deepEqual(direct, { files: 3, bytes: 100 + 300_000 + 'b/ignored.txt\n'.length });
  const last = events.filter((e) => e.type === 'backup:backup:status').at(-1) as any;
  assert.deepEqual([last.files, last.bytes, last.totalFiles, last.totalBytes, last.etaSeconds], [3, direct.bytes, 3, direct.bytes, 0]);
  assert.ok(events.findIndex((e) => e.type === 'backup:backup:status') > events.findIndex((e) => e.type === 'backup:backup:file'));

  const rev: BackupProgress[] = [];
  await restore(r.snapshotCap, join(tmp.dir, 'out'), { src: src2, onProgress: (e) => rev.push(e) });
  const rl = rev.filter((e) => e.type === 'backup:restore:status').at(-1) as any;
  assert.deepEqual([rl.files, rl.totalFiles, rl.totalBytes, rl.etaSeconds], [3, 3, direct.bytes, 0]);
  const sub: BackupProgress[] = [];
  await restore(r.snapshotCap, join(tmp.dir, 'out-a'), { src: src2, path: 'a/b', onProgress: (e) => sub.push(e) });
  const sl = sub.filter((e) => e.type === 'backup:restore:status').at(-1) as any;
  assert.deepEqual([sl.files, sl.totalFiles, sl.totalBytes], [1, 1, 300_000], 'a path: the totals of what the walk found');
});

test('trees are stored during the walk, TREE_BATCH directories at a time, not all after it', async (t) => {
  const tmp = await tempDir('p2pb-trees-');
  t.after(() => tmp.cleanup());
  const dirs = TREE_BATCH * 2 + 100;
  const src = await makeOneFileDirs(join(tmp.dir, 'many'), dirs);
  const grid = await createGrid();
  t.after(() => grid.close());
  const events: BackupProgress[] = [];
  const r = await backup(src, { repo: grid.repo, chunker: grid.chunker, onProgress: (e) => events.push(e) });
  assert.equal(r.stats.dirs, dirs + 1);
  assert.equal(events.filter((e) => e.type === 'backup:backup:dir').length, dirs + 1);
  const firstTree = events.findIndex((e) => e.type === 'backup:backup:dir');
  const lastFile = events.findLastIndex((e) => e.type === 'backup:backup:file');
  assert.ok(firstTree >= 0 && firstTree < lastFile, `the first trees were stored before the walk read its last file (${firstTree} / ${lastFile})`);
  const out = join(tmp.dir, 'out');
  await restore(r.snapshotCap, out, { src: grid.src });
  await assertOneFileDirs(out, [0, TREE_BATCH, dirs - 1]);
});
