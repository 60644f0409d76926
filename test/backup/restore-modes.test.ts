// Restore of modes from a snapshot that may be crafted (issue 17 item 8): setuid, setgid and sticky bits only
// with `preserveSpecial`, the umask applied unless `ignoreUmask`, an existing directory's mode never loosened
// unless overwrite is 'always'.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backup, restore } from '../../src/backup/index.ts';
import { createGrid, type Grid } from './grid.ts';
import { makeTree, type Spec } from './tree.ts';

let grid: Grid;
let work: string;
let snapshotCap: string;
const UMASK = 0o022;
let umaskBefore: number;
const body = (s: string) => `${s}: long enough to be stored as shares, not as a literal cap............`;
const SPEC: Record<string, Spec> = {
  '.ssh': { type: 'dir', mode: 0o777 },
  '.ssh/authorized_keys': { type: 'file', content: body('keys'), mode: 0o666 },
  bin: { type: 'dir', mode: 0o1777 },
  'bin/suid': { type: 'file', content: body('suid'), mode: 0o4755 },
  'bin/sgid': { type: 'file', content: body('sgid'), mode: 0o2755 }
};
const modeAt = async (p: string) => (await stat(p)).mode & 0o7777;

before(async () => {
  umaskBefore = process.umask(UMASK);
  grid = await createGrid();
  work = await mkdtemp(join(tmpdir(), 'p2pb-modes-'));
  await makeTree(join(work, 'src'), SPEC);
  ({ snapshotCap } = await backup(join(work, 'src'), { repo: grid.repo, chunker: grid.chunker, host: 'h' }));
});
after(async () => {
  process.umask(umaskBefore);
  await grid.close();
  await rm(work, { recursive: true, force: true });
});

test('by default: no setuid/setgid/sticky, the umask applied', async () => {
  const dst = join(work, 'plain');
  await restore(snapshotCap, dst, { src: grid.src });
  assert.equal(await modeAt(join(dst, 'bin/suid')), 0o755);
  assert.equal(await modeAt(join(dst, 'bin/sgid')), 0o755);
  assert.equal(await modeAt(join(dst, 'bin')), 0o755);
  assert.equal(await modeAt(join(dst, '.ssh')), 0o755);
  assert.equal(await modeAt(join(dst, '.ssh/authorized_keys')), 0o644);
});

test('preserveSpecial and ignoreUmask restore the bits as recorded', async () => {
  const dst = join(work, 'exact');
  await restore(snapshotCap, dst, { src: grid.src, preserveSpecial: true, ignoreUmask: true });
  assert.equal(await modeAt(join(dst, 'bin/suid')), 0o4755);
  assert.equal(await modeAt(join(dst, 'bin/sgid')), 0o2755);
  assert.equal(await modeAt(join(dst, 'bin')), 0o1777);
  assert.equal(await modeAt(join(dst, '.ssh/authorized_keys')), 0o666);
});

test('an existing directory keeps its mode unless overwrite is always', async () => {
  const dst = join(work, 'home');
  await mkdir(join(dst, '.ssh'), { recursive: true });
  await chmod(join(dst, '.ssh'), 0o700);
  await restore(snapshotCap, dst, { src: grid.src, ignoreUmask: true });
  assert.equal(await modeAt(join(dst, '.ssh')), 0o700, 'if-changed (the default) never loosens ~/.ssh');
  await restore(snapshotCap, dst, { src: grid.src, ignoreUmask: true, overwrite: 'never' });
  assert.equal(await modeAt(join(dst, '.ssh')), 0o700);
  await restore(snapshotCap, dst, { src: grid.src, overwrite: 'always' });
  assert.equal(await modeAt(join(dst, '.ssh')), 0o755, 'asked for: the snapshot mode, umask applied');
});

test('paths in restore events are the joined paths, for a target given with a trailing slash or dot segments', async () => {
  for (const given of [`${join(work, 'slash')}/`, `${join(work, 'dots')}/./x/..//`]) {
    const seen: string[] = [];
    await restore(snapshotCap, given, {
      src: grid.src,
      onProgress: (e) => {
        if (e.type === 'backup:restore:file') seen.push(String((e as { path: string }).path));
      }
    });
    assert.deepEqual(seen.sort(), ['.ssh/authorized_keys', 'bin/sgid', 'bin/suid'].map((p) => join(given, p)).sort(), given);
    // Temporary names land in the file's own directory and none is left.
    assert.deepEqual((await readdir(join(given, 'bin'))).sort(), ['sgid', 'suid']);
  }
});
