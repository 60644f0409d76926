// A storage peer under attack by the adversarial peer (its own process, test/adversary/) over real libp2p:
// slow-loris uploads, a trickled request, idle streams, oversized requests (issue 17 items 5 and 12). The victim
// runs in this process with the real server and store, its time limits shortened so the test takes seconds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskStore, INCOMING_DIR } from '../../src/store/index.ts';
import { createNode, loadOrCreatePeerKey, type P2PNode } from '../../src/net/index.ts';
import { spawnAdversary, type Adversary } from '../adversary/index.ts';

let dir: string;
let store: DiskStore;
let victim: P2PNode;
let adv: Adversary;
let to: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'p2pb-limits-'));
  store = await DiskStore.open(join(dir, 'victim'), { offer: '64MiB', limits: { openWrites: 3 } });
  victim = await createNode({
    privateKey: await loadOrCreatePeerKey(join(dir, 'victim', 'peer.key')),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: false,
    store,
    server: { limits: { requestDeadlineMs: 1_500, writeGraceMs: 1_000, writeMinRate: 1024, maxStreamsPerPeer: 6 } }
  });
  to = victim.multiaddrs()[0].toString(); // carries /p2p/<id>
  adv = await spawnAdversary({ home: join(dir, 'adversary'), bootstrap: [to] });
});
after(async () => {
  await adv?.stop();
  await victim?.stop();
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

test('slow-loris uploads: at most the per-peer number of writes, each cut off below the rate floor, reservations freed (item 5)', async () => {
  // Five WRITEs of 8 MiB each, then one byte every 300 ms (far below 1 KiB/s).
  const results: { accepted: boolean; refusal?: string; code?: string; afterMs: number }[] = await adv.attack({
    kind: 'slow-loris',
    target: to,
    writes: 5,
    size: 8 << 20,
    byteEveryMs: 300,
    maxMs: 12_000
  });
  const accepted = results.filter((r) => r.accepted);
  assert.equal(accepted.length, 3, JSON.stringify(results));
  assert.deepEqual(
    results.filter((r) => !r.accepted).map((r) => r.refusal),
    ['busy', 'busy']
  );
  for (const r of accepted) assert.equal(r.code, 'ERR_TOO_SLOW', JSON.stringify(results));
  assert.equal(store.stats().reserved, 0);
  assert.deepEqual(await readdir(join(dir, 'victim', INCOMING_DIR)), []);
});

test("a request trickled a byte at a time is refused at its deadline, not served at the idle timer's pace (item 5)", async () => {
  const r = await adv.attack({ kind: 'trickle-request', target: to, byteEveryMs: 250, maxMs: 10_000 });
  assert.equal(r.answered, 'ERR_TOO_SLOW', JSON.stringify(r));
});

test('streams one peer holds open are limited; a request frame is bounded before any body is buffered (item 12)', async () => {
  const codes: string[] = await adv.attack({ kind: 'idle-streams', target: to, count: 8, maxMs: 10_000 });
  assert.equal(codes.filter((c) => c === 'ERR_PEER_BUSY').length, 2, codes.join());
  assert.equal(codes.filter((c) => c === 'ERR_TOO_SLOW').length, 6, codes.join());
  // A 1 MiB frame is within the protocol's frame limit, but no request needs more than a header and a slot record.
  assert.equal(await adv.attack({ kind: 'big-request', target: to, bytes: 1 << 20 }), 'ERR_FRAME_TOO_LARGE');
  // Megabytes sent after a request are dropped, not buffered while the answer goes out: the answer still comes.
  const flood = await adv.attack({ kind: 'flood-after-request', target: to, bytes: 16 << 20 });
  assert.equal(flood.answer, 'ok', JSON.stringify(flood));
  // The victim still serves.
  const codesAfter: string[] = await adv.attack({ kind: 'idle-streams', target: to, count: 1, maxMs: 10_000 });
  assert.deepEqual(codesAfter, ['ERR_TOO_SLOW']);
});
