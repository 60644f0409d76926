// The restore's writer thread: files and symlinks land under their final names with mode and mtime,
// failures come back with their errno code and leave no temporary file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileWriter, type FileWriter } from '../../src/backup/file-writer.ts';

/** `fn` with a writer and an empty directory, both gone after it; the writer (closed) is returned. */
async function withWriter(fn: (w: FileWriter, dir: string) => Promise<void>): Promise<FileWriter> {
  const dir = await mkdtemp(join(tmpdir(), 'p2pb-writer-'));
  const w = createFileWriter();
  try {
    await fn(w, dir);
  } finally {
    await w.close();
    await rm(dir, { recursive: true, force: true });
  }
  return w;
}

const T = 1_700_000_000;
/** A job for file `name` in `dir` (temporary name `.name`, mode 0600). */
const fileJob = (dir: string, name: string, bytes: Uint8Array) => ({ tmp: join(dir, `.${name}`), path: join(dir, name), bytes, mode: 0o600, time: T });
const bytesOf = async (dir: string, name: string) => new Uint8Array(await readFile(join(dir, name)));

test('writer thread: files, symlinks, errors by code, nothing left behind', async () => {
  await withWriter(async (w, dir) => {
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
  });
});

test('writer thread: a batch travels in one buffer that comes back for the next batches; every file keeps its own bytes', async () => {
  await withWriter(async (w, dir) => {
    const content = (i: number, n: number) => new Uint8Array(n).fill(i & 0xff);
    // 10 rounds of 20 small files, each round a batch (one turn of the event loop) awaited before the next.
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        Array.from({ length: 20 }, (_, j) => {
          const i = round * 20 + j;
          return w.write(fileJob(dir, `f${i}`, content(i, 100 + i)));
        })
      );
    }
    assert.equal(w.stats.batches, 10);
    // The first batches' buffers came back: at most one new buffer in flight at a time plus the first.
    assert.ok(w.stats.buffersMade <= 2, `buffers made: ${w.stats.buffersMade}`);
    for (let i = 0; i < 200; i++) assert.deepEqual(await bytesOf(dir, `f${i}`), content(i, 100 + i), `f${i}`);
    // A file larger than a batch buffer gets a buffer of its own, beside small files before and after it.
    const big = new Uint8Array(5 << 20).map((_, i) => (i * 7) & 0xff);
    await Promise.all([w.write(fileJob(dir, 's1', content(1, 10))), w.write(fileJob(dir, 'big', big)), w.write(fileJob(dir, 's2', content(2, 10)))]);
    assert.deepEqual(await bytesOf(dir, 'big'), big);
    assert.deepEqual(await bytesOf(dir, 's1'), content(1, 10));
    assert.deepEqual(await bytesOf(dir, 's2'), content(2, 10));
    // The caller's bytes are copied, never moved: the caller's buffer is still whole after the write.
    assert.equal(big.length, 5 << 20);
  });
});

test('writer thread: at most 2 batch buffers are kept, only of the batch size; a write after close is refused; a failed rename leaves no temporary file', async () => {
  const w = await withWriter(async (w, dir) => {
    // A file larger than a batch buffer: its buffer is not kept once it comes back.
    await w.write(fileJob(dir, 'big', new Uint8Array((4 << 20) + 1)));
    assert.equal(w.stats.bytesKept, 0);
    // Files of 3 MiB written in one turn: each starts a batch of its own (two do not fit one 4 MiB buffer), so 5
    // buffers are out before the thread can answer any; once all are back, 2 are kept.
    const made = w.stats.buffersMade;
    await Promise.all(Array.from({ length: 5 }, (_, i) => w.write(fileJob(dir, `f${i}`, new Uint8Array(3 << 20).fill(i)))));
    await new Promise((r) => setTimeout(r, 50)); // every batch's answer has arrived
    assert.equal(w.stats.buffersMade - made, 5);
    for (let i = 0; i < 5; i++) assert.deepEqual(await bytesOf(dir, `f${i}`), new Uint8Array(3 << 20).fill(i));
    assert.equal(w.stats.buffersKept, 2);
    assert.equal(w.stats.bytesKept, 2 * (4 << 20));
    // A file larger than a kept buffer does not take one.
    const big = new Uint8Array((4 << 20) + 7).fill(9);
    await w.write(fileJob(dir, 'big2', big));
    assert.deepEqual(await bytesOf(dir, 'big2'), big);
    assert.equal(w.stats.buffersKept, 2);
    // The final name is a directory that is not empty: the rename fails, and neither kind leaves its temporary name.
    await mkdir(join(dir, 'taken', 'inside'), { recursive: true });
    await assert.rejects(w.write({ ...fileJob(dir, 'taken', new Uint8Array(3)), tmp: join(dir, '.t-file') }), { code: /^(EISDIR|ENOTEMPTY|EEXIST)$/ });
    await assert.rejects(w.write({ ...fileJob(dir, 'taken', new Uint8Array(0)), tmp: join(dir, '.t-link'), mode: 0, link: 'f0' }), {
      code: /^(EISDIR|ENOTEMPTY|EEXIST)$/
    });
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.startsWith('.')),
      []
    );
  });
  await assert.rejects(w.write(fileJob(tmpdir(), 'late', new Uint8Array(1))), /closed/);
});
