// Reachability across hosts: a peer behind a "NAT" (its namespace routes only to the relay host) is
// reached through a circuit relay, and the relayed connection says so; a direct dial to it fails.
// Topology, all in namespaces this test creates and removes: A ─ R ─ C, two point-to-point links, no
// forwarding in R. Needs root and ip netns; skipped with the reason printed otherwise.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { initHome } from '../../src/peer/init.ts';
import { spawnDaemon, type SwarmMember } from '../../src/peer/swarm.ts';
import { BIN } from '../integration/helpers.ts';

const TAG = `p2pr-${randomBytes(3).toString('hex')}`;
const ns = (n: string) => `${TAG}-${n}`;
const made: string[] = [];
const children: ChildProcess[] = [];
let dir = '';

function ip(...args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 15_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${(r.stderr ?? r.error?.message ?? '').trim()}`);
  return r.stdout;
}

function whySkip(): string | null {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root (ip netns)';
  try {
    ip('netns', 'add', ns('probe'));
    ip('netns', 'del', ns('probe'));
  } catch (err) {
    return `ip netns unavailable: ${(err as Error).message.split('\n')[0]}`;
  }
  return null;
}

/** A point-to-point link between two namespaces, each end with its /24. */
function link(a: string, aAddr: string, b: string, bAddr: string, name: string) {
  ip('-n', ns(a), 'link', 'add', `${name}a`, 'type', 'veth', 'peer', 'name', `${name}b`, 'netns', ns(b));
  ip('-n', ns(a), 'addr', 'add', `${aAddr}/24`, 'dev', `${name}a`);
  ip('-n', ns(b), 'addr', 'add', `${bAddr}/24`, 'dev', `${name}b`);
  ip('-n', ns(a), 'link', 'set', `${name}a`, 'up');
  ip('-n', ns(b), 'link', 'set', `${name}b`, 'up');
}

function cliIn(host: string, home: string, args: string[]) {
  const r = spawnSync('ip', ['netns', 'exec', ns(host), process.execPath, BIN, '--home', home, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

after(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const n of made) spawnSync('ip', ['netns', 'del', n]);
  if (dir) await rm(dir, { recursive: true, force: true });
  const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  assert.ok(!left.includes(TAG), 'no namespace left behind');
});

const skip = whySkip();
if (skip) console.log(`# relay test skipped: ${skip}`);

test('a peer reachable only through a relay is dialled through it; a direct dial fails', { skip: skip ?? false, timeout: 180_000 }, async () => {
  dir = await mkdtemp(join(tmpdir(), 'p2pb-relay-'));
  for (const h of ['a', 'r', 'c']) {
    ip('netns', 'add', ns(h));
    made.push(ns(h));
    ip('-n', ns(h), 'link', 'set', 'lo', 'up');
  }
  link('a', '10.78.1.2', 'r', '10.78.1.1', 'ar');
  link('c', '10.78.2.2', 'r', '10.78.2.1', 'cr');
  // C's only route is to R's subnet: it is "behind NAT" for A, which cannot route to 10.78.2.0/24.

  const start = async (h: string, listen: string, opts: Parameters<typeof initHome>[1]): Promise<SwarmMember> => {
    const home = join(dir, h);
    await initHome(home, { listen: [listen], mdns: false, ...opts });
    const { child, member } = await spawnDaemon(home, [], {}, ['ip', 'netns', 'exec', ns(h)]);
    children.push(child);
    return member;
  };
  const r = await start('r', '/ip4/0.0.0.0/tcp/4001', { relayServer: true, offer: '100MB' });
  const rOnA = `/ip4/10.78.1.1/tcp/4001/p2p/${r.peerId}`;
  const rOnC = `/ip4/10.78.2.1/tcp/4001/p2p/${r.peerId}`;
  const c = await start('c', '/ip4/10.78.2.2/tcp/4001', { relayClient: true, bootstrap: [rOnC], offer: '100MB' });
  const a = await start('a', '/ip4/10.78.1.2/tcp/4001', { bootstrap: [rOnA], offer: '0' });

  const direct = cliIn('a', a.home, ['--json', 'ping', `/ip4/10.78.2.2/tcp/4001/p2p/${c.peerId}`]);
  assert.notEqual(direct.code, 0, 'A has no route to C');

  // C reserves a slot on R shortly after it connects; retry until the relayed dial works.
  const viaRelay = `${rOnA}/p2p-circuit/p2p/${c.peerId}`;
  let res = { code: 1, stdout: '', stderr: '' };
  for (let i = 0; i < 30 && res.code !== 0; i++) {
    res = cliIn('a', a.home, ['--json', 'ping', viaRelay]);
    if (res.code !== 0) await sleep(1_000);
  }
  assert.equal(res.code, 0, res.stderr);
  const out = JSON.parse(res.stdout);
  assert.equal(out.relayed, true, 'the connection is a relayed (limited) one');
  assert.match(out.remoteAddr, /p2p-circuit/);
});
