// The kernel's neighbour (ARP) table is shared by every network namespace and holds 1024 entries by
// default; a fixture whose hosts all talk to each other needs about hosts^2 of them. Before the fixture
// raised the limit, a 50-peer swarm came up with every storage peer seeing exactly 32 others and the
// client reaching none (dmesg: "neighbor table overflow"). Here 36 hosts (36*35 = 1260 entries) each
// connect to every other host's closed port: an answered ARP gives an immediate ECONNREFUSED, a failed
// one a connect that hangs. No daemons, so it stays a few seconds long.
// Needs root and `ip netns`; skipped with the reason printed otherwise.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { NetFixture, neighbourLimits, skipReason } from './fixture.ts';

const HOSTS = 36;
const THRESH = ['gc_thresh1', 'gc_thresh2', 'gc_thresh3'].map((k) => `/proc/sys/net/ipv4/neigh/default/${k}`);
const limits = (): number[] => THRESH.map((f) => Number(readFileSync(f, 'utf8').trim()));

const skip = skipReason('p2pn');
if (skip) console.log(`# skipping neighbour-table test: ${skip}`);
const net = new NetFixture({ prefix: 'p2pn', subnet: '10.77.0', port: 9 });
after(() => net.cleanup());

/** Connect from inside `ns` to port 9 of each address; prints one line per address: refused / timeout / other. */
function probe(ns: string, addrs: string[]): Promise<string[]> {
  const code = `
    const net = require('node:net');
    const addrs = ${JSON.stringify(addrs)};
    Promise.all(addrs.map((a) => new Promise((res) => {
      const s = net.connect({ host: a, port: 9 });
      const t = setTimeout(() => { s.destroy(); res('timeout'); }, 3000);
      s.on('connect', () => { clearTimeout(t); s.destroy(); res('open'); });
      s.on('error', (e) => { clearTimeout(t); res(e.code === 'ECONNREFUSED' ? 'refused' : (e.code || e.message || 'error')); });
    }))).then((r) => console.log(r.join('\\n')));`;
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('exit', (c) => (c === 0 ? resolve(out.trim().split('\n')) : reject(new Error(`probe in ${ns} exited ${c}`))));
  });
}

test('neighbour limits: unchanged while there is headroom, raised to cover hosts^2 otherwise', () => {
  assert.deepEqual(neighbourLimits(6, [128, 512, 1024]), [128, 512, 1024]);
  const raised = neighbourLimits(51, [128, 512, 1024]);
  assert.ok(raised[1] >= 51 * 51 + 256 && raised[2] > raised[1], `raised to ${raised}`);
  assert.deepEqual(neighbourLimits(51, [128, 100_000, 200_000]), [128, 100_000, 200_000], 'never lowered');
});

test(`${HOSTS} namespaces on one bridge all reach each other`, { skip: skip ?? false, timeout: 120_000 }, async () => {
  const before = limits();
  await net.createHub();
  const hosts = Array.from({ length: HOSTS }, (_, i) => net.addHost(`h${i}`, 10 + i));
  // Eight at a time: the kernel's table fills within seconds either way, well inside its 5 s GC grace.
  const results: string[][] = [];
  for (let i = 0; i < hosts.length; i += 8) {
    const batch = hosts.slice(i, i + 8);
    results.push(
      ...(await Promise.all(
        batch.map((h) =>
          probe(
            h.ns,
            hosts.filter((o) => o !== h).map((o) => o.addr)
          )
        )
      ))
    );
  }
  const others = (i: number) => hosts.filter((o) => o !== hosts[i]);
  const first = results.flatMap((r, i) => r.map((v, j) => [i, j, v] as const).filter(([, , v]) => v !== 'refused'));
  // One to three connects that failed under a loaded machine (seen once in a full run: one of 1260) are tried
  // again; a full table fails hundreds (without the raised limit, every connect past the 1024th entry hangs).
  const bad: (readonly [number, number, string])[] = first.length > 3 ? [...first] : [];
  for (const [i, j] of first.length > 3 ? [] : first) {
    const [again] = await probe(hosts[i].ns, [others(i)[j].addr]);
    if (again !== 'refused') bad.push([i, j, again]);
  }
  assert.equal(
    bad.length,
    0,
    `${bad.length} of ${HOSTS * (HOSTS - 1)} connects not answered twice, e.g. ${JSON.stringify(bad.slice(0, 3))} (first try: ${first.length})`
  );
  await net.cleanup();
  assert.deepEqual(limits(), before, 'the limits are put back when the fixture is cleaned up');
});
