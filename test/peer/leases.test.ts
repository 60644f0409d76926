// Lease renewal by the health loop: the leases of everything a kept snapshot needs, and of every pack the
// repository index names, are renewed. After `forget` alone the objects only the forgotten snapshot needed are
// still renewed: the index still names their blobs, and a backup stores a blob the index knows as a reference
// to its pack. A prune takes them out of the index and deletes them. A pack lost all the same (its shares gone
// from every holder, as after a lapsed lease) is no longer deduplicated against, whether the loop's renewal finds
// it or the next backup of a device back after weeks away, and the file it held is stored again. A client peer in-process, five
// storage peers on loopback whose stores this test reads and changes directly.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../integration/helpers.ts';
import { makePeer, removeHome, type TestPeer } from '../net/helpers.ts';
import { homePaths } from '../../src/peer/home.ts';
import { initHome } from '../../src/peer/init.ts';
import { DEFAULT_HEALTH, readConfig } from '../../src/peer/config.ts';
import { createPeer, type Peer } from '../../src/peer/peer.ts';
import { formatCap, packKey, parseCap, storageIndexOf, type PackCap } from '../../src/caps/index.ts';
import { reachableBlobs } from '../../src/backup/index.ts';

const DAY_MS = 24 * 3_600_000;
const LEASE_DAYS = 60; // renewals ask for this; uploads get the store's default (31 days): the two tell apart

const tmp = await tempDir('p2pb-leases-');
const storage: TestPeer[] = [];
let client: Peer | undefined;
after(async () => {
  await client?.stop();
  for (const p of storage) {
    await p.stop().catch(() => {});
    await removeHome(p);
  }
  await tmp.cleanup();
});

/** Lease expiry of every share of `cap` on the storage peers. */
async function leases(cap: string): Promise<number[]> {
  const si = Buffer.from(storageIndexOf(parseCap(cap))!).toString('hex');
  const out: number[] = [];
  for (const p of storage) for await (const rec of p.store.records()) if (rec.siHex === si) out.push(rec.leaseExpiry);
  return out;
}

/** Every share of `cap` deleted from the storage peers (as their gc does once its lease ran out). */
async function loseShares(cap: string): Promise<void> {
  const si = storageIndexOf(parseCap(cap))!;
  const siHex = Buffer.from(si).toString('hex');
  for (const p of storage) for await (const rec of p.store.records()) if (rec.siHex === siHex) await p.store.delete(si, rec.shareNum, rec.owner);
  assert.deepEqual(await leases(cap), []);
}

test('the health loop renews what kept snapshots need and every pack the index names, until a prune', { timeout: 180_000 }, async () => {
  storage.push(await makePeer());
  const boot = `${storage[0].node.multiaddrs()[0]}`;
  for (let i = 1; i < 5; i++) storage.push(await makePeer({ bootstrap: [boot] }));
  const home = join(tmp.dir, 'client');
  await initHome(home, { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, offer: '0', bootstrap: storage.map((p) => `${p.node.multiaddrs()[0]}`) });
  const config = await readConfig(homePaths(home).config);
  // No round on a timer and none nudged by a new snapshot (this test runs them: a nudged round walking the trees
  // while the walks below are counted would count its own reads in), a renewal in every round, audits off.
  config.health = { ...DEFAULT_HEALTH, enabled: false, renewEveryMs: 100, leaseDays: LEASE_DAYS, auditsPerRound: 0 };
  client = await createPeer({ home, config });
  const deadline = Date.now() + 30_000;
  while (client.node.libp2p.getPeers().length < storage.length) {
    assert.ok(Date.now() < deadline, 'the client connects to the five storage peers');
    await new Promise((r) => setTimeout(r, 200));
  }
  await client.startServices();
  const folders = client.folders!;
  const health = client.health!;
  // Rounds, one after another, until one renews leases after `t` (renewals are at most one per
  // renewEveryMs, so a round right after another may skip them).
  const renewalAfter = async (t: number) => {
    for (let i = 0; i < 50; i++) {
      await health.runRound();
      if ((health.state().lastRenewal?.at ?? 0) >= t) return;
      await new Promise((r) => setTimeout(r, config.health.renewEveryMs));
    }
    assert.fail('no round renewed leases');
  };

  // `gone` only in the first snapshot, `keep` only in the second: each backup writes a data pack of its own.
  const src = join(tmp.dir, 'folder');
  await mkdir(src);
  await writeFile(join(src, 'gone.bin'), randomBytes(400_000));
  const first = await folders.backupNow(src);
  await rm(join(src, 'gone.bin'));
  await writeFile(join(src, 'keep.bin'), randomBytes(400_000));
  const second = await folders.backupNow(src);
  const packOf = async (snapshot: string, name: string) => {
    const e = (await folders.ls(snapshot)).find((x: any) => x.name === name)!;
    const { packs } = await folders.packsOf(e.cap!);
    assert.equal(packs.length, 1, `${name} (one chunk) is in one pack`);
    return packs[0];
  };
  /** `snapshot` restores, and `name` has the bytes it has in the folder. */
  const restoresLike = async (snapshot: string, name: string) => {
    const to = join(tmp.dir, `restored-${name}-${Date.now()}`);
    const r = await folders.restore(snapshot, to); // the whole snapshot: no file of it may name a lost pack
    assert.deepEqual(r.stats.failed, []);
    assert.deepEqual(await readFile(join(to, name)), await readFile(join(src, name)), `${name} restored`);
  };
  const keep = await packOf(second.lastSnapshot!.cap, 'keep.bin');
  const gone = await packOf(first.lastSnapshot!.cap, 'gone.bin');
  assert.match(keep, /^p2pb:pack:/);
  assert.notEqual(keep, gone);
  const uploaded = Date.now();
  for (const cap of [keep, gone]) {
    const l = await leases(cap);
    assert.equal(l.length, 5, 'five shares on the storage peers');
    assert.ok(
      l.every((t) => t < uploaded + 32 * DAY_MS),
      'uploaded with the default lease'
    );
  }

  // A round while both snapshots are kept: both files' leases are renewed to LEASE_DAYS.
  const r1 = Date.now();
  await renewalAfter(r1);
  for (const cap of [keep, gone])
    assert.ok(
      (await leases(cap)).every((t) => t >= r1 + LEASE_DAYS * DAY_MS),
      'renewed while a kept snapshot needs it'
    );

  // Forget the first snapshot: `gone` is needed by nothing kept any more, but the index still names it. Were
  // its lease let run out, the same bytes backed up again would be stored as a reference to a collected pack.
  const f = await folders.forget(src, { keepLast: 1 });
  assert.equal(f.remove.length, 1);
  await renewalAfter(Date.now()); // a renewal by a round that started after the forget
  const goneBefore = await leases(gone);
  const keepBefore = await leases(keep);
  const r2 = Date.now();
  await renewalAfter(r2);
  assert.ok(
    (await leases(keep)).every((t, i) => t > keepBefore[i] && t >= r2 + LEASE_DAYS * DAY_MS),
    'the kept file is renewed again'
  );
  assert.ok(
    (await leases(gone)).every((t, i) => t > goneBefore[i] && t >= r2 + LEASE_DAYS * DAY_MS),
    'the forgotten file is renewed while the index names it'
  );

  // A prune that moves a kept file into a new pack: the loop renews the new pack, not the one it left.
  await writeFile(join(src, 'small.bin'), randomBytes(50_000));
  // Same backup, same pack as small.bin: together under the first pack's 512 KiB (PACK_FIRST_BYTES).
  await writeFile(join(src, 'bulk.bin'), randomBytes(400_000));
  await folders.backupNow(src);
  await rm(join(src, 'bulk.bin'));
  const last = await folders.backupNow(src);
  const mixed = await packOf(last.lastSnapshot!.cap, 'small.bin');
  await renewalAfter(Date.now()); // the loop has walked the kept snapshot: small.bin in `mixed`
  const p = await folders.forget(src, { keepLast: 1 }, { prune: true });
  assert.ok('prune' in p && p.prune.packsRepacked >= 1, JSON.stringify(p));
  const moved = await packOf(last.lastSnapshot!.cap, 'small.bin');
  assert.notEqual(moved, mixed, 'small.bin was copied into a new pack');
  const r3 = Date.now();
  await renewalAfter(r3);
  assert.ok(
    (await leases(moved)).every((t) => t >= r3 + LEASE_DAYS * DAY_MS),
    'the new pack of a kept file is renewed'
  );
  assert.deepEqual(await leases(mixed), [], 'the pack it left is deleted from its holders');
  assert.deepEqual(await leases(gone), [], 'the forgotten file is deleted by the prune');

  // A backup of the unchanged folder: same root tree, so its packs come without walking the trees again.
  const same = await folders.backupNow(src);
  assert.notEqual(same.lastSnapshot!.cap, last.lastSnapshot!.cap);
  const before = (await folders.packsOf(last.lastSnapshot!.cap)).packs;
  let treeLoads = 0;
  const load = folders.repo.loadBlob.bind(folders.repo);
  folders.repo.loadBlob = ((kind: string, ...rest: unknown[]) => {
    if (kind === 'tree') treeLoads++;
    return (load as (...a: unknown[]) => unknown)(kind, ...rest);
  }) as typeof folders.repo.loadBlob;
  const now = (await folders.packsOf(same.lastSnapshot!.cap)).packs;
  folders.repo.loadBlob = load;
  assert.equal(treeLoads, 0, 'no tree read again');
  assert.ok(now.includes(moved) && now.includes(keep), 'the packs of its files');
  // Its trees are in the pack of the snapshot before (same root): every pack of that one, and its own.
  assert.ok(
    before.every((p) => now.includes(p)),
    'every pack of the snapshot before'
  );
  assert.ok(now.length <= before.length + 1, `${now.length} packs against ${before.length}`);

  // A change deep in the folder: only the tree parts on its path are read (the rest come from the parts of the
  // snapshot before), and the packs are exactly those of a whole walk.
  await mkdir(join(src, 'a'));
  await mkdir(join(src, 'b', 'deep'), { recursive: true });
  await writeFile(join(src, 'a', 'x.bin'), randomBytes(30_000));
  await writeFile(join(src, 'b', 'y.bin'), randomBytes(30_000));
  await writeFile(join(src, 'b', 'deep', 'z.bin'), randomBytes(30_000));
  const grown = await folders.backupNow(src);
  await folders.packsOf(grown.lastSnapshot!.cap);
  await writeFile(join(src, 'b', 'deep', 'z.bin'), randomBytes(30_000));
  const changed = await folders.backupNow(src);
  const treeIds: string[] = [];
  folders.repo.loadBlob = ((kind: string, ...rest: unknown[]) => {
    if (kind === 'tree') treeIds.push(Buffer.from((rest[0] as { id: Uint8Array }).id).toString('hex'));
    return (load as (...a: unknown[]) => unknown)(kind, ...rest);
  }) as typeof folders.repo.loadBlob;
  const deep = (await folders.packsOf(changed.lastSnapshot!.cap)).packs;
  folders.repo.loadBlob = load;
  assert.equal(treeIds.length, 3, 'the root, b and b/deep: a and the rest are not read again');
  const whole = await reachableBlobs(folders.src, [changed.lastSnapshot!.cap]);
  const expected = new Set((await folders.repo.locateMany([...whole.ids])).map((l) => formatCap(l.pack)));
  assert.deepEqual(new Set(deep), expected);

  // Every pack renewed so far; then `moved` is lost (its shares gone from every holder, as after a lapsed lease):
  // the index still names it, and the next renewal says that no holder renewed it.
  await renewalAfter(Date.now());
  assert.equal(health.state().lastRenewal!.unrenewed, 0, 'every pack renewed');
  await loseShares(moved);
  await renewalAfter(Date.now());
  assert.equal(health.state().lastRenewal!.unrenewed, 1, 'the lost pack, and only it');
  // ... and is distrusted: the next backup stores small.bin again instead of naming a pack nobody holds.
  const again = await folders.backupNow(src);
  assert.notEqual(await packOf(again.lastSnapshot!.cap, 'small.bin'), moved, 'small.bin stored again');
  await restoresLike(again.lastSnapshot!.cap, 'small.bin');

  // A device back after weeks away (no round ran): its leases ran out meanwhile and the holders collected keep.bin's
  // pack. Its next backup renews first, finds the pack lost and stores keep.bin again.
  const kept = await packOf(again.lastSnapshot!.cap, 'keep.bin');
  await loseShares(kept);
  await folders.repo.index.setLeasesUntil(Date.now() - DAY_MS);
  const back = await folders.backupNow(src);
  assert.ok((await folders.repo.index.leasesUntil()) > Date.now() + 7 * DAY_MS, 'the leases are known to run again');
  const fresh = await packOf(back.lastSnapshot!.cap, 'keep.bin');
  assert.notEqual(fresh, kept, 'keep.bin stored again');
  await restoresLike(back.lastSnapshot!.cap, 'keep.bin');
  // With the leases known to run, a backup renews nothing first (a renewal would move every lease).
  const known = await leases(fresh);
  await folders.backupNow(src);
  assert.deepEqual(await leases(fresh), known, 'no renewal before this backup');

  // A pack distrusted wrongly (say its holders were out of reach) is trusted again by a renewal that finds it held.
  const freshKey = packKey(parseCap(fresh) as PackCap);
  let id = '';
  for await (const e of folders.repo.index.entries()) if (packKey(e.pack) === freshKey) id = Buffer.from(e.id).toString('hex');
  assert.ok(id, 'a blob of the pack');
  await folders.repo.index.distrust([freshKey]);
  assert.equal((await folders.repo.index.heldMany([id]))[0], undefined, 'not deduplicated against');
  await renewalAfter(Date.now());
  assert.ok((await folders.repo.index.heldMany([id]))[0], 'trusted again');
});
