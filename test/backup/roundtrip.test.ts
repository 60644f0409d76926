import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile, readFile, utimes, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  backup,
  restore,
  ls,
  diff,
  reachableBlobs,
  readSnapshot,
  commitSnapshot,
  listSnapshots,
  forget,
  PathNotFoundError,
  contentOf,
  RESTORE_TEMP_PREFIX
} from '../../src/backup/index.ts';
import { RESTORE_QUEUE } from '../../src/backup/constants.ts';
import { smallPlainPool } from '../../src/repo/repository.ts';
import { formatCap } from '../../src/caps/index.ts';
import { createGrid, type Grid } from './grid.ts';
import { fileHeadStore } from './heads.ts';
import { describeTree, makeTree, type Spec } from './tree.ts';

let grid: Grid;
let work: string;
// Small packs, so a file stored after another lands in a pack of its own (the lost-file test).
before(async () => {
  grid = await createGrid({ packTargetBytes: 256 << 10 });
  work = await mkdtemp(join(tmpdir(), 'p2pb-bk-'));
});
after(async () => {
  await grid.close();
  await rm(work, { recursive: true, force: true });
});

const T = Date.UTC(2024, 2, 10, 12, 0, 0);
const big = randomBytes(1_572_864); // 1.5 MiB: two segments
const longName = 'L'.repeat(200);
const SPEC: Record<string, Spec> = {
  docs: { type: 'dir', mode: 0o755, mtimeMs: T - 1000 },
  'docs/a.txt': { type: 'file', content: 'hello world, this file is long enough not to be a literal cap at all', mode: 0o644, mtimeMs: T - 2000 },
  'docs/tiny': { type: 'file', content: 'tiny', mode: 0o600, mtimeMs: T - 3000 },
  'docs/empty': { type: 'file', content: '', mode: 0o644, mtimeMs: T - 4000 },
  'docs/nested': { type: 'dir', mode: 0o700, mtimeMs: T - 5000 },
  'docs/nested/deeper': { type: 'dir', mtimeMs: T - 6000 },
  'docs/nested/deeper/run.sh': {
    type: 'file',
    content: '#!/bin/sh\necho hi from a script that is long enough to be chunked\n',
    mode: 0o755,
    mtimeMs: T - 7000
  },
  'empty-dir': { type: 'dir', mode: 0o755, mtimeMs: T - 8000 },
  'big.bin': { type: 'file', content: big, mode: 0o644, mtimeMs: T - 9000 },
  'link-rel': { type: 'symlink', target: 'docs/a.txt', mtimeMs: T - 10000 },
  'link-dangling': { type: 'symlink', target: '../nowhere/at/all', mtimeMs: T - 11000 },
  'ünïcødé 名前 🎉': { type: 'file', content: 'unicode name content, long enough to be uploaded as shares for real', mtimeMs: T - 12000 },
  'with space and\nnewline': { type: 'file', content: 'x', mode: 0o644, mtimeMs: T - 13000 },
  'Algorithm::Diff.3pm.gz': { type: 'file', content: 'a POSIX name with colons, as Perl man pages have', mode: 0o644, mtimeMs: T - 15000 },
  'back\\slash': { type: 'file', content: 'and one with a backslash', mode: 0o644, mtimeMs: T - 16000 },
  [longName]: { type: 'file', content: randomBytes(300), mode: 0o600, mtimeMs: T - 14000 }
};

async function backedUp(name: string, spec = SPEC) {
  const src = join(work, name);
  await makeTree(src, spec);
  const r = await backup(src, { repo: grid.repo, chunker: grid.chunker, host: 'test-host' });
  return { src, ...r };
}

test('round trip of every entry kind: content, modes, mtimes, links, odd names', async () => {
  const { src, snapshotCap, stats, root } = await backedUp('rt-src');
  assert.equal(stats.files, 10);
  assert.equal(stats.symlinks, 2);
  assert.equal(stats.dirs, 5); // root, docs, nested, deeper, empty-dir
  assert.deepEqual(stats.skipped, []);
  const snap = await readSnapshot(grid.src, snapshotCap);
  assert.equal(snap.root, root);
  assert.equal(snap.host, 'test-host');
  assert.deepEqual(snap.paths, [src]);

  const dst = join(work, 'rt-dst');
  const r = await restore(snapshotCap, dst, { src: grid.src });
  assert.deepEqual(r.stats.failed, []);
  assert.equal(r.stats.files, 10);
  const [a, b] = [await describeTree(src), await describeTree(dst)];
  assert.deepEqual([...b.keys()], [...a.keys()]);
  for (const [p, d] of a) assert.deepEqual(b.get(p), d, p);
  assert.deepEqual(
    (await readdir(dst)).filter((n) => n.startsWith(RESTORE_TEMP_PREFIX)),
    []
  );
  // A directory cap restores too.
  const dst2 = join(work, 'rt-dst2');
  await restore(root, dst2, { src: grid.src });
  assert.deepEqual(await describeTree(dst2), a);
});

test('ls and restore of a sub-path; unknown paths are refused', async () => {
  const { snapshotCap } = await backedUp('sub-src');
  assert.deepEqual(
    (await ls(grid.src, snapshotCap, 'docs')).map((e) => e.name),
    ['a.txt', 'empty', 'nested', 'tiny']
  );
  assert.equal((await ls(grid.src, snapshotCap, '/docs/a.txt'))[0].type, 'file');
  const dst = join(work, 'sub-dst');
  await restore(snapshotCap, dst, { src: grid.src, path: 'docs/nested' });
  assert.deepEqual([...(await describeTree(dst)).keys()], ['deeper/run.sh', 'deeper']);
  const one = join(work, 'sub-one');
  await restore(snapshotCap, one, { src: grid.src, path: 'docs/a.txt' });
  assert.deepEqual(await readdir(one), ['a.txt']);
  await assert.rejects(ls(grid.src, snapshotCap, 'docs/nope'), PathNotFoundError);
  await assert.rejects(restore(snapshotCap, join(work, 'x'), { src: grid.src, path: 'docs/a.txt/deeper' }), PathNotFoundError);
});

test('overwrite modes: never, if-changed, always', async () => {
  const spec: Record<string, Spec> = {
    f1: { type: 'file', content: 'original content one, long enough for shares................', mtimeMs: T },
    f2: { type: 'file', content: 'original content two, long enough for shares................', mtimeMs: T }
  };
  const { snapshotCap } = await backedUp('ow-src', spec);
  const dst = join(work, 'ow-dst');
  await restore(snapshotCap, dst, { src: grid.src });
  // f1 locally modified (other mtime), f2 untouched.
  await writeFile(join(dst, 'f1'), 'local edit');
  const f2Ino = (await stat(join(dst, 'f2'))).ino;
  let r = await restore(snapshotCap, dst, { src: grid.src, overwrite: 'never' });
  assert.equal(r.stats.unchanged, 2);
  assert.equal(await readFile(join(dst, 'f1'), 'utf8'), 'local edit');
  r = await restore(snapshotCap, dst, { src: grid.src, overwrite: 'if-changed' });
  assert.equal(r.stats.files, 1);
  assert.equal(r.stats.unchanged, 1);
  assert.match(await readFile(join(dst, 'f1'), 'utf8'), /original content one/);
  assert.equal((await stat(join(dst, 'f2'))).ino, f2Ino, 'unchanged file is not rewritten');
  r = await restore(snapshotCap, dst, { src: grid.src, overwrite: 'always' });
  assert.equal(r.stats.files, 2);
  assert.notEqual((await stat(join(dst, 'f2'))).ino, f2Ino);
});

test('a file that cannot be downloaded leaves no complete-looking file and no temp file', async () => {
  const spec: Record<string, Spec> = {
    'good.txt': { type: 'file', content: 'this one is fine and long enough to be stored as shares!!!!!', mtimeMs: T },
    // Larger than this grid's packs: stored in packs of its own, so losing them loses nothing else.
    'lost.bin': { type: 'file', content: randomBytes((1 << 20) + 5000), mtimeMs: T }
  };
  const { snapshotCap } = await backedUp('lost-src', spec);
  const lostCap = (await ls(grid.src, snapshotCap)).find((e) => e.name === 'lost.bin')!.cap!;
  const goodCap = (await ls(grid.src, snapshotCap)).find((e) => e.name === 'good.txt')!.cap!;
  // The packs of its chunks; its chunk list is a metadata blob, packed beside the trees and the snapshot.
  const list = contentOf(lostCap, ['data', 'list']);
  const listPack = list.kind === 'list' ? formatCap((await grid.repo.locate(list.id)).pack) : null;
  const lostPacks = (await grid.packsOfFile(lostCap)).filter((p) => formatCap(p) !== listPack);
  assert.ok(lostPacks.length > 0);
  const goodPacks = new Set((await grid.packsOfFile(goodCap)).map((p) => p.uebHash.toString()));
  assert.ok(
    lostPacks.every((p) => !goodPacks.has(p.uebHash.toString())),
    'the lost file shares no pack with the good one'
  );
  grid.repo.clearCache();
  for (const p of lostPacks) assert.ok((await grid.removeShares(p, [0, 1, 2])) >= 3);
  const dst = join(work, 'lost-dst');
  const errors: string[] = [];
  const r = await restore(snapshotCap, dst, {
    src: grid.src,
    onItemError: (p) => {
      errors.push(p);
    }
  });
  assert.deepEqual(errors, [join(dst, 'lost.bin')]);
  assert.equal(r.stats.failed.length, 1);
  assert.equal(r.stats.failed[0].code, 'ERR_NOT_ENOUGH_SHARES');
  assert.deepEqual(await readdir(dst), ['good.txt']);
  // Throwing from onItemError aborts the restore, still without leftovers.
  const dst2 = join(work, 'lost-dst2');
  await assert.rejects(
    restore(snapshotCap, dst2, {
      src: grid.src,
      onItemError: (_p, err) => {
        throw err;
      }
    }),
    { code: 'ERR_NOT_ENOUGH_SHARES' }
  );
  assert.ok((await readdir(dst2)).every((n) => !n.startsWith(RESTORE_TEMP_PREFIX) && n !== 'lost.bin'));
});

test('diff reports added, removed, changed and metadata-only paths', async () => {
  const spec: Record<string, Spec> = {
    same: { type: 'dir', mtimeMs: T },
    'same/x': { type: 'file', content: 'unchanged file content that is long enough for real shares', mtimeMs: T },
    'edit.txt': { type: 'file', content: 'before', mtimeMs: T },
    'gone.txt': { type: 'file', content: 'bye', mtimeMs: T },
    'touch.txt': { type: 'file', content: 'same bytes', mtimeMs: T }
  };
  const { src, snapshotCap: a } = await backedUp('diff-src', spec);
  await writeFile(join(src, 'edit.txt'), 'after!');
  await rm(join(src, 'gone.txt'));
  await makeTree(src, { newdir: { type: 'dir' }, 'newdir/n.txt': { type: 'file', content: 'new' } });
  await utimes(join(src, 'touch.txt'), T / 1000 + 60, T / 1000 + 60);
  const { snapshotCap: b } = await backup(src, { repo: grid.repo, chunker: grid.chunker });
  const d = await diff(grid.src, a, b);
  assert.deepEqual(d, { added: ['newdir', 'newdir/n.txt'], removed: ['gone.txt'], changed: ['edit.txt'], metadata: ['touch.txt'] });
  assert.deepEqual(await diff(grid.src, a, a), { added: [], removed: [], changed: [], metadata: [] });
});

test('folder head: commit snapshots, reachable caps, forget', async () => {
  const heads = fileHeadStore(join(work, 'head.json'));
  const spec: Record<string, Spec> = { a: { type: 'file', content: 'first version of a file, long enough to have shares of its own' } };
  const { src, snapshotCap: s1, root: r1 } = await backedUp('head-src', spec);
  await commitSnapshot(heads, { cap: s1, time: 1000 });
  await writeFile(join(src, 'a'), 'second version of a file, long enough to have shares of its own');
  const { snapshotCap: s2, root: r2 } = await backup(src, { repo: grid.repo, chunker: grid.chunker, parent: s1 });
  assert.equal((await readSnapshot(grid.src, s2)).parent, s1);
  await commitSnapshot(heads, { cap: s2, time: 2000 });
  const head = (await heads.read())!;
  assert.equal(head.seq, 2);
  assert.deepEqual(
    listSnapshots(head.head).map((s) => s.cap),
    [s1, s2]
  );

  const reach = await reachableBlobs(grid.src, [s1, s2]);
  const fileCaps = await Promise.all([s1, s2].map(async (s) => (await ls(grid.src, s))[0].cap!));
  const idOf = (cap: string) => {
    const c = contentOf(cap, ['snapshot', 'tree', 'data', 'list']);
    return c.kind === 'lit' ? '' : Buffer.from(c.id).toString('hex');
  };
  assert.deepEqual(reach.ids, new Set([s1, s2, r1, r2, ...fileCaps].map(idOf)));

  const d = await forget(heads, { keepLast: 1 });
  assert.deepEqual(
    d.remove.map((s) => s.cap),
    [s1]
  );
  assert.deepEqual((await heads.read())!.head.snapshots, [{ cap: s2, time: 2000 }]);
  assert.equal((await forget(heads, { keepLast: 1 })).remove.length, 0);
  assert.equal(heads.writes, 3);
});

test('a crafted snapshot whose trees name one subtree twice per level (2^30 directories) is refused by restore, walks and diff (issue 17 item 9)', async () => {
  const {
    storeTree,
    storeSnapshot,
    walkTree,
    decodeRef,
    capOf: capFor,
    expansionBudget,
    snapshotLimit,
    TreeTooLargeError
  } = await import('../../src/backup/index.ts');
  // Level 0: one small file. Level i: directories `a` and `b`, both the tree of level i-1. 31 tree blobs in all.
  let ref = (await storeTree(grid.repo, [{ name: 'f', type: 'file', mode: 0o644, mtimeNs: '0', size: 1, lit: 'eA' }])).ref;
  for (let i = 1; i <= 30; i++) {
    const dir = (name: string) => ({ name, type: 'dir' as const, mode: 0o755, mtimeNs: '0', ref });
    ref = (await storeTree(grid.repo, [dir('a'), dir('b')])).ref;
  }
  const root = capFor(grid.repo.readCap, decodeRef(ref, ['tree']));
  const snapshot = { root, time: T, host: 'crafted', paths: ['/x'], stats: { files: 1, dirs: 61, symlinks: 0, bytes: 1 } }; // as if nothing were shared
  const { cap } = await storeSnapshot(grid.repo, snapshot);
  await grid.repo.flush();
  const tooLarge = (e: unknown) => e instanceof TreeTooLargeError && (e as { code: string }).code === 'ERR_TREE_TOO_LARGE';
  const dst = join(work, 'bomb-dst');
  await assert.rejects(restore(cap, dst, { src: grid.src }), tooLarge);
  await assert.rejects(async () => {
    for await (const _ of walkTree(grid.src, root, '', undefined, expansionBudget(snapshotLimit(snapshot)))) void _;
  }, tooLarge);
  const { snapshotCap: plain } = await backedUp('bomb-plain', { 'one.txt': { type: 'file', content: 'one', mode: 0o644, mtimeMs: T } });
  await assert.rejects(diff(grid.src, plain, cap), tooLarge);
  // Whatever restore made before it stopped is bounded by what the snapshot declares.
  let made = 0;
  const count = async (p: string): Promise<void> => {
    for (const e of await readdir(p, { withFileTypes: true }).catch(() => [])) {
      made++;
      if (e.isDirectory()) await count(join(p, e.name));
    }
  };
  await count(dst);
  assert.ok(made <= 1 + 61 + 1, `restore made ${made} entries`);
});

test('the restore walk waits while RESTORE_QUEUE files are queued: it never holds a whole tree of pending files', async () => {
  // a/ holds more files than the queue; b/ comes after it. While every file download is held back, a walk
  // that queued without bound would finish a/ and read b/'s directory; a bounded one waits inside a/.
  const spec: Record<string, Spec> = { a: { type: 'dir' }, b: { type: 'dir' }, 'b/last.txt': { type: 'file', content: 'the last file of the tree' } };
  const count = RESTORE_QUEUE + 100;
  for (let i = 0; i < count; i++) spec[`a/f${String(i).padStart(4, '0')}`] = { type: 'file', content: `file ${i} of the queue test, `.padEnd(100, '.') }; // past LITERAL_MAX_BYTES: stored in a pack
  const { snapshotCap } = await backedUp('queue-src', spec);
  let trees = 0;
  let held = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const src = {
    reader(repo: Parameters<Grid['src']['reader']>[0]) {
      const inner = grid.src.reader(repo);
      return {
        async loadBlob(...args: Parameters<ReturnType<Grid['src']['reader']>['loadBlob']>) {
          if (args[0] === 'tree') trees++;
          if (args[0] === 'data') {
            held++;
            await gate;
          }
          return inner.loadBlob(...args);
        }
      };
    }
  };
  const dst = join(work, 'queue-dst');
  const done = restore(snapshotCap, dst, { src });
  // Let the walk run as far as it will while the downloads are held.
  for (let i = 0; i < 50; i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(held > 0, 'downloads started');
  assert.equal(trees, 2, 'the root and a/ read; b/ not yet: the walk waits for room');
  release();
  const r = await done;
  assert.deepEqual(r.stats.failed, []);
  assert.equal(r.stats.files, count + 1);
  assert.equal(trees, 3);
  assert.equal(await readFile(join(dst, 'b', 'last.txt'), 'utf8'), 'the last file of the tree');
});

test('a backup stores its trees without waiting for its data packs: their pack goes out beside the last data pack', async () => {
  // One flush at the end, not one before the trees: over a slow uplink the trees' pack then shares the link
  // with the last data pack instead of waiting for it to finish (bench wan, include row).
  const spec: Record<string, Spec> = { docs: { type: 'dir' } };
  for (let i = 0; i < 3; i++) spec[`docs/f${i}.txt`] = { type: 'file', content: `file ${i} `.padEnd(100, '-') };
  const original = grid.packs.putPack;
  let pending = 0;
  let most = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  grid.packs.putPack = async (...args: Parameters<typeof original>) => {
    pending++;
    most = Math.max(most, pending);
    try {
      await gate;
      return await original.apply(grid.packs, args);
    } finally {
      pending--;
    }
  };
  try {
    const done = backedUp('overlap-src', spec);
    for (let i = 0; i < 60 && most < 2; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(most, 2, 'the data pack and the trees pack are in flight together');
    release();
    const { snapshotCap, src } = await done;
    const dst = join(work, 'overlap-dst');
    await restore(snapshotCap, dst, { src: grid.src });
    assert.deepEqual(await describeTree(dst), await describeTree(src));
  } finally {
    release();
    grid.packs.putPack = original;
  }
});

test('small files over many batches are restored as written: their read buffer is reused batch after batch', async () => {
  // 700 files of 56 B..40 KiB in one directory (BATCH_FILES is 256, BATCH_BYTES 8 MiB: batches end on both) and a
  // subdirectory among them (its walk stores the batch so far first); small packs, so stores wait on uploads.
  const src = join(work, 'batches-src');
  const spec: Record<string, Spec> = { sub: { type: 'dir' } };
  for (let i = 0; i < 700; i++) spec[`f${String(i).padStart(4, '0')}`] = { type: 'file', content: randomBytes(56 + ((i * 7919) % (40 << 10))) };
  for (let i = 0; i < 40; i++) spec[`sub/g${i}`] = { type: 'file', content: randomBytes(1000 + i) };
  await makeTree(src, spec);
  const { snapshotCap, stats } = await backup(src, { repo: grid.repo, chunker: grid.chunker });
  assert.equal(stats.files, 740);
  const dst = join(work, 'batches-dst');
  const r = await restore(snapshotCap, dst, { src: grid.src });
  assert.deepEqual(r.stats.failed, []);
  for (const name of Object.keys(spec)) {
    if (spec[name].type !== 'file') continue;
    assert.deepEqual(await readFile(join(dst, name)), Buffer.from(spec[name].content as Uint8Array), name);
  }
});

test("a restore's small files come from pooled memory given back once handed to the writer, compressed or not", async () => {
  // 400 files of 1-31 KiB, every other one text (stored zstd) and the rest random (stored raw). Each is read
  // whole from its cached pack into pooled memory (ciphertext, then the plaintext of a compressed one) and given
  // back once copied to the writer thread's batch: the pool lends the restore's few files in flight, it does not
  // allocate per file (it did: two buffers per file, left to the garbage collector).
  const src = join(work, 'pooled-src');
  const spec: Record<string, Spec> = {};
  for (let i = 0; i < 400; i++) {
    const size = 1024 + ((i * 7919) % (30 << 10));
    spec[`f${String(i).padStart(3, '0')}`] = {
      type: 'file',
      content: i % 2 ? randomBytes(size) : Buffer.from(`line ${i} of a text file that compresses well\n`.repeat(size / 40))
    };
  }
  await makeTree(src, spec);
  const { snapshotCap } = await backup(src, { repo: grid.repo, chunker: grid.chunker });
  smallPlainPool.clear();
  const before = smallPlainPool.allocated;
  const dst = join(work, 'pooled-dst');
  const r = await restore(snapshotCap, dst, { src: grid.src });
  assert.deepEqual(r.stats.failed, []);
  assert.equal(r.stats.files, 400);
  for (const [name, s] of Object.entries(spec)) {
    if (s.type === 'file') assert.deepEqual(await readFile(join(dst, name)), Buffer.from(s.content as Uint8Array), name);
  }
  const allocated = smallPlainPool.allocated - before;
  // RESTORE_CONCURRENCY (8) files at once, two buffers each at most, in 64 KiB units: about 1 MiB; 400 files' worth
  // would be 25-50 MiB.
  assert.ok(allocated > 0, 'the small files were read through the pool');
  assert.ok(allocated <= 2 << 20, `${allocated} bytes allocated by the pool for 400 files`);
  assert.ok(smallPlainPool.bytesHeld > 0, 'the buffers came back');
});
