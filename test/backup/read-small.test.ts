// Small files are read whole (src/backup/backup.ts readSmall): only while they are small. A file that grew past
// SMALL_FILE_BYTES between the walk's lstat and its open is not read into memory whole; the walk chunks it
// instead, and the backup holds its new content.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile, appendFile, lstat, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { backup, restore } from '../../src/backup/index.ts';
import { readSmall } from '../../src/backup/backup.ts';
import { SMALL_FILE_BYTES } from '../../src/backup/constants.ts';
import { createGrid } from './grid.ts';

test('readSmall reads a small file whole, and leaves one that grew past the small-file size unread', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'p2pb-small-'));
  try {
    const path = join(dir, 'log');
    const first = randomBytes(100);
    await writeFile(path, first);
    const st = await lstat(path, { bigint: true });
    const r = readSmall(path, st);
    assert.ok('bytes' in r && Buffer.from(r.bytes).equals(first));
    await appendFile(path, randomBytes(SMALL_FILE_BYTES)); // now SMALL_FILE_BYTES + 100 bytes
    assert.deepEqual(readSmall(path, st), { grew: true });
    // Exactly the limit is no longer small either; one byte under it is read.
    await writeFile(path, randomBytes(SMALL_FILE_BYTES));
    assert.deepEqual(readSmall(path, await lstat(path, { bigint: true })), { grew: true });
    const under = randomBytes(SMALL_FILE_BYTES - 1);
    await writeFile(path, under);
    const u = readSmall(path, await lstat(path, { bigint: true }));
    assert.ok('bytes' in u && Buffer.from(u.bytes).equals(under));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a backup stores a file that grew past the small-file size during its walk as chunks, with its new content', async () => {
  // Packs of 4 KiB whose uploads wait on a gate: the walk, which lstat-ed every entry of the directory first, is
  // held inside its first batch of small files (256) until the gate opens; the last file grows meanwhile.
  const grid = await createGrid({ packTargetBytes: 4096 });
  const dir = await mkdtemp(join(tmpdir(), 'p2pb-grew-'));
  try {
    const src = join(dir, 'src');
    await mkdir(src);
    for (let i = 0; i < 300; i++) await writeFile(join(src, `a${String(i).padStart(3, '0')}`), randomBytes(200 + i));
    const grown = join(src, 'z-log');
    const head = randomBytes(1000);
    await writeFile(grown, head);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let reached!: () => void;
    const held = new Promise<void>((r) => (reached = r));
    const put = grid.packs.putPack.bind(grid.packs);
    grid.packs.putPack = async (...args: Parameters<typeof put>) => {
      reached();
      await gate;
      return put(...args);
    };
    const run = backup(src, { repo: grid.repo, chunker: grid.chunker });
    await held;
    const more = randomBytes(SMALL_FILE_BYTES + 4096);
    await appendFile(grown, more);
    open();
    const { snapshotCap, stats } = await run;
    assert.equal(stats.files, 301);
    assert.deepEqual(stats.skipped, []);
    const dst = join(dir, 'dst');
    await restore(snapshotCap, dst, { src: grid.src });
    assert.ok((await readFile(join(dst, 'z-log'))).equals(Buffer.concat([head, more])));
  } finally {
    await grid.close();
    await rm(dir, { recursive: true, force: true });
  }
});
