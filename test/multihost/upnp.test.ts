// UPnP port mapping through a real router: Debian's miniupnpd (nftables backend) runs in a "router"
// namespace that NATs an "inside" host onto a WAN link shared with an "outside" host. The inside
// daemon (`init --upnp`) finds the router by SSDP, asks it for a mapping over SOAP, miniupnpd installs
// the DNAT rule, and the daemon announces the router's WAN address; the outside daemon then pings the
// inside one through that address. Before miniupnpd runs, the outside host cannot reach the inside port.
//
//   outside 11.81.0.2 ─ bridge (hub) ─ 11.81.0.1 eth0 [router: masquerade + miniupnpd] lan0 10.82.0.1 ─ 10.82.0.2 inside
//
// The WAN link carries a public block (11.81.0.0/24) on purpose: miniupnpd 2.3.1 refuses to forward
// ports on a reserved/private external address ("Port forwarding is impossible"), and libp2p's upnp-nat
// refuses a private external IP (DoubleNATError); both count RFC 1918, CGNAT (100.64/10) and the
// documentation and benchmark ranges as private. These namespaces have no link to the machine's own
// network, so nothing is ever sent to that block. Everything (processes, namespaces, hence their nft
// rules, the temp dir) is removed in after(), or on exit / signals by the fixture.
// Needs root, a working `ip netns`, nft and miniupnpd (nftables build); skipped with the reason printed otherwise.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NetFixture, ip, sh, skipReason, type Host } from './fixture.ts';

const WAN = '11.81.0';
const LAN = '10.82.0';
const PORT = 7171;
const TABLE = 'p2pbu';
const net = new NetFixture({ prefix: 'p2pbu', subnet: WAN, port: PORT });

function whySkip(): string | null {
  const base = skipReason('p2pbu');
  if (base) return base;
  const v = spawnSync('miniupnpd', ['--version'], { encoding: 'utf8' });
  if (v.error) return 'miniupnpd is not installed (Debian: apt-get install miniupnpd-nftables)';
  if (!/nftables/.test(`${v.stdout}${v.stderr}`))
    return `this test drives miniupnpd's nftables backend; installed: ${`${v.stdout}${v.stderr}`.trim().replace(/\n/g, ' ')}`;
  if (spawnSync('nft', ['--version']).error) return 'nft is not installed (Debian: apt-get install nftables)';
  return null;
}

const skip = whySkip();
if (skip) console.log(`# skipping UPnP test: ${skip}`);
else net.installExitHandlers();

after(async () => {
  await net.cleanup();
  assert.deepEqual(net.leftover(), [], 'no namespace of this run is left behind');
});

/** The router's netfilter set-up: masquerade the LAN onto the WAN, forward only LAN→WAN and replies,
 *  plus the empty chains miniupnpd fills (its forward rules, its DNAT rules). */
const ruleset = (wan: string, lan: string) => `table inet ${TABLE} {
  chain miniupnpd {
  }
  chain prerouting_miniupnpd {
  }
  chain postrouting_miniupnpd {
  }
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "${lan}" oifname "${wan}" accept
    jump miniupnpd
  }
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd
    oifname "${wan}" ip saddr ${LAN}.0/24 masquerade
  }
}
`;

const miniupnpdConf = (dir: string, wan: string, lan: string) => `ext_ifname=${wan}
listening_ip=${lan}
http_port=5555
enable_upnp=yes
enable_natpmp=no
secure_mode=yes
notify_interval=5
system_uptime=yes
uuid=6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b
lease_file=${join(dir, 'miniupnpd.leases')}
upnp_table_name=${TABLE}
upnp_nat_table_name=${TABLE}
upnp_forward_chain=miniupnpd
upnp_nat_chain=prerouting_miniupnpd
upnp_nat_postrouting_chain=postrouting_miniupnpd
allow 1024-65535 ${LAN}.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
`;

test(
  'UPnP: behind a real miniupnpd router, the inside peer announces the mapped WAN address and is reached through it',
  { skip: skip ?? false, timeout: 120_000 },
  async (t) => {
    const log = (m: string) => t.diagnostic(m);
    const t0 = Date.now();

    // Topology: outside and the router's WAN side on the hub's bridge; the inside host on its own link to the router.
    await net.createHub();
    const outside = net.addHost('outside', 2);
    const router = net.addHost('router', 1); // its eth0 is the WAN interface, 11.81.0.1
    const inside: Host = { name: 'inside', ns: `${net.tag}-inside`, hubIf: '', addr: `${LAN}.2`, home: join(net.dir, 'inside') };
    ip('netns', 'add', inside.ns);
    net.namespaces.push(inside.ns);
    net.hosts.push(inside);
    ip('-n', inside.ns, 'link', 'set', 'lo', 'up');
    ip('-n', router.ns, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', inside.ns);
    ip('-n', router.ns, 'addr', 'add', `${LAN}.1/24`, 'dev', 'lan0');
    ip('-n', inside.ns, 'addr', 'add', `${inside.addr}/24`, 'dev', 'eth0');
    ip('-n', router.ns, 'link', 'set', 'lan0', 'up');
    ip('-n', inside.ns, 'link', 'set', 'eth0', 'up');
    ip('-n', inside.ns, 'route', 'add', 'default', 'via', `${LAN}.1`);
    sh('ip', ['netns', 'exec', router.ns, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']);
    const rules = join(net.dir, 'router.nft');
    await writeFile(rules, ruleset('eth0', 'lan0'));
    sh('ip', ['netns', 'exec', router.ns, 'nft', '-f', rules]);
    const nftChain = (chain: string) => sh('ip', ['netns', 'exec', router.ns, 'nft', 'list', 'chain', 'inet', TABLE, chain]);

    // Daemons: the inside one with UPnP on, the outside one a plain peer (no bootstrap between them).
    const insideMember = await net.startDaemon(inside, [], '100MB', { upnp: true });
    const outsideMember = await net.startDaemon(outside, [], '0');
    const status = async () => {
      const r = await net.cli(inside, ['--json', 'status'], 15_000);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as { addresses: string[] };
    };
    log(`topology and 2 daemons up in ${Date.now() - t0} ms`);

    // The NAT works outwards (the inside host reaches the outside daemon, masqueraded), but nothing reaches in.
    assert.ok(await net.tcpReach(inside, outside.addr), 'inside reaches outside through the router (masquerade)');
    assert.equal(await net.tcpReach(outside, inside.addr, PORT, 2_000), false, 'outside has no route to the inside address');
    assert.equal(await net.tcpReach(outside, router.addr, PORT, 2_000), false, 'no port of the router leads to the inside peer before miniupnpd');
    assert.ok(!(await status()).addresses.some((a) => a.startsWith(`/ip4/${router.addr}/`)), 'no WAN address announced without a UPnP router');

    // The router's UPnP IGD daemon, in the foreground, its files in the temp dir.
    const conf = join(net.dir, 'miniupnpd.conf');
    const leases = join(net.dir, 'miniupnpd.leases');
    const upnpLog = join(net.dir, 'miniupnpd.log');
    await writeFile(conf, miniupnpdConf(net.dir, 'eth0', 'lan0'));
    const logFd = openSync(upnpLog, 'a');
    const miniupnpd: ChildProcess = spawn('ip', ['netns', 'exec', router.ns, 'miniupnpd', '-d', '-4', '-f', conf, '-P', join(net.dir, 'miniupnpd.pid')], {
      stdio: ['ignore', logFd, logFd]
    });
    closeSync(logFd);
    net.children.push(miniupnpd);
    const upnpTail = async () => `miniupnpd log:\n${(await readFile(upnpLog, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n')}`;
    const tUpnp = Date.now();

    // (1) The inside daemon finds the router (it searches every 5 s until it finds one), maps its port and
    // announces ROUTER-WAN:port.
    let mapped: string | undefined;
    for (let deadline = Date.now() + 45_000; !mapped && Date.now() < deadline;) {
      assert.equal(miniupnpd.exitCode, null, `miniupnpd exited (${miniupnpd.exitCode}); ${await upnpTail()}`);
      mapped = (await status()).addresses.find((a) => a.startsWith(`/ip4/${router.addr}/tcp/`));
      if (!mapped) await sleep(1_000);
    }
    assert.ok(
      mapped,
      `the inside daemon announces the router's WAN address; its warnings:\n${(await net.logWarnings(inside)).join('\n')}\n${await upnpTail()}`
    );
    const extPort = Number(/\/tcp\/(\d+)/.exec(mapped)![1]);
    assert.equal(mapped, `/ip4/${router.addr}/tcp/${extPort}/p2p/${insideMember.peerId}`);
    log(`mapped ${mapped} ${Date.now() - tUpnp} ms after miniupnpd started`);

    // The mapping exists in the router: miniupnpd's lease and its DNAT + forward rules in nftables.
    const lease = (await readFile(leases, 'utf8')).split('\n').find((l) => l.startsWith(`TCP:${extPort}:${inside.addr}:${PORT}:`));
    assert.ok(lease, `a lease for TCP ${extPort} -> ${inside.addr}:${PORT}\n${await upnpTail()}`);
    assert.match(lease, /:p2pbackup$/, 'the lease carries our description');
    // (miniupnpd writes raw payload matches, as nft prints them: `@nh,72,8 0x6` is protocol TCP.)
    const esc = (x: string) => x.replace(/\./g, '\\.');
    const dnat = nftChain('prerouting_miniupnpd');
    assert.match(dnat, new RegExp(`iif "eth0" .*0x6 th dport ${extPort} dnat ip to ${esc(inside.addr)}:${PORT}\\n`), dnat);
    const fwd = nftChain('miniupnpd');
    // The forward rule lets the WAN side in to the inside host's port (daddr as a raw u32: 10.82.0.2 = 0xa520002).
    const daddr = `0x${inside.addr
      .split('.')
      .reduce((n, o) => n * 256 + Number(o), 0)
      .toString(16)}`;
    assert.match(fwd, new RegExp(`iif "eth0" th dport ${PORT} @nh,128,32 ${daddr} .*accept`), fwd);

    // (2) The outside daemon reaches the inside one through the mapped address: a direct libp2p connection
    // and ping, and the inside peer sees it come from the outside host's own address (DNAT, no relay).
    assert.ok(await net.tcpReach(outside, router.addr, extPort), 'the mapped port answers on the WAN side');
    const ping = await net.cli(outside, ['--json', 'ping', mapped], 30_000);
    assert.equal(ping.code, 0, `outside pings the inside peer through ${mapped}: ${ping.stderr}`);
    const pong = JSON.parse(ping.stdout) as { ms: number; relayed: boolean; remoteAddr: string };
    assert.equal(pong.relayed, false, 'a direct connection');
    assert.ok(pong.remoteAddr.startsWith(`/ip4/${router.addr}/tcp/${extPort}`), pong.remoteAddr);
    const peers = await net.cli(inside, ['--json', 'peers'], 15_000);
    assert.equal(peers.code, 0, peers.stderr);
    const seen = (JSON.parse(peers.stdout).peers as { id: string; addresses: string[] }[]).find((p) => p.id === outsideMember.peerId);
    assert.ok(
      seen?.addresses.some((a) => a.startsWith(`/ip4/${outside.addr}/tcp/`)),
      `the inside peer sees the outside one at ${outside.addr}: ${JSON.stringify(seen)}`
    );
    log(`outside pinged inside through the router in ${pong.ms} ms`);

    // (3) Reachability: the outside peer, now connected, dials the inside one back at the router's WAN address
    // with the mapped port: the inside peer says it is reached through UPnP (and only that: its LAN address
    // stays unreachable from outside).
    type Reach = { ways: string[]; confirmed: { address: string; kind: string }[]; summary: string };
    const reachOf = async () => ((await status()) as unknown as { reachability: Reach | null }).reachability;
    let reach = await reachOf();
    for (let deadline = Date.now() + 45_000; !reach?.ways.includes('upnp') && Date.now() < deadline;) {
      await sleep(1_000);
      reach = await reachOf();
    }
    assert.deepEqual(reach?.ways, ['upnp'], `reached through the mapping: ${JSON.stringify(reach)}`);
    assert.deepEqual(
      reach!.confirmed.map((c) => [c.address, c.kind]),
      [[`/ip4/${router.addr}/tcp/${extPort}`, 'upnp']]
    );

    // A clean stop of the inside daemon gives the port back: miniupnpd removes its DNAT rule.
    const exited = new Promise((resolve) => inside.child!.once('exit', resolve));
    inside.child!.kill('SIGTERM');
    await Promise.race([exited, sleep(15_000, undefined, { ref: false })]);
    let left = nftChain('prerouting_miniupnpd');
    for (let i = 0; i < 20 && left.includes('dnat'); i++) {
      await sleep(250);
      left = nftChain('prerouting_miniupnpd');
    }
    assert.doesNotMatch(left, /dnat/, `the mapping is removed when the daemon stops\n${await upnpTail()}`);
    log(`done in ${Date.now() - t0} ms`);
  }
);
