// IPv6 (issue 18): peers listen on /ip6/::/tcp/7171 as well by default and announce it. Here every host sits
// on an IPv6-only segment (fd91::/64 on the hub's bridge, no IPv4 address but loopback), each daemon with
// the default listen addresses: three storage hosts, a client that backs up a folder, and a fresh host that
// restores it byte for byte; the storage hosts are dialled back at their IPv6 address (status says ipv6).
// Needs root and `ip netns`; skipped with the reason printed otherwise.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_CONFIG } from '../../src/peer/config.ts';
import { NetFixture, skipReason, type CliResult, type Host } from './fixture.ts';

const V6 = 'fd91::';
const PORT = 7171; // the default (DEFAULT_CONFIG.listen)
const net = new NetFixture({ prefix: 'p2pv6', subnet: '10.93.0', port: PORT });
const skip = skipReason('p2pv6');
if (skip) console.log(`# skipping IPv6 test: ${skip}`);
else net.installExitHandlers();

after(async () => {
  await net.cleanup();
  assert.deepEqual(net.leftover(), [], 'no namespace of this run is left behind');
});

const json = (r: CliResult) => JSON.parse(r.stdout.trim().split('\n').at(-1)!);

async function hashTree(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const visit = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await visit(p);
      else if (e.isFile())
        out.set(
          relative(root, p),
          createHash('sha256')
            .update(await readFile(p))
            .digest('hex')
        );
    }
  };
  await visit(root);
  return out;
}

test('IPv6 only: default listen addresses, dial-back over IPv6, backup and restore on a fresh host', { skip: skip ?? false, timeout: 240_000 }, async (t) => {
  const log = (m: string) => t.diagnostic(m);
  const t0 = Date.now();
  await net.createHub();
  const storage = [11, 12, 13].map((o, i) => net.addHost(`s${i + 1}`, o, { v6: V6 }));
  const client = net.addHost('c', 21, { v6: V6 });
  const fresh = net.addHost('f', 22, { v6: V6 });
  assert.equal(await net.tcpReach(client, '10.93.0.11'), false, 'no IPv4 route at all');

  // The defaults: 0.0.0.0 and :: on 7171. Clients code 2-of-3 on three distinct hosts.
  assert.deepEqual(DEFAULT_CONFIG.listen, ['/ip4/0.0.0.0/tcp/7171', '/ip6/::/tcp/7171']);
  const encoding = { encoding: { k: 2, n: 3, happy: 3 } };
  await net.startDaemon(storage[0], [], '1GiB', { listen: DEFAULT_CONFIG.listen });
  const boot = [`/ip6/${storage[0].addr}/tcp/${PORT}/p2p/${storage[0].member!.peerId}`];
  await Promise.all([
    ...storage.slice(1).map((h) => net.startDaemon(h, boot, '1GiB', { listen: DEFAULT_CONFIG.listen })),
    net.startDaemon(client, boot, '0', { listen: DEFAULT_CONFIG.listen, config: encoding })
  ]);
  for (const h of storage)
    assert.ok(
      h.member!.addresses.includes(`/ip6/${h.addr}/tcp/${PORT}/p2p/${h.member!.peerId}`),
      `${h.name} announces its IPv6 address: ${h.member!.addresses}`
    );
  log(`daemons up in ${Date.now() - t0} ms`);

  // Each storage host is dialled back at its IPv6 address.
  for (const h of storage) {
    let reach: any = null;
    for (let i = 0; i < 60 && !reach?.ways?.includes('ipv6'); i++) {
      reach = json(await net.cli(h, ['--json', 'status'])).reachability;
      if (!reach?.ways?.includes('ipv6')) await sleep(1_000);
    }
    assert.deepEqual(reach.ways, ['ipv6'], `${h.name}: ${reach.summary}`);
    assert.deepEqual(
      reach.confirmed.map((c: any) => [c.address, c.kind]),
      [[`/ip6/${h.addr}/tcp/${PORT}`, 'ipv6']]
    );
  }
  assert.ok(
    (await net.waitPeers(
      client,
      storage.map((h) => h.member!.peerId),
      3
    )) === 3,
    'the client sees the three storage hosts'
  );

  // A folder: 40 files, 1 KiB to 512 KiB, in two levels.
  const src = join(net.dir, 'tree');
  for (let i = 0; i < 40; i++) {
    const dir = join(src, `d${i % 4}`, i % 3 ? 'x' : '');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `f${i}.bin`), randomBytes(1024 * (1 + ((i * 37) % 512))));
  }
  const backup = await net.cli(client, ['--json', 'backup', src], 180_000);
  assert.equal(backup.code, 0, backup.stderr);
  const summary = backup.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .find((l) => l.type === 'summary');
  assert.ok(summary?.rootCap, backup.stdout.slice(-500));
  log(`backup in ${backup.ms} ms`);

  await net.startDaemon(fresh, boot, '0', { listen: DEFAULT_CONFIG.listen, config: encoding });
  const target = join(net.dir, 'restored');
  const restore = await net.cli(fresh, ['--json', 'restore', summary.rootCap, target], 180_000);
  assert.equal(restore.code, 0, restore.stderr);
  const [want, got] = [await hashTree(src), await hashTree(target)];
  assert.equal(got.size, 40);
  assert.deepEqual(
    [...want].filter(([p, h]) => got.get(p) !== h),
    [],
    'every file byte for byte'
  );
  log(`restore in ${restore.ms} ms; whole test ${Date.now() - t0} ms`);
  await net.cleanup();
});
