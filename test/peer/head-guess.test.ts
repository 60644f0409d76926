// The folder service writes a folder head it wrote itself without reading it first (commitSnapshot's `known`), and a
// head another device moved in between is read again: its change stays (a snapshot it forgot does not come back).
// Real peers on loopback: the other device's write is a real signed record on the head's holders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inProcessPeers } from './in-process.ts';
import { decodeHead, encodeHead, listSnapshots } from '../../src/backup/index.ts';
import { fetchRecord, publishRecord } from '../../src/client/index.ts';

const { dir, trio } = await inProcessPeers('p2pb-head-guess-');

test('a head moved by another device between two backups keeps its change', { timeout: 120_000 }, async () => {
  const [A] = await trio();
  const src = join(dir, 'folder');
  await mkdir(src);
  const snapshotsOf = async (cap: string) => {
    const r = (await fetchRecord(A.finder, cap))!;
    return { seq: r.seq, head: decodeHead(r.payload), caps: listSnapshots(decodeHead(r.payload)).map((s) => s.cap) };
  };

  await writeFile(join(src, 'a.txt'), 'one\n');
  const first = (await A.folders!.backupNow(src)).lastSnapshot!.cap;
  await writeFile(join(src, 'a.txt'), 'two\n');
  const second = (await A.folders!.backupNow(src)).lastSnapshot!.cap;
  const { writeCap } = await A.folders!.engine.find(src);
  const before = await snapshotsOf(writeCap);
  assert.deepEqual(before.caps, [first, second]);

  // Another device of the owner forgets the first snapshot: it writes the head without it, one seq on.
  const forgotten = { ...before.head, snapshots: before.head.snapshots.filter((s) => s.cap !== first) };
  await publishRecord(A.finder, writeCap, encodeHead(forgotten), { seq: before.seq + 1, minReplicas: 2 });

  await writeFile(join(src, 'a.txt'), 'three\n');
  const third = (await A.folders!.backupNow(src)).lastSnapshot!.cap;
  const now = await snapshotsOf(writeCap);
  assert.deepEqual(now.caps, [second, third], 'the forgotten snapshot stays forgotten, the new one is added');
  assert.equal(now.seq, before.seq + 2);

  // Backups in a row on a head this device wrote: the head moves by one seq each, and none is lost.
  await writeFile(join(src, 'a.txt'), 'four\n');
  const fourth = (await A.folders!.backupNow(src)).lastSnapshot!.cap;
  const last = await snapshotsOf(writeCap);
  assert.deepEqual(last.caps, [second, third, fourth]);
  assert.equal(last.seq, before.seq + 3);
});
