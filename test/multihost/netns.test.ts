// Multi-host: every peer in its own network namespace (ip netns + veth into a bridge in a hub namespace),
// created and removed by this test. Put from one host, cut two holders off the network (their daemons
// keep running, unreachable), get from another host; cut a third and the get must fail (exit 5).
// Needs root and a working `ip netns`; otherwise the test is skipped with the reason printed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NetFixture, skipReason, type Host } from './fixture.ts';

const net = new NetFixture({ prefix: 'p2pb', subnet: '10.77.0', port: 4001 });
const PORT = net.port;
const K = 3; // default encoding 3-of-5, happy 4
const STORAGE = 5;

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const skip = skipReason();
if (skip) console.log(`# skipping multi-host netns test: ${skip}`);
else net.installExitHandlers();

after(async () => {
  await net.cleanup();
  assert.deepEqual(net.leftover(), [], 'no namespace of this run is left behind');
});

test('peers in separate network namespaces: put on one host, cut two holders off, get from another', { skip: skip ?? false, timeout: 240_000 }, async (t) => {
  const log = (m: string) => t.diagnostic(m);
  let t0 = Date.now();

  // Topology: a hub namespace with a bridge; every host a namespace with one veth into the bridge.
  await net.createHub();
  const storage = Array.from({ length: STORAGE }, (_, i) => net.addHost(`s${i + 1}`, 11 + i));
  const hostA = net.addHost('a', 21);
  const hostB = net.addHost('b', 22);
  assert.deepEqual(net.leftover().sort(), net.namespaces.slice().sort());

  // Storage daemons, the first the bootstrap of the others; then client A joined to all of them.
  for (const [i, h] of storage.entries()) await net.startDaemon(h, i === 0 ? [] : storage[0].member!.addresses, '1GiB');
  for (const h of storage)
    assert.ok(
      h.member!.addresses.some((a) => a.includes(`/ip4/${h.addr}/tcp/${PORT}`)),
      `${h.name} listens on ${h.addr}: ${h.member!.addresses}`
    );
  await net.startDaemon(
    hostA,
    storage.flatMap((h) => h.member!.addresses),
    '0'
  );
  const storageIds = storage.map((h) => h.member!.peerId);
  // The network itself: every storage host's libp2p port answers from A's namespace.
  for (const h of storage) assert.ok(await net.tcpReach(hostA, h.addr), `A reaches ${h.name} at ${h.addr}:${PORT} over the bridge`);
  // libp2p: A's bootstrap dials are usually all up within seconds; the upload also finds peers through
  // the DHT, so fewer connected peers only get logged (an occasional bootstrap dial is lost).
  const seenByA = await net.waitPeers(hostA, storageIds, STORAGE);
  assert.ok(seenByA >= 1, 'client A connected to the storage hosts');
  log(`A connected to ${seenByA} of ${STORAGE} storage hosts`);
  if (seenByA < STORAGE) {
    log(`A's daemon log warnings:\n${(await net.logWarnings(hostA)).join('\n')}`);
  }
  log(`topology and ${STORAGE + 1} daemons up in ${Date.now() - t0} ms`);

  // Put a random ~2 MiB file from A.
  const bytes = randomBytes(400_000 + 321); // one chunk: one pack, whose placements are the file's
  const src = join(net.dir, 'file.bin');
  await writeFile(src, bytes);
  t0 = Date.now();
  const put = await net.cli(hostA, ['--json', 'put', src], 120_000);
  assert.equal(put.code, 0, `put failed: ${put.stderr}`);
  const result = JSON.parse(put.stdout.trim().split('\n').at(-1)!) as { cap: string; placements: Record<string, string[]> };
  assert.match(result.cap, /^p2pb:blob:/);
  log(`put in ${put.ms} ms`);

  // Which storage host holds which shares.
  const hostOf = new Map(storage.map((h) => [h.member!.peerId, h]));
  const sharesOf = new Map<Host, Set<number>>();
  for (const [num, ids] of Object.entries(result.placements)) {
    for (const id of ids) {
      const h = hostOf.get(id);
      assert.ok(h, `share ${num} placed on ${id}, which is not a storage host`);
      if (!sharesOf.has(h)) sharesOf.set(h, new Set());
      sharesOf.get(h)!.add(Number(num));
    }
  }
  assert.equal(Object.keys(result.placements).length, 5, 'five shares placed');
  assert.ok(sharesOf.size >= 4, `happiness: shares on at least 4 distinct hosts (got ${sharesOf.size})`);
  const sharesLeft = (cut: Set<Host>) => new Set(storage.filter((h) => !cut.has(h)).flatMap((h) => [...(sharesOf.get(h) ?? [])])).size;

  // Cut two holders off (fewest shares first): their daemons keep running but are unreachable.
  const holders = [...sharesOf.keys()].sort((a, b) => sharesOf.get(a)!.size - sharesOf.get(b)!.size);
  const cut = new Set<Host>();
  const cutOff = (h: Host) => {
    net.cut(h);
    cut.add(h);
    log(`cut ${h.name} (${h.addr}, shares ${[...(sharesOf.get(h) ?? [])].join(',')}) off; ${sharesLeft(cut)} distinct shares reachable`);
  };
  cutOff(holders[0]);
  cutOff(holders[1]);
  assert.ok(sharesLeft(cut) >= K, 'enough shares remain on reachable hosts');
  for (const h of cut) assert.equal(h.child!.exitCode, null, `${h.name}'s daemon is still running, only cut off`);

  // Client B, a fresh home started only now, joined to the surviving storage hosts.
  const survivors = storage.filter((h) => !cut.has(h));
  t0 = Date.now();
  await net.startDaemon(
    hostB,
    survivors.flatMap((h) => h.member!.addresses),
    '0'
  );
  for (const h of cut) assert.equal(await net.tcpReach(hostB, h.addr), false, `${h.name} is unreachable from B`);
  const seenByB = await net.waitPeers(
    hostB,
    survivors.map((h) => h.member!.peerId),
    survivors.length
  );
  assert.ok(seenByB >= 1, 'client B connected to the surviving storage hosts');
  log(`B connected to ${seenByB} of ${survivors.length} surviving storage hosts`);
  const out = join(net.dir, 'out.bin');
  const get = await net.cli(hostB, ['get', result.cap, '-o', out], 90_000);
  assert.equal(get.code, 0, `get from B failed: ${get.stderr}`);
  assert.equal(sha(await readFile(out)), sha(bytes), 'B got the same bytes');
  log(`B up and get in ${Date.now() - t0} ms (get ${get.ms} ms)`);

  // Cut holders until fewer than k shares are reachable: the get must fail with exit 5.
  for (const h of holders.slice(2)) {
    if (sharesLeft(cut) < K) break;
    cutOff(h);
  }
  assert.ok(sharesLeft(cut) < K);
  const out2 = join(net.dir, 'out2.bin');
  const fail = await net.cli(hostB, ['get', result.cap, '-o', out2], 90_000);
  assert.equal(fail.code, 5, `get with too few shares should exit 5 (got ${fail.code}): ${fail.stderr}`);
  assert.match(fail.stderr, /need 3|shares/i);
  log(`failing get took ${fail.ms} ms`);

  await net.cleanup();
  assert.deepEqual(net.leftover(), [], 'no namespace of this test left behind');
});
