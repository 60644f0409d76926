// Device recovery: device A watches a folder, then is lost (daemon stopped, home and folder deleted).
// On a fresh home, `recover RECOVERYCAP` alone brings back A's identity and the folder, restored in
// place; the new daemon watches it again and snapshots changes under the same root cap.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSwarm, type Swarm } from '../../src/peer/swarm.ts';
import { homePaths } from '../../src/peer/home.ts';
import { tempDir } from '../integration/helpers.ts';
import { makeTree, describeTree } from '../backup/tree.ts';
import { Device, freePort, lastJson, swarmAddrs, waitFor } from './helpers.ts';

let tmp: { dir: string; cleanup: () => Promise<void> };
let swarm: Swarm | undefined;
let a: Device | undefined, c: Device | undefined;

before(async () => {
  tmp = await tempDir('p2pb-folders-recover-');
  swarm = await startSwarm({ dir: join(tmp.dir, 'swarm'), peers: 5 });
});
after(async () => {
  await Promise.allSettled([a?.stop(), c?.stop()]);
  await swarm?.stop();
  await tmp?.cleanup();
});

/** Pino lines of a daemon's log with this message, logged at or after `since` (ms). */
async function logged(home: string, msg: string, since: number): Promise<number> {
  const text = await readFile(homePaths(home).log, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => {
    try {
      const j = JSON.parse(l);
      return j.msg === msg && j.time >= since;
    } catch {
      return false;
    }
  }).length;
}

test('a lost device comes back from its recovery cap: identity, folder content, watching, same root cap', async (t) => {
  const t0 = Date.now();
  const lap = (what: string) => t.diagnostic(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  a = await new Device(join(tmp.dir, 'device-a')).init(swarm!);
  assert.match(a.recoveryCap, /^p2pb:mw:/);
  const { recoveryCap, peerId: deviceAId } = a; // what the owner wrote down at init
  await a.start();
  const dir = join(tmp.dir, 'precious');
  await makeTree(dir, {
    'todo.txt': { type: 'file', content: 'buy milk\n', mode: 0o600 },
    photos: { type: 'dir' },
    'photos/cat.jpg': { type: 'file', content: randomBytes(300_000) },
    'photos/latest': { type: 'symlink', target: 'cat.jpg' },
    empty: { type: 'dir' }
  });
  const addedAt = Date.now();
  const rootCap: string = (await a.json(['watch', 'add', dir])).rootCap;
  const first = await waitFor(
    'the first snapshot',
    async () => {
      const f = (await a!.api('GET', '/api/folders')).folders.find((x: any) => x.path === dir);
      return f?.state === 'in-sync' && f.lastSnapshot ? f : null;
    },
    { timeoutMs: 60_000 }
  );
  // The folder list changed with `watch add`: the recovery record is republished (about 1 s later).
  await waitFor('the recovery record to be published with the folder', () => logged(a!.home, 'recovery record published', addedAt), { timeoutMs: 60_000 });
  const want = await describeTree(dir);
  lap('A in sync, recovery record published');

  // The hardware is lost: daemon gone, home gone, folder gone.
  await a.stop();
  a = undefined;
  await rm(join(tmp.dir, 'device-a'), { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });

  const home = join(tmp.dir, 'device-new');
  c = new Device(home);
  const r = await c.cli(['--json', 'recover', recoveryCap, '--bootstrap', ...swarmAddrs(swarm!), '--listen', `/ip4/127.0.0.1/tcp/${await freePort()}`]);
  assert.equal(r.code, 0, r.stderr);
  const rec = lastJson(r);
  lap('recovered');
  assert.equal(rec.peerId, deviceAId, 'the same identity');
  assert.deepEqual(rec.folders, [{ path: dir, snapshot: first.lastSnapshot.cap, files: 2 }]);
  assert.deepEqual(await describeTree(dir), want, 'the folder is back, entry by entry');
  assert.equal((await readFile(homePaths(home).recovery, 'utf8')).trim(), recoveryCap, 'the new home keeps the recovery cap');

  await c.start();
  const st = await c.json(['status']);
  assert.equal(st.peerId, deviceAId);
  const listed = (await c.folders()).find((x) => x.path === dir);
  assert.ok(listed, 'the folder is registered again');
  assert.equal(listed.watch, true);
  assert.equal(listed.rootCap, rootCap);

  // Watching resumed: a change becomes a new snapshot under the same root cap.
  await waitFor('in-sync after the restart', async () => (await c!.api('GET', '/api/folders')).folders.find((x: any) => x.path === dir)?.state === 'in-sync', {
    timeoutMs: 60_000
  });
  // The recovered device started with an empty local index: it finds A's blobs through the repository's index
  // in the swarm, so backing the same content up stores only the new snapshot object.
  const again = await c.json(['backup', dir]);
  assert.equal(again.stats.blobsNew, 1, `only the snapshot object is new: ${JSON.stringify(again.stats)}`);
  assert.ok(again.stats.bytesStored < 2000, `stored ${again.stats.bytesStored} bytes`);
  const changedAt = Date.now();
  await writeFile(join(dir, 'todo.txt'), 'buy milk\nand bread\n');
  const want2 = await describeTree(dir);
  const latest = await waitFor(
    'a snapshot of the change',
    async () => {
      const f = (await c!.api('GET', '/api/folders')).folders.find((x: any) => x.path === dir);
      return f?.state === 'in-sync' && f.lastSnapshot && f.lastSnapshot.time >= changedAt ? f.lastSnapshot : null;
    },
    { timeoutMs: 60_000, intervalMs: 1_000 }
  );
  const snaps = await c.snapshots(rootCap);
  assert.equal(snaps.at(-1)!.cap, latest.cap);
  assert.equal(snaps[0].cap, first.lastSnapshot.cap, "A's snapshots are still in the head");
  const out = join(tmp.dir, 'restored');
  const rr = await c.json(['restore', rootCap, out]);
  assert.equal(rr.snapshotCap, latest.cap);
  assert.deepEqual(await describeTree(out), want2);
  lap('change snapshotted under the same root cap');
});
