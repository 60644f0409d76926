// The work floor of the backup bench (bench/floor-work.ts): every file of a tree backed up and restored by the
// product's primitives, so its CPU is that of work done, not skipped: the restored tree is the tree, every
// sealed byte went into a pack, and a file longer than a batch is restored whole across batches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { workFloor } from '../../bench/floor-work.ts';

test('work floor: the restored tree is the tree, packs hold every sealed byte, batches split a file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floor-work-'));
  try {
    const tree = join(dir, 'tree');
    await mkdir(join(tree, 'a', 'b'), { recursive: true });
    const files: Record<string, Buffer> = {
      empty: Buffer.alloc(0),
      'small.txt': Buffer.from('hello '.repeat(1000)),
      'a/random': randomBytes(2.5 * 1024 * 1024 + 3), // three pieces
      'a/b/text': Buffer.from('line\n'.repeat(300_000)) // compressible, two pieces
    };
    for (const [p, b] of Object.entries(files)) await writeFile(join(tree, p), b);
    const to = join(dir, 'restored');
    const pack = 64 * 1024;
    const r = workFloor(tree, to, 3, 5, { pack, batch: 512 * 1024 });
    assert.equal(r.files, 4);
    assert.equal(
      r.bytes,
      Object.values(files).reduce((a, b) => a + b.length, 0)
    );
    for (const [p, b] of Object.entries(files)) assert.ok((await readFile(join(to, p))).equals(b), p);
    // Compressed (the text) and sealed (a tag and frame per piece): fewer bytes than read, more than the random ones.
    assert.ok(r.sealedBytes < r.bytes && r.sealedBytes > files['a/random'].length, String(r.sealedBytes));
    assert.equal(r.packs, Math.ceil(r.sealedBytes / pack));
    for (const phase of [r.backup, r.restore]) assert.ok(phase.cpuSeconds > 0 && phase.seconds > 0, JSON.stringify(phase));
    // A tree restored again into the same place is refused (files are created, never overwritten).
    assert.throws(() => workFloor(tree, to, 3, 5), /EEXIST/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
