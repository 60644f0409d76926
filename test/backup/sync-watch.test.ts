// A watched folder: the daemon takes a first snapshot by itself, a new one after a change (debounced),
// none when a batch finds the content unchanged, the latest restores to the changed content, and
// `watch remove` stops it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { lstat, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSwarm, type Swarm } from '../../src/peer/swarm.ts';
import { tempDir } from '../integration/helpers.ts';
import { makeTree, describeTree } from './tree.ts';
import { Device, waitFor } from '../peer/helpers.ts';

let tmp: { dir: string; cleanup: () => Promise<void> };
let swarm: Swarm | undefined;
let dev: Device;

before(async () => {
  tmp = await tempDir('p2pb-folders-watch-');
  swarm = await startSwarm({ dir: join(tmp.dir, 'swarm'), peers: 5 });
  dev = await new Device(join(tmp.dir, 'device')).init(swarm);
  await dev.start();
});
after(async () => {
  await dev?.stop();
  await swarm?.stop();
  await tmp?.cleanup();
});

test('watch add: first snapshot by itself, a newer one after a change, watch remove stops it', async (t) => {
  const src = join(tmp.dir, 'watched');
  await makeTree(src, {
    'notes.txt': { type: 'file', content: 'first\n' },
    docs: { type: 'dir' },
    'docs/blob.bin': { type: 'file', content: randomBytes(200_000) }
  });
  const t0 = Date.now();
  const added = await dev.json(['watch', 'add', src]);
  assert.equal(added.path, src);
  assert.equal(added.watch, true);
  const rootCap: string = added.rootCap;
  assert.match(rootCap, /^p2pb:mr:/);

  const first = await waitFor(
    'the first snapshot of the watched folder',
    async () => {
      const f = (await dev.folders()).find((x) => x.path === src);
      return f?.state === 'in-sync' && f.lastSnapshot ? f : null;
    },
    { timeoutMs: 60_000 }
  );
  assert.equal(first.rootCap, rootCap);
  const snaps1 = await dev.snapshots(rootCap);
  assert.deepEqual(
    snaps1.map((s) => s.cap),
    [first.lastSnapshot.cap],
    'the head holds the first snapshot'
  );
  const firstMs = Date.now() - t0;

  // A change: within the debounce (2 s) plus a batch, a newer snapshot is in the head.
  await writeFile(join(src, 'notes.txt'), 'second, after a change\n');
  await writeFile(join(src, 'docs/new.txt'), 'a new file\n');
  const want = await describeTree(src);
  const t1 = Date.now();
  const snaps2 = await waitFor(
    'a newer snapshot after the change',
    async () => {
      const s = await dev.snapshots(rootCap);
      return s.length >= 2 && s.at(-1)!.time > snaps1[0].time ? s : null;
    },
    { timeoutMs: 45_000, intervalMs: 1_000 }
  );
  const changeMs = Date.now() - t1;
  const f2 = await waitFor('in-sync after the change', async () => {
    const f = (await dev.folders()).find((x) => x.path === src);
    return f?.state === 'in-sync' && f.lastSnapshot?.cap === snaps2.at(-1)!.cap ? f : null;
  });
  assert.equal(f2.pending, 0);

  const out = join(tmp.dir, 'restored');
  const r = await dev.json(['restore', snaps2.at(-1)!.cap, out]);
  assert.deepEqual(r.stats.failed, []);
  assert.deepEqual(await describeTree(out), want, 'the latest snapshot is the changed folder');

  // A watched folder whose content did not change gets no new snapshot: notes.txt rewritten with its own
  // bytes and its mtime put back (to the nanosecond) is a watcher event and a batch that reads the file
  // again (its ctime moved), and the head stays as it was. The atime goes back with the mtime: chokidar stats a
  // changed file and drops the event when the mtime is the one it saw before and the atime is later (an access,
  // not a change); with only the mtime put back, the event was lost whenever its stat came after `touch`.
  const notes = join(src, 'notes.txt');
  const same = await readFile(notes);
  const { mtimeNs } = await lstat(notes, { bigint: true });
  await writeFile(notes, same);
  execFileSync('touch', ['-d', `@${mtimeNs / 1_000_000_000n}.${(mtimeNs % 1_000_000_000n).toString().padStart(9, '0')}`, notes]);
  assert.equal((await lstat(notes, { bigint: true })).mtimeNs, mtimeNs);
  const f3 = await waitFor(
    'the batch after rewriting a file with its own bytes',
    async () => {
      const f = (await dev.folders()).find((x) => x.path === src);
      return f?.state === 'in-sync' && f.pending === 0 && JSON.stringify(f.lastStats) !== JSON.stringify(f2.lastStats) ? f : null;
    },
    { timeoutMs: 45_000 }
  );
  assert.equal(f3.lastStats.bytesRead, same.length, 'the batch read the rewritten file again');
  assert.equal(f3.lastSnapshot.cap, snaps2.at(-1)!.cap);
  assert.deepEqual(
    (await dev.snapshots(rootCap)).map((s) => s.cap),
    snaps2.map((s) => s.cap),
    'no snapshot of an unchanged folder'
  );

  // watch remove: the folder is gone from the list, its snapshots stay, changes are no longer picked up.
  // A second folder, still watched, is changed right after the removed one: once its new snapshot is in,
  // the watcher has had every chance to take the removed folder's change, and did not.
  const control = join(tmp.dir, 'still-watched');
  await makeTree(control, { 'c.txt': { type: 'file', content: 'control\n' } });
  const ctl = await dev.json(['watch', 'add', control]);
  const ctlFirst = await waitFor(
    'the first snapshot of the control folder',
    async () => {
      const s = await dev.snapshots(ctl.rootCap);
      return s.length ? s : null;
    },
    { timeoutMs: 60_000, intervalMs: 1_000 }
  );
  const removed = await dev.json(['watch', 'remove', src]);
  assert.equal(removed.path, src);
  assert.equal(
    (await dev.folders()).find((x) => x.path === src),
    undefined
  );
  await writeFile(join(src, 'notes.txt'), 'third, not watched any more\n');
  await writeFile(join(control, 'c.txt'), randomBytes(300_000)); // a bigger batch than the removed folder's would be
  await waitFor(
    'a new snapshot of the control folder, changed after the removed one',
    async () => {
      const s = await dev.snapshots(ctl.rootCap);
      const f = (await dev.folders()).find((x) => x.path === control);
      return s.length > ctlFirst.length && f?.state === 'in-sync' ? s : null;
    },
    { timeoutMs: 45_000, intervalMs: 1_000 }
  );
  assert.deepEqual(
    (await dev.snapshots(rootCap)).map((s) => s.cap),
    snaps2.map((s) => s.cap),
    'no snapshot of the removed folder'
  );
  await dev.json(['watch', 'remove', control]);
  t.diagnostic(`first snapshot after ${firstMs} ms; change snapshotted after ${changeMs} ms`);
});

test('watch add on a folder backed up before by hand picks up the changes made since', async () => {
  const src = join(tmp.dir, 'manual-then-watched');
  await makeTree(src, { 'a.txt': { type: 'file', content: 'backed up by hand\n' } });
  const s1 = await dev.json(['backup', src]);
  assert.equal(s1.state, 'in-sync');
  await writeFile(join(src, 'a.txt'), 'changed while nobody watched\n');
  const want = await describeTree(src);
  const f = await dev.json(['watch', 'add', src]);
  assert.equal(f.rootCap, s1.rootCap, 'the same folder, now watched');
  assert.equal(f.watch, true);
  // No file event after `watch add`: only a batch at `watch add` can see the change.
  const snaps = await waitFor(
    'a snapshot of the change made before `watch add`',
    async () => {
      const s = await dev.snapshots(s1.rootCap);
      return s.length >= 2 ? s : null;
    },
    { timeoutMs: 30_000, intervalMs: 1_000 }
  );
  const out = join(tmp.dir, 'restored-manual');
  await dev.json(['restore', snaps.at(-1)!.cap, out]);
  assert.deepEqual(await describeTree(out), want);
  await dev.json(['watch', 'remove', src]);
});
