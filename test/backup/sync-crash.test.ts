// Crash safety of a watched-folder sync: the daemon SIGKILLs itself at one point of a batch (before the
// upload, mid-share, all placed but head not moved, head moved but journal not cleaned up). Another
// device then reads the signed head from the swarm: it is the old head or the old head plus the new
// snapshot, and every snapshot in it restores completely. Restarted without the fault, the daemon
// converges: in-sync, and the latest snapshot is exactly the folder as it is now. A SIGTERM during an
// upload stops the daemon cleanly with the batch journaled as interrupted, and the next start resumes it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSwarm, type Swarm } from '../../src/peer/swarm.ts';
import { tempDir } from '../integration/helpers.ts';
import { makeTree, describeTree, type Described } from './tree.ts';
import { Device, waitFor } from '../peer/helpers.ts';
import { SyncJournal } from '../../src/backup/journal.ts';
import { homePaths } from '../../src/peer/home.ts';

let tmp: { dir: string; cleanup: () => Promise<void> };
let swarm: Swarm | undefined;
let dev: Device; // owns the watched folder; its daemon is the one that crashes
let reader: Device; // another device (the swarm's own client home and daemon): knows only the root cap
let src: string;
let rootCap: string;
let restores = 0;
/** Snapshot cap -> the folder content it must restore to (checked once per snapshot). */
const verified = new Map<string, Map<string, Described>>();

before(async () => {
  tmp = await tempDir('p2pb-folders-crash-');
  swarm = await startSwarm({ dir: join(tmp.dir, 'swarm'), peers: 5 });
  dev = await new Device(join(tmp.dir, 'device')).init(swarm);
  reader = new Device(swarm.info.dir); // its daemon belongs to the swarm (stopped with it)
  await dev.start();
  src = join(tmp.dir, 'folder');
  await makeTree(src, {
    'notes.txt': { type: 'file', content: 'round 0\n' },
    sub: { type: 'dir' },
    'sub/data.bin': { type: 'file', content: randomBytes(100_000) }
  });
  const want = await describeTree(src);
  rootCap = (await dev.json(['watch', 'add', src])).rootCap;
  const f = await converged(0);
  await restoresTo(f.lastSnapshot.cap, want);
  await dev.stop();
});
after(async () => {
  await dev?.stop().catch(() => {});
  await swarm?.stop();
  await tmp?.cleanup();
});

/** In-sync with a snapshot taken at or after `since`, and that snapshot is the head's latest. */
async function converged(since: number) {
  return waitFor(
    'the folder to converge',
    async () => {
      const f = (await dev.api('GET', '/api/folders')).folders.find((x: any) => x.path === src);
      if (f?.state !== 'in-sync' || !f.lastSnapshot || f.lastSnapshot.time < since) return null;
      const head = (await dev.api('GET', `/api/snapshots?of=${encodeURIComponent(rootCap)}`)).snapshots;
      if (head.at(-1)?.cap !== f.lastSnapshot.cap) return null;
      // `watch list` (the CLI) says so too.
      const listed = (await dev.folders()).find((x) => x.path === src);
      return listed?.state === 'in-sync' && listed.lastSnapshot?.cap === f.lastSnapshot.cap ? listed : null;
    },
    { timeoutMs: 90_000, intervalMs: 500 }
  );
}

/** Restore a snapshot on the reader into a new directory: no failure, and exactly `want`. */
async function restoresTo(cap: string, want: Map<string, Described>) {
  const out = join(tmp.dir, `restore-${++restores}`);
  const r = await reader.json(['restore', cap, out]);
  assert.deepEqual(r.stats.failed, [], `snapshot ${cap} restores completely`);
  assert.deepEqual(await describeTree(out), want, `snapshot ${cap} restores to its folder content`);
  verified.set(cap, want);
}

const FAULTS = [
  { point: 'sync:scanning', headMoved: false },
  { point: 'client:upload:share-placed', headMoved: false },
  { point: 'sync:placed', headMoved: false },
  { point: 'sync:committed', headMoved: true }
];

for (const [i, { point, headMoved }] of FAULTS.entries()) {
  test(`SIGKILL at ${point}: the head is old or old+new and complete; the folder converges after a restart`, async (t) => {
    const t0 = Date.now();
    const lap = (what: string) => t.diagnostic(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const old = (await reader.snapshots(rootCap)).map((s) => s.cap);
    assert.ok(old.length >= 1);
    // Change the folder while the daemon is down: the catch-up batch at start picks it up.
    await writeFile(join(src, 'notes.txt'), `round ${i + 1}: ${point}\n`);
    await writeFile(join(src, `sub/new-${i + 1}.bin`), randomBytes(150_000 + i));
    const want = await describeTree(src);

    const exit = await dev.runUntilDeath({ P2PBACKUP_FAULT: point }, 90_000);
    lap('daemon died');
    assert.equal(exit.signal, 'SIGKILL', `the daemon killed itself at ${point} (exit ${JSON.stringify(exit)})`);

    // Another device reads the signed head from the swarm.
    const head = (await reader.snapshots(rootCap)).map((s) => s.cap);
    assert.deepEqual(head.slice(0, old.length), old, 'the old snapshots are all still in the head');
    assert.ok(head.length === old.length || head.length === old.length + 1, `old or old+new (old ${old.length}, now ${head.length})`);
    assert.equal(head.length > old.length, headMoved, headMoved ? 'the head had moved before the crash' : 'the head had not moved yet');
    for (const cap of head) {
      if (!verified.has(cap)) await restoresTo(cap, want); // a new snapshot is the changed folder, complete
    }

    lap('head checked');
    // Restart without the fault: the journal is recovered and the folder converges.
    const restartAt = Date.now();
    await dev.start();
    lap('restarted');
    try {
      const f = await converged(restartAt);
      lap('converged');
      const after = (await reader.snapshots(rootCap)).map((s) => s.cap);
      assert.deepEqual(after.slice(0, head.length), head, 'nothing committed is lost');
      assert.equal(after.at(-1), f.lastSnapshot.cap);
      if (!verified.has(f.lastSnapshot.cap)) await restoresTo(f.lastSnapshot.cap, want);
      else assert.deepEqual(verified.get(f.lastSnapshot.cap), want);
      lap('latest restored');
    } finally {
      const exit = await dev.stop();
      lap(`stopped (${JSON.stringify(exit)})`);
    }
  });
}

test('SIGTERM during an upload: a clean stop, the batch journaled as interrupted, resumed at the next start', async (t) => {
  const old = (await reader.snapshots(rootCap)).map((s) => s.cap);
  await dev.start();
  // A change big enough that its upload lasts a few seconds on loopback.
  await writeFile(join(src, 'sub/big.bin'), randomBytes(24 * 2 ** 20));
  const want = await describeTree(src);
  await waitFor(
    'the batch to be uploading',
    async () => {
      const f = (await dev.api('GET', '/api/folders')).folders.find((x: any) => x.path === src);
      return f?.state === 'uploading';
    },
    { timeoutMs: 60_000, intervalMs: 100 }
  );
  const exit = await dev.stop('SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null }, 'a clean exit');
  // What the daemon left in its journal: the folder interrupted, no batch in flight.
  const journal = await SyncJournal.open(homePaths(dev.home).sync);
  try {
    const rec = (await journal.list()).find((f) => f.path === src);
    assert.equal(rec?.state, 'interrupted');
    assert.equal(rec?.batch, undefined);
  } finally {
    await journal.close();
  }
  assert.deepEqual(
    (await reader.snapshots(rootCap)).map((s) => s.cap),
    old,
    'the head did not move'
  );
  // The next start resumes: in-sync, and the latest snapshot is the folder with the big file.
  const restartAt = Date.now();
  await dev.start();
  try {
    const f = await converged(restartAt);
    const head = (await reader.snapshots(rootCap)).map((s) => s.cap);
    assert.deepEqual(head, [...old, f.lastSnapshot.cap], 'one new snapshot, after the old ones');
    await restoresTo(f.lastSnapshot.cap, want);
  } finally {
    t.diagnostic(`stopped: ${JSON.stringify(await dev.stop())}`);
  }
});
