// The restore's writer thread: files and symlinks land under their final names with mode and mtime,
// failures come back with their errno code and leave no temporary file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
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

test('writer thread: at most 2 batch buffers are kept, only of the batch size; a write after close is refused; a failed rename leaves no temporary file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'p2pb-writer-'));
  const w = createFileWriter();
  try {
    const t = 1_700_000_000;
    // A file larger than a batch buffer: its buffer is not kept once it comes back.
    await w.write({ tmp: join(dir, '.big'), path: join(dir, 'big'), bytes: new Uint8Array((4 << 20) + 1), mode: 0o600, time: t });
    assert.equal(w.stats.bytesKept, 0);
    // Files of 3 MiB written in one turn: each starts a batch of its own (two do not fit one 4 MiB buffer), so 5
    // buffers are out before the thread can answer any; once all are back, 2 are kept.
    const made = w.stats.buffersMade;
    await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        w.write({ tmp: join(dir, `.t${i}`), path: join(dir, `f${i}`), bytes: new Uint8Array(3 << 20).fill(i), mode: 0o600, time: t })
      )
    );
    await new Promise((r) => setTimeout(r, 50)); // every batch's answer has arrived
    assert.equal(w.stats.buffersMade - made, 5);
    for (let i = 0; i < 5; i++) assert.deepEqual(new Uint8Array(await readFile(join(dir, `f${i}`))), new Uint8Array(3 << 20).fill(i));
    assert.equal(w.stats.buffersKept, 2);
    assert.equal(w.stats.bytesKept, 2 * (4 << 20));
    // A file larger than a kept buffer does not take one.
    const big = new Uint8Array((4 << 20) + 7).fill(9);
    await w.write({ tmp: join(dir, '.big2'), path: join(dir, 'big2'), bytes: big, mode: 0o600, time: t });
    assert.deepEqual(new Uint8Array(await readFile(join(dir, 'big2'))), big);
    assert.equal(w.stats.buffersKept, 2);
    // The final name is a directory that is not empty: the rename fails, and neither kind leaves its temporary name.
    await mkdir(join(dir, 'taken', 'inside'), { recursive: true });
    await assert.rejects(w.write({ tmp: join(dir, '.t-file'), path: join(dir, 'taken'), bytes: new Uint8Array(3), mode: 0o600, time: t }), {
      code: /^(EISDIR|ENOTEMPTY|EEXIST)$/
    });
    await assert.rejects(w.write({ tmp: join(dir, '.t-link'), path: join(dir, 'taken'), bytes: new Uint8Array(0), mode: 0, time: t, link: 'f0' }), {
      code: /^(EISDIR|ENOTEMPTY|EEXIST)$/
    });
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.startsWith('.')),
      []
    );
  } finally {
    await w.close();
    await rm(dir, { recursive: true, force: true });
  }
  await assert.rejects(w.write({ tmp: join(dir, '.late'), path: join(dir, 'late'), bytes: new Uint8Array(1), mode: 0o600, time: 0 }), /closed/);
});
