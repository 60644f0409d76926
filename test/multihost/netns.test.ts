// Multi-host: every peer in its own network namespace (ip netns + veth into a bridge in a hub namespace),
// created and removed by this test. Put from one host, cut two holders off the network (their daemons
// keep running, unreachable), get from another host; cut a third and the get must fail (exit 5).
// Needs root and a working `ip netns`; otherwise the test is skipped with the reason printed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { initHome } from '../../src/peer/init.ts';
import { spawnDaemon, type SwarmMember } from '../../src/peer/swarm.ts';
import { BIN } from '../integration/helpers.ts';

const TAG = `p2pb-${randomBytes(3).toString('hex')}`;
const HUB = `${TAG}-hub`;
const SUBNET = '10.77.0';
const PORT = 4001;
const K = 3; // default encoding 3-of-5, happy 4
const STORAGE = 5;

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Run a command synchronously; throws with its stderr when it fails. */
function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 15_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal ?? r.error?.message}): ${(r.stderr ?? '').trim()}`);
  return r.stdout;
}
const ip = (...args: string[]) => sh('ip', args);
const listNetns = (): string[] => {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n').map((l) => l.split(' ')[0]).filter(Boolean);
};

/** Why this test cannot run here, or null when it can: root, and ip netns + bridge + veth work. */
function whySkip(): string | null {
  if (process.platform !== 'linux') return 'multi-host netns test needs Linux';
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'multi-host netns test needs root (ip netns)';
  const probe = `${TAG}-probe`;
  try {
    ip('netns', 'add', probe);
    try {
      ip('-n', probe, 'link', 'add', 'br0', 'type', 'bridge');
      ip('-n', probe, 'link', 'add', 'a0', 'type', 'veth', 'peer', 'name', 'b0');
      ip('-n', probe, 'link', 'set', 'lo', 'up');
      sh('ip', ['netns', 'exec', probe, process.execPath, '-e', '0']);
    } finally {
      ip('netns', 'del', probe);
    }
  } catch (err) {
    return `ip netns unavailable or failing: ${(err as Error).message.split('\n')[0]}`;
  }
  return null;
}

interface Host {
  name: string;
  ns: string;
  /** The host's veth end inside the hub (set it down to cut the host off). */
  hubIf: string;
  addr: string;
  home: string;
  child?: ChildProcess;
  member?: SwarmMember;
}

const namespaces: string[] = [];
const children: ChildProcess[] = [];
let tmp: string | undefined;

function makeHost(name: string, octet: number, dir: string): Host {
  const host: Host = { name, ns: `${TAG}-${name}`, hubIf: `v-${name}`, addr: `${SUBNET}.${octet}`, home: join(dir, name) };
  ip('netns', 'add', host.ns);
  namespaces.push(host.ns);
  ip('-n', host.ns, 'link', 'set', 'lo', 'up');
  // Created directly inside the host namespace, its peer end moved into the hub: nothing in the root namespace.
  ip('-n', host.ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', host.hubIf, 'netns', HUB);
  ip('-n', host.ns, 'addr', 'add', `${host.addr}/24`, 'dev', 'eth0');
  ip('-n', host.ns, 'link', 'set', 'eth0', 'up');
  ip('-n', HUB, 'link', 'set', host.hubIf, 'master', 'br0', 'up');
  return host;
}

async function startDaemon(host: Host, bootstrap: string[], offer: string): Promise<SwarmMember> {
  await initHome(host.home, { listen: [`/ip4/${host.addr}/tcp/${PORT}`], mdns: false, offer });
  const { child, member } = await spawnDaemon(host.home, bootstrap.length ? ['--bootstrap', ...bootstrap] : [], {}, ['ip', 'netns', 'exec', host.ns]);
  children.push(child);
  host.child = child;
  host.member = member;
  return member;
}

/** Run the CLI inside a host's namespace (the daemon's API listens on that namespace's loopback). */
function cliIn(host: Host, args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', host.ns, process.execPath, BIN, '--home', host.home, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => { stderr += `\n[test] killed after ${timeoutMs} ms`; child.kill('SIGKILL'); }, timeoutMs);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? 1, stdout, stderr, ms: Date.now() - t0 }); });
  });
}

/** Can `host` open a TCP connection to addr:port (through the bridge)? Decided within timeoutMs. */
function tcpReach(host: Host, addr: string, port = PORT, timeoutMs = 3_000): Promise<boolean> {
  const code = `const s=require('net').connect(${port},'${addr}');s.setTimeout(${timeoutMs},()=>process.exit(2));s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1))`;
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', host.ns, process.execPath, '-e', code], { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 5_000);
    child.on('close', (c) => { clearTimeout(timer); resolve(c === 0); });
  });
}

/** Poll `peers` on a host until it sees at least `min` of the wanted peer ids, or the time is up; returns how many it saw. */
async function waitPeers(host: Host, wanted: string[], min: number, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let seen = 0;
  while (Date.now() < deadline) {
    const r = await cliIn(host, ['--json', 'peers'], 15_000);
    if (r.code === 0) {
      const ids = new Set((JSON.parse(r.stdout).peers as { id: string }[]).map((p) => p.id));
      seen = wanted.filter((id) => ids.has(id)).length;
      if (seen >= min) return seen;
    }
    await sleep(500);
  }
  return seen;
}

async function stopAll(): Promise<void> {
  const alive = children.filter((c) => c.exitCode === null && c.signalCode === null);
  const exited = alive.map((c) => new Promise<void>((resolve) => c.once('exit', () => resolve())));
  for (const c of alive) c.kill('SIGTERM');
  const timer = setTimeout(() => alive.forEach((c) => c.kill('SIGKILL')), 5_000);
  await Promise.race([Promise.all(exited), sleep(10_000)]);
  clearTimeout(timer);
  children.length = 0;
}

/** Synchronous last resort (signals, early exit): kill what is left, remove namespaces and files. */
function cleanupSync(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) { try { c.kill('SIGKILL'); } catch {} }
  children.length = 0;
  for (const ns of namespaces.splice(0)) spawnSync('ip', ['netns', 'del', ns]);
  if (tmp) { rmSync(tmp, { recursive: true, force: true }); tmp = undefined; }
}

const skip = whySkip();
if (skip) console.log(`# skipping multi-host netns test: ${skip}`);
else {
  process.once('exit', cleanupSync);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { cleanupSync(); process.exit(130); });
}

after(async () => {
  await stopAll();
  for (const ns of namespaces.splice(0).reverse()) spawnSync('ip', ['netns', 'del', ns]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
  tmp = undefined;
  const left = listNetns().filter((n) => n.startsWith(TAG));
  assert.deepEqual(left, [], 'no namespace of this run is left behind');
});

test('peers in separate network namespaces: put on one host, cut two holders off, get from another', { skip: skip ?? false, timeout: 240_000 }, async (t) => {
  tmp = await mkdtemp(join(tmpdir(), 'p2pb-netns-'));
  const log = (m: string) => t.diagnostic(m);
  let t0 = Date.now();

  // Topology: a hub namespace with a bridge; every host a namespace with one veth into the bridge.
  ip('netns', 'add', HUB);
  namespaces.push(HUB);
  ip('-n', HUB, 'link', 'set', 'lo', 'up');
  ip('-n', HUB, 'link', 'add', 'br0', 'type', 'bridge');
  ip('-n', HUB, 'link', 'set', 'br0', 'up');
  const storage = Array.from({ length: STORAGE }, (_, i) => makeHost(`s${i + 1}`, 11 + i, tmp!));
  const hostA = makeHost('a', 21, tmp);
  const hostB = makeHost('b', 22, tmp);
  assert.deepEqual(listNetns().filter((n) => n.startsWith(TAG)).sort(), namespaces.slice().sort());

  // Storage daemons, the first the bootstrap of the others; then client A joined to all of them.
  for (const [i, h] of storage.entries()) await startDaemon(h, i === 0 ? [] : storage[0].member!.addresses, '1GiB');
  for (const h of storage) assert.ok(h.member!.addresses.some((a) => a.includes(`/ip4/${h.addr}/tcp/${PORT}`)), `${h.name} listens on ${h.addr}: ${h.member!.addresses}`);
  await startDaemon(hostA, storage.flatMap((h) => h.member!.addresses), '0');
  const storageIds = storage.map((h) => h.member!.peerId);
  // The network itself: every storage host's libp2p port answers from A's namespace.
  for (const h of storage) assert.ok(await tcpReach(hostA, h.addr), `A reaches ${h.name} at ${h.addr}:${PORT} over the bridge`);
  // libp2p: A's bootstrap dials are usually all up within seconds; the upload also finds peers through
  // the DHT, so fewer connected peers only get logged (an occasional bootstrap dial is lost).
  const seenByA = await waitPeers(hostA, storageIds, STORAGE);
  assert.ok(seenByA >= 1, 'client A connected to the storage hosts');
  log(`A connected to ${seenByA} of ${STORAGE} storage hosts`);
  if (seenByA < STORAGE) {
    const lines = (await readFile(join(hostA.home, 'daemon.log'), 'utf8').catch(() => '')).split('\n').filter((l) => /"level":(40|50|60)/.test(l));
    log(`A's daemon log warnings:\n${lines.slice(-10).join('\n')}`);
  }
  log(`topology and ${STORAGE + 1} daemons up in ${Date.now() - t0} ms`);

  // Put a random ~2 MiB file from A.
  const bytes = randomBytes(2 * 2 ** 20 + 321);
  const src = join(tmp, 'file.bin');
  await writeFile(src, bytes);
  t0 = Date.now();
  const put = await cliIn(hostA, ['--json', 'put', src], 120_000);
  assert.equal(put.code, 0, `put failed: ${put.stderr}`);
  const result = JSON.parse(put.stdout.trim().split('\n').at(-1)!) as { cap: string; placements: Record<string, string[]> };
  assert.match(result.cap, /^p2pb:chk:/);
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
    ip('-n', HUB, 'link', 'set', h.hubIf, 'down');
    cut.add(h);
    log(`cut ${h.name} (${h.addr}, shares ${[...sharesOf.get(h) ?? []].join(',')}) off; ${sharesLeft(cut)} distinct shares reachable`);
  };
  cutOff(holders[0]);
  cutOff(holders[1]);
  assert.ok(sharesLeft(cut) >= K, 'enough shares remain on reachable hosts');
  for (const h of cut) assert.equal(h.child!.exitCode, null, `${h.name}'s daemon is still running, only cut off`);

  // Client B, a fresh home started only now, joined to the surviving storage hosts.
  const survivors = storage.filter((h) => !cut.has(h));
  t0 = Date.now();
  await startDaemon(hostB, survivors.flatMap((h) => h.member!.addresses), '0');
  for (const h of cut) assert.equal(await tcpReach(hostB, h.addr), false, `${h.name} is unreachable from B`);
  const seenByB = await waitPeers(hostB, survivors.map((h) => h.member!.peerId), survivors.length);
  assert.ok(seenByB >= 1, 'client B connected to the surviving storage hosts');
  log(`B connected to ${seenByB} of ${survivors.length} surviving storage hosts`);
  const out = join(tmp, 'out.bin');
  const get = await cliIn(hostB, ['get', result.cap, '-o', out], 90_000);
  assert.equal(get.code, 0, `get from B failed: ${get.stderr}`);
  assert.equal(sha(await readFile(out)), sha(bytes), 'B got the same bytes');
  log(`B up and get in ${Date.now() - t0} ms (get ${get.ms} ms)`);

  // Cut holders until fewer than k shares are reachable: the get must fail with exit 5.
  for (const h of holders.slice(2)) {
    if (sharesLeft(cut) < K) break;
    cutOff(h);
  }
  assert.ok(sharesLeft(cut) < K);
  const out2 = join(tmp, 'out2.bin');
  const fail = await cliIn(hostB, ['get', result.cap, '-o', out2], 90_000);
  assert.equal(fail.code, 5, `get with too few shares should exit 5 (got ${fail.code}): ${fail.stderr}`);
  assert.match(fail.stderr, /need 3|shares/i);
  log(`failing get took ${fail.ms} ms`);

  await stopAll();
  for (const ns of namespaces.splice(0).reverse()) ip('netns', 'del', ns);
  assert.deepEqual(listNetns().filter((n) => n.startsWith(TAG)), [], 'no namespace of this test left behind');
});
