// The work floor of the backup bench (bench/floor-work.ts): every file of a tree backed up and restored by the
// product's primitives, so its CPU is that of work done, not skipped: the restored tree is the tree, every sealed
// byte is in a pack's data shards in order and each pack's parity is the codec's, a file longer than a batch is
// restored whole across batches, symlinks are neither followed nor counted, and no file is left open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { measureWorkFloor, workFloor } from '../../bench/floor-work.ts';
import { createCodec } from '../../src/erasure/index.ts';

const openFds = () => readdirSync('/proc/self/fd').length;

test('work floor: the restored tree is the tree, packs hold every sealed byte with the right parity, batches split a file', async () => {
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
    await symlink('random', join(tree, 'a', 'link')); // not followed, not counted
    const to = join(dir, 'out', 'restored'); // its parent is made too
    const pack = 64 * 1024;
    const sealed: Buffer[] = [];
    const packed: Buffer[] = [];
    const k = 3,
      n = 5;
    const codec = createCodec({ dataShards: k, parityShards: n - k });
    const fds = openFds();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const r = workFloor(tree, to, k, n, {
      pack,
      batch: 512 * 1024,
      onSealed: (b) => sealed.push(Buffer.from(b)),
      onPack: (shards, fill) => {
        const len = shards[0].length;
        assert.equal(shards.length, n);
        const data = Buffer.concat(shards.slice(0, k));
        packed.push(data.subarray(0, fill));
        // Parity: what the codec computes from these data shards (the unfilled rest of the last pack is zeros).
        assert.ok(data.subarray(fill).every((x) => x === 0));
        const set = codec.allocShards(len);
        for (let s = 0; s < k; s++) set.shards[s].set(shards[s]);
        codec.encodeShardSet(set);
        for (let s = k; s < n; s++) assert.deepEqual(Buffer.from(shards[s]), Buffer.from(set.shards[s]), `parity shard ${s}`);
      }
    });
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    assert.equal(openFds(), fds, 'every file closed');
    assert.equal(r.files, 4);
    assert.equal(
      r.bytes,
      Object.values(files).reduce((a, b) => a + b.length, 0)
    );
    for (const [p, b] of Object.entries(files)) assert.ok((await readFile(join(to, p))).equals(b), p);
    assert.deepEqual((await readdir(join(to, 'a'))).sort(), ['b', 'random']);
    // Compressed (the text) and sealed (a tag and frame per piece): fewer bytes than read, more than the random ones.
    assert.ok(r.sealedBytes < r.bytes && r.sealedBytes > files['a/random'].length, String(r.sealedBytes));
    assert.equal(sealed.length, 7); // one piece per small file, three and two for the large ones
    assert.equal(
      r.sealedBytes,
      sealed.reduce((a, b) => a + b.length, 0)
    );
    assert.ok(Buffer.concat(packed).equals(Buffer.concat(sealed)), 'packs hold the sealed pieces, in order');
    const capacity = Math.ceil(pack / k) * k;
    assert.equal(r.packs, Math.ceil(r.sealedBytes / capacity));
    assert.deepEqual(
      packed.map((p) => p.length),
      [...Array(r.packs - 1).fill(capacity), r.sealedBytes - capacity * (r.packs - 1)]
    );
    // The phases' seconds and CPU are parts of this call's.
    const spent = (cpu.user + cpu.system) / 1e6;
    for (const phase of [r.backup, r.restore]) assert.ok(phase.cpuSeconds > 0 && phase.seconds > 0, JSON.stringify(phase));
    assert.ok(r.backup.cpuSeconds + r.restore.cpuSeconds <= spent + 0.01, `${JSON.stringify(r)} within ${spent}`);
    assert.ok(r.backup.seconds + r.restore.seconds <= wall, `${JSON.stringify(r)} within ${wall}`);
    // A tree restored again into the same place is refused (files are created, never overwritten).
    assert.throws(() => workFloor(tree, to, 3, 5), /EEXIST/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('work floor in its own process: a tree it cannot read fails the step, naming it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floor-work-'));
  try {
    await assert.rejects(measureWorkFloor(join(dir, 'missing'), join(dir, 'out'), 3, 5), /^Error: work floor exited with 1$/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
