// The store a peer keeps is chosen by config.json (`store: { kind }`, validated like every key): a peer
// with a memory store serves shares over the real protocol like a disk one, and writes none of them to disk.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPeer, type Peer } from '../../src/peer/peer.ts';
import { DEFAULT_CONFIG, validateConfig, type PeerConfig } from '../../src/peer/config.ts';
import { ConfigError } from '../../src/peer/errors.ts';
import { homePaths } from '../../src/peer/home.ts';
import { DiskStore, MemoryStore } from '../../src/store/index.ts';

const dir = await mkdtemp(join(tmpdir(), 'p2pb-peer-store-'));
const peers: Peer[] = [];
after(async () => {
  for (const p of peers) await p.stop().catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

test('config "store": disk by default; "memory" accepted; anything else refused, naming the key', () => {
  assert.deepEqual(validateConfig({}).store, { kind: 'disk' });
  assert.deepEqual(validateConfig({ store: { kind: 'memory' } }).store, { kind: 'memory' });
  assert.deepEqual(validateConfig({ store: {} }).store, { kind: 'disk' });
  const refused = (raw: unknown, key: RegExp) =>
    assert.throws(
      () => validateConfig(raw),
      (e: unknown) => e instanceof ConfigError && key.test(e.message)
    );
  refused({ store: { kind: 'tape' } }, /"store\.kind" must be one of "disk", "memory"/);
  refused({ store: { kind: 'memory', path: '/x' } }, /unknown key "store\.path"/);
  refused({ store: 'memory' }, /"store" must be an object/);
  refused({ store: null }, /"store" must be an object/);
});

async function start(name: string, config: Partial<PeerConfig>, bootstrap: Peer[] = []): Promise<Peer> {
  const p = await createPeer({
    home: join(dir, name),

    config: {
      ...DEFAULT_CONFIG,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      mdns: false,
      bootstrap: bootstrap.map((b) => `${b.addresses()[0]}/p2p/${b.peerId}`),
      ...config
    }
  });
  peers.push(p);
  return p;
}

test('a peer with a memory store holds shares over the network, and nothing of them on disk', async () => {
  const mem = await start('mem', { store: { kind: 'memory' }, offer: 16 * 2 ** 20 });
  const disk = await start('disk', { offer: 16 * 2 ** 20 }, [mem]);
  const client = await start('client', { offer: 0, encoding: { k: 1, n: 2, happy: 2 } }, [mem, disk]);
  assert.ok(mem.store instanceof MemoryStore);
  assert.ok(disk.store instanceof DiskStore);
  for (let i = 0; i < 150 && client.node.libp2p.getPeers().length < 2; i++) await sleep(100);
  assert.equal(client.node.libp2p.getPeers().length, 2, 'the client sees both storage peers');

  const bytes = randomBytes(300_000);
  const put = await client.putFile(
    {
      stream: (async function* () {
        yield bytes;
      })()
    },
    {}
  );
  assert.deepEqual(Object.values(put.placements).flat().sort(), [disk.peerId, mem.peerId].sort(), 'one share on each storage peer');
  // The file's pack, plus the pack of the index part that makes it findable from other devices.
  assert.equal((await mem.store.list(Uint8Array.from(Buffer.from(put.storageIndex!, 'hex')))).length, 1);
  assert.equal(mem.store.stats().shares, 2);
  // Both shares charged to the client (the store's total also holds the repository record's slot).
  assert.ok(mem.store.ownerUsage(client.peerId).used > bytes.length, 'charged to the client');
  assert.ok(mem.store.ownerUsage(client.peerId).used <= mem.store.stats().used);
  await assert.rejects(access(homePaths(join(dir, 'mem')).store), 'a memory store makes no store folder');
  await access(homePaths(join(dir, 'disk')).store);

  await disk.stop();
  peers.splice(peers.indexOf(disk), 1);
  const got = await client.getFile(put.cap, {});
  const chunks: Buffer[] = [];
  for await (const c of got.stream) chunks.push(c);
  assert.deepEqual(Buffer.concat(chunks), bytes, 'read back from the memory store alone');
});
