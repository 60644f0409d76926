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
