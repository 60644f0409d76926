// The restore's writer thread: files and symlinks land under their final names with mode and mtime,
// failures come back with their errno code and leave no temporary file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileWriter } from '../../src/backup/file-writer.ts';

test('writer thread: files, symlinks, errors by code, nothing left behind', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'p2pb-writer-'));
  const w = createFileWriter();
  try {
    const t = 1_700_000_000.25;
    await Promise.all([
      w.write({ tmp: join(dir, '.t1'), path: join(dir, 'a.txt'), bytes: new TextEncoder().encode('alpha'), mode: 0o640, time: t }),
      w.write({ tmp: join(dir, '.t2'), path: join(dir, 'ln'), bytes: new Uint8Array(0), mode: 0, time: t, link: 'a.txt' })
    ]);
    assert.equal(await readFile(join(dir, 'a.txt'), 'utf8'), 'alpha');
    const st = await lstat(join(dir, 'a.txt'));
    assert.equal(st.mode & 0o7777, 0o640);
    assert.equal(Math.round(st.mtimeMs), Math.round(t * 1000));
    assert.equal(await readlink(join(dir, 'ln')), 'a.txt');
    await assert.rejects(w.write({ tmp: join(dir, 'missing', '.t3'), path: join(dir, 'missing', 'b'), bytes: new Uint8Array(3), mode: 0o600, time: t }), {
      code: 'ENOENT'
    });
    // The temporary name exists already: refused (O_EXCL), and that file is not the writer's to keep.
    await assert.rejects(w.write({ tmp: join(dir, 'a.txt'), path: join(dir, 'c'), bytes: new Uint8Array(3), mode: 0o600, time: t }), { code: 'EEXIST' });
    assert.deepEqual((await readdir(dir)).sort(), ['a.txt', 'ln']);
  } finally {
    await w.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('writer thread: a batch travels in one buffer that comes back for the next batches; every file keeps its own bytes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'p2pb-writer-'));
  const w = createFileWriter();
  try {
    const t = 1_700_000_000;
    const content = (i: number, n: number) => new Uint8Array(n).fill(i & 0xff);
    // 10 rounds of 20 small files, each round a batch (one turn of the event loop) awaited before the next.
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        Array.from({ length: 20 }, (_, j) => {
          const i = round * 20 + j;
          return w.write({ tmp: join(dir, `.t${i}`), path: join(dir, `f${i}`), bytes: content(i, 100 + i), mode: 0o600, time: t });
        })
      );
    }
    assert.equal(w.stats.batches, 10);
    // The first batches' buffers came back: at most one new buffer in flight at a time plus the first.
    assert.ok(w.stats.buffersMade <= 2, `buffers made: ${w.stats.buffersMade}`);
    for (let i = 0; i < 200; i++) assert.deepEqual(new Uint8Array(await readFile(join(dir, `f${i}`))), content(i, 100 + i), `f${i}`);
    // A file larger than a batch buffer gets a buffer of its own, beside small files before and after it.
    const big = new Uint8Array(5 << 20).map((_, i) => (i * 7) & 0xff);
    await Promise.all([
      w.write({ tmp: join(dir, '.s1'), path: join(dir, 's1'), bytes: content(1, 10), mode: 0o600, time: t }),
      w.write({ tmp: join(dir, '.big'), path: join(dir, 'big'), bytes: big, mode: 0o600, time: t }),
      w.write({ tmp: join(dir, '.s2'), path: join(dir, 's2'), bytes: content(2, 10), mode: 0o600, time: t })
    ]);
    assert.deepEqual(new Uint8Array(await readFile(join(dir, 'big'))), big);
    assert.deepEqual(new Uint8Array(await readFile(join(dir, 's1'))), content(1, 10));
    assert.deepEqual(new Uint8Array(await readFile(join(dir, 's2'))), content(2, 10));
    // The caller's bytes are copied, never moved: the caller's buffer is still whole after the write.
    assert.equal(big.length, 5 << 20);
  } finally {
    await w.close();
    await rm(dir, { recursive: true, force: true });
  }
});
