// Prune: what no kept snapshot needs is freed (a pack with nothing live deleted, a mostly dead pack rewritten),
// nothing a kept snapshot reaches is lost, and a prune killed (SIGKILL, in its own process) at every fault point
// loses nothing and is finished by a re-run: afterwards no dead pack is left on the stores.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backup, restore, commitSnapshot, forget, pruneRepository } from '../../src/backup/index.ts';
import { formatCap, storageIndexOf, type PackCap } from '../../src/caps/index.ts';
import { PACK_TARGET_BYTES } from '../../src/repo/constants.ts';
import { createGrid, type Grid } from '../backup/grid.ts';
import { fileHeadStore } from '../backup/heads.ts';
import { describeTree } from '../backup/tree.ts';

const work = await mkdtemp(join(tmpdir(), 'p2pb-prune-'));
after(() => rm(work, { recursive: true, force: true }));
const child = new URL('./prune-child.ts', import.meta.url).pathname;

/** Three backups of one folder, all but the last forgotten: one data pack mostly dead, one wholly dead, dead trees. */
async function scenario(name: string) {
  const secret = new Uint8Array(randomBytes(32));
  const dir = join(work, name);
  const src = join(dir, 'src');
  await mkdir(src, { recursive: true });
  const gridDir = join(dir, 'grid');
  await mkdir(gridDir);
  // Every pack full size and none sealed early: each backup's data in one pack, the first mixing live and dead blobs.
  const grid = await createGrid({ dir: gridDir, secret, keep: true, packFirstBytes: PACK_TARGET_BYTES, packIdleSealMs: 0 });
  const heads = fileHeadStore(join(dir, 'head.json'));
  const snap = async (t: number) => {
    const r = await backup(src, { repo: grid.repo, chunker: grid.chunker, time: t });
    await commitSnapshot(heads, { cap: r.snapshotCap, time: t });
    return r;
  };
  await writeFile(join(src, 'live.txt'), randomBytes(100_000));
  await writeFile(join(src, 'dead.bin'), randomBytes(1_500_000));
  await snap(1000);
  await writeFile(join(src, 'dead2.bin'), randomBytes(300_000));
  await snap(2000);
  await rm(join(src, 'dead.bin'));
  await rm(join(src, 'dead2.bin'));
  const last = await snap(3000);
  await forget(heads, { keepLast: 1 });
  await grid.repo.publish();
  const packsBefore = await grid.repo.livePacks();
  await grid.close();
  return { secret, src, gridDir, headFile: join(dir, 'head.json'), last, packsBefore };
}

async function shareCount(grid: Grid, packs: PackCap[]): Promise<number> {
  let n = 0;
  for (const p of packs) for (const s of grid.stores) n += (await s.list(storageIndexOf(p)!)).length;
  return n;
}

async function reopenAndCheck(sc: Awaited<ReturnType<typeof scenario>>, what: string) {
  const grid = await createGrid({ dir: sc.gridDir, secret: sc.secret, keep: true });
  try {
    const out = join(sc.gridDir, '..', `restored-${what}`);
    const r = await restore(sc.last.snapshotCap, out, { src: grid.src });
    assert.deepEqual(r.stats.failed, [], `${what}: the kept snapshot restores`);
    assert.deepEqual(await describeTree(out), await describeTree(sc.src), `${what}: byte-identical`);
    await rm(out, { recursive: true, force: true });
    return grid;
  } catch (e) {
    await grid.close();
    throw e;
  }
}

test('prune deletes dead packs, rewrites mostly dead ones, keeps the kept snapshot whole', async () => {
  const sc = await scenario('plain');
  const grid = await createGrid({ dir: sc.gridDir, secret: sc.secret, keep: true });
  try {
    const heads = fileHeadStore(sc.headFile);
    const kept = async () => (await heads.read())!.head.snapshots.map((s) => s.cap);
    const dry = await pruneRepository(grid.repo, grid.src, kept, { dryRun: true });
    assert.ok(dry.packsDeleted >= 2 && dry.packsRepacked >= 1, JSON.stringify(dry));
    assert.equal(grid.packs.deleted.length, 0, 'a dry run changes nothing');
    const r = await pruneRepository(grid.repo, grid.src, kept);
    assert.deepEqual([r.packsDeleted, r.packsRepacked], [dry.packsDeleted, dry.packsRepacked]);
    assert.ok(r.bytesFreed >= 1_500_000, `freed ${r.bytesFreed}`);
    const after = await grid.repo.livePacks();
    const live = new Set(after.map((p) => formatCap(p)));
    const gone = sc.packsBefore.filter((p) => !live.has(formatCap(p)));
    assert.ok(gone.length >= 3, `packs dropped from the index: ${gone.length}`);
    assert.equal(await shareCount(grid, gone), 0, 'their holders deleted every share');
    const again = await pruneRepository(grid.repo, grid.src, kept, { dryRun: true });
    assert.deepEqual([again.packsDeleted, again.packsRepacked, again.blobsDead], [0, 0, 0], 'nothing left to prune');
  } finally {
    await grid.close();
  }
  (await reopenAndCheck(sc, 'plain')).close();
});

for (const fault of ['repo:prune:repacking', 'repo:prune:repacked', 'repo:prune:index-stored', 'repo:prune:swapped', 'repo:prune:deleting']) {
  test(`prune killed at ${fault}: nothing reachable lost; a re-run finishes and leaves nothing dead`, async () => {
    const sc = await scenario(fault.replaceAll(':', '-'));
    const run = (env: Record<string, string> = {}) =>
      spawnSync(process.execPath, [child, sc.gridDir, Buffer.from(sc.secret).toString('hex'), sc.headFile], {
        env: { ...process.env, ...env },
        encoding: 'utf8'
      });
    const killed = run({ P2PBACKUP_FAULT: fault });
    assert.equal(killed.signal, 'SIGKILL', `the child died at ${fault}: ${killed.stderr}`);
    await (await reopenAndCheck(sc, `${fault}-killed`)).close();
    const finished = run();
    assert.equal(finished.status, 0, finished.stderr);
    const grid = await reopenAndCheck(sc, `${fault}-rerun`);
    try {
      const live = new Set((await grid.repo.livePacks()).map((p) => formatCap(p)));
      const gone = sc.packsBefore.filter((p) => !live.has(formatCap(p)));
      assert.ok(gone.length >= 3, `packs dropped: ${gone.length}`);
      assert.equal(await shareCount(grid, gone), 0, 'no dead pack left on the stores');
      const heads = fileHeadStore(sc.headFile);
      const again = await pruneRepository(grid.repo, grid.src, async () => (await heads.read())!.head.snapshots.map((s) => s.cap), { dryRun: true });
      assert.deepEqual([again.packsDeleted, again.packsRepacked, again.blobsDead], [0, 0, 0], 'nothing left to prune');
    } finally {
      await grid.close();
    }
  });
}
