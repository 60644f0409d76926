// A folder backed up from device A comes back, entry by entry, on a fresh device B that has nothing but
// the root cap; also after two storage peers are SIGKILLed. Snapshots, ls, diff and forget through the CLI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { startSwarm, type Swarm } from '../../src/peer/swarm.ts';
import { tempDir } from '../integration/helpers.ts';
import { makeTree, describeTree } from '../backup/tree.ts';
import { Device } from './helpers.ts';

let tmp: { dir: string; cleanup: () => Promise<void> };
let swarm: Swarm | undefined;
let a: Device, b: Device;
const T0 = Date.UTC(2024, 0, 2, 3, 4, 5, 678); // mtimes with milliseconds

before(async () => {
  tmp = await tempDir('p2pb-folders-anywhere-');
  swarm = await startSwarm({ dir: join(tmp.dir, 'swarm'), peers: 5 });
  a = await new Device(join(tmp.dir, 'device-a')).init(swarm);
  b = await new Device(join(tmp.dir, 'device-b')).init(swarm);
  await Promise.all([a.start(), b.start()]);
});
after(async () => {
  await Promise.allSettled([a?.stop(), b?.stop()]);
  await swarm?.stop();
  await tmp?.cleanup();
});

test('a tree backed up on A restores identically on a fresh B from the root cap alone, even with 2 peers down', async () => {
  const src = join(tmp.dir, 'data');
  await makeTree(src, {
    sub: { type: 'dir', mode: 0o755, mtimeMs: T0 + 1 },
    'sub/deeper': { type: 'dir', mtimeMs: T0 + 2 },
    'sub/deeper/leaf.txt': { type: 'file', content: 'leaf\n', mode: 0o644, mtimeMs: T0 + 3 },
    'sub/x.txt': { type: 'file', content: 'version 1\n', mtimeMs: T0 + 4 },
    'empty-dir': { type: 'dir', mode: 0o700, mtimeMs: T0 + 5 },
    'empty-file': { type: 'file', content: '', mtimeMs: T0 + 6 },
    'big.bin': { type: 'file', content: randomBytes(1.5 * 2 ** 20 + 17), mode: 0o600, mtimeMs: T0 + 7 },
    'run.sh': { type: 'file', content: '#!/bin/sh\necho hi\n', mode: 0o755, mtimeMs: T0 + 8 },
    'link-to-leaf': { type: 'symlink', target: 'sub/deeper/leaf.txt', mtimeMs: T0 + 9 },
    'dangling-link': { type: 'symlink', target: '../nowhere/at all', mtimeMs: T0 + 10 },
    'héllo wörld ✓.txt': { type: 'file', content: 'unicode name\n', mtimeMs: T0 + 11 },
    'name with spaces.md': { type: 'file', content: '# spaces\n', mode: 0o600, mtimeMs: T0 + 12 }
  });
  const want1 = await describeTree(src);

  const s1 = await a.json(['backup', src]);
  assert.equal(s1.type, 'summary');
  assert.equal(s1.state, 'in-sync');
  assert.match(s1.rootCap, /^p2pb:mr:/);
  assert.match(s1.snapshotCap, /^p2pb:/);
  assert.equal(s1.stats.files, 7);
  assert.equal(s1.stats.symlinks, 2);
  const rootCap: string = s1.rootCap;

  // B knows nothing but the root cap.
  const snaps1 = await b.snapshots(rootCap);
  assert.deepEqual(
    snaps1.map((s) => s.cap),
    [s1.snapshotCap]
  );
  const out1 = join(tmp.dir, 'restore-1');
  const run1 = await b.cli(['--json', 'restore', rootCap, out1]);
  assert.equal(run1.code, 0, run1.stderr);
  const lines1 = run1.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const r1 = lines1.at(-1);
  // --json: status lines (throttled, with the totals of the snapshot and an ETA), no line per file.
  const last1 = lines1.filter((l) => l.type === 'status' && l.event.type === 'backup:restore:status').at(-1)?.event;
  assert.deepEqual([last1?.files, last1?.totalFiles, last1?.totalBytes, last1?.etaSeconds], [7, 7, s1.stats.bytesTotal, 0], JSON.stringify(last1));
  assert.ok(!lines1.some((l) => l.event?.type === 'backup:restore:file'), 'no per-file lines without --verbose');
  // --verbose (text): one line per file written.
  const verbose = await b.cli(['restore', '--verbose', rootCap, join(tmp.dir, 'restore-v')]);
  assert.equal(verbose.code, 0, verbose.stderr);
  assert.deepEqual(
    verbose.stdout
      .split('\n')
      .filter((l) => l.startsWith('written '))
      .map((l) => l.slice(l.lastIndexOf('/') + 1))
      .sort(),
    ['big.bin', 'empty-file', 'héllo wörld ✓.txt', 'leaf.txt', 'name with spaces.md', 'run.sh', 'x.txt']
  );
  assert.equal(r1.snapshotCap, s1.snapshotCap);
  assert.deepEqual(r1.stats.failed, []);
  assert.deepEqual(await describeTree(out1), want1);

  const ls = await b.json(['ls', rootCap, 'sub']);
  assert.deepEqual(
    ls.entries.map((e: any) => [e.name, e.type]),
    [
      ['deeper', 'dir'],
      ['x.txt', 'file']
    ]
  );
  assert.equal(Number(BigInt(ls.entries[1].mtimeNs) / 1_000_000n), want1.get('sub/x.txt')!.mtimeMs);

  // A second backup after changing one file: diff names exactly that file.
  await writeFile(join(src, 'sub/x.txt'), 'version 2, longer\n');
  await utimes(join(src, 'sub/x.txt'), (T0 + 100) / 1000, (T0 + 100) / 1000);
  const want2 = await describeTree(src);
  const s2 = await a.json(['backup', src]);
  assert.equal(s2.rootCap, rootCap, 'the same folder keeps its root cap');
  assert.notEqual(s2.snapshotCap, s1.snapshotCap);
  assert.equal(s2.stats.unchanged, 6, 'only the changed file is read again');
  const d = await b.json(['diff', s1.snapshotCap, s2.snapshotCap]);
  assert.deepEqual(d, { added: [], removed: [], changed: ['sub/x.txt'], metadata: [] });
  assert.deepEqual(
    (await b.snapshots(rootCap)).map((s) => s.cap),
    [s1.snapshotCap, s2.snapshotCap]
  );

  // forget on the owning device: one snapshot left, the latest.
  const f = await a.json(['forget', src, '--keep-last', '1']);
  assert.equal(f.keep.length, 1);
  assert.equal(f.remove.length, 1);
  assert.deepEqual(
    (await b.snapshots(rootCap)).map((s) => s.cap),
    [s2.snapshotCap]
  );

  // Two storage peers lost: 3 of 5 shares of every object (and 3 of 5 head replicas) remain.
  await swarm!.kill(0);
  await swarm!.kill(3);
  const out2 = join(tmp.dir, 'restore-2');
  const r2 = await b.json(['restore', rootCap, out2]);
  assert.equal(r2.snapshotCap, s2.snapshotCap);
  assert.deepEqual(r2.stats.failed, []);
  assert.deepEqual(await describeTree(out2), want2);
});
