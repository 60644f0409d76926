// Restored mtimes are exact to the microsecond (what utimes can set), not one microsecond low.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backup, restore } from '../../src/backup/index.ts';
import { createGrid, type Grid } from './grid.ts';
import { makeTree, type Spec } from './tree.ts';

let grid: Grid;
let work: string;
before(async () => {
  grid = await createGrid();
  work = await mkdtemp(join(tmpdir(), 'p2pb-mtime-'));
});
after(async () => {
  await grid.close();
  await rm(work, { recursive: true, force: true });
});

test('mtimes with milliseconds survive a round trip exactly (files, dirs, symlinks)', async () => {
  const T0 = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
  const spec: Record<string, Spec> = { d: { type: 'dir', mtimeMs: T0 + 999 }, 'd/l': { type: 'symlink', target: 'f0', mtimeMs: T0 + 1 } };
  for (let i = 0; i < 40; i++) spec[`d/f${i}`] = { type: 'file', content: `file ${i}`, mtimeMs: T0 + i * 37 };
  const src = join(work, 'src');
  await makeTree(src, spec);
  const { snapshotCap } = await backup(src, { repo: grid.repo, chunker: grid.chunker });
  const dst = join(work, 'dst');
  const r = await restore(snapshotCap, dst, { src: grid.src });
  assert.deepEqual(r.stats.failed, []);
  for (const p of Object.keys(spec)) {
    const [a, b] = await Promise.all([lstat(join(src, p), { bigint: true }), lstat(join(dst, p), { bigint: true })]);
    assert.equal(b.mtimeNs, a.mtimeNs, `${p}: restored mtime`);
  }
});
