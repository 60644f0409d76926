// Network-namespace fixture for multi-host tests and benches: a hub namespace holding a bridge, and one
// namespace per host with a veth into that bridge (`ip -n HUB link set v-<host> down` cuts the host off;
// its daemon keeps running, unreachable). Daemons run inside their namespace (`ip netns exec`), so their
// pids are the daemons' own. Everything this fixture creates carries a random tag and is removed by
// cleanup() (or cleanupSync() on exit / signals). Needs root and a working `ip netns`: skipReason() says
// why not otherwise.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { homePaths } from '../../src/peer/home.ts';
import { initHome } from '../../src/peer/init.ts';
import { readConfig, writeConfig, type PeerConfig } from '../../src/peer/config.ts';
import { CLI_BIN, spawnDaemon, type SwarmMember } from '../../src/peer/swarm.ts';

/** The CLI the tests run: the sources, or the build's bundled CLI under `npm test` (P2PBACKUP_BIN, src/peer/swarm.ts). */
export const BIN = CLI_BIN;

/** Run a command synchronously; throws with its stderr when it fails. */
export function sh(cmd: string, args: string[], timeoutMs = 15_000, input?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, ...(input !== undefined ? { input } : {}) });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal ?? r.error?.message}): ${(r.stderr ?? '').trim()}`);
  return r.stdout;
}
export const ip = (...args: string[]): string => sh('ip', args);
export const listNetns = (): string[] => {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return (r.stdout ?? '')
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter(Boolean);
};

export interface Host {
  name: string;
  ns: string;
  /** The host's veth end inside the hub (set it down to cut the host off). */
  hubIf: string;
  /** Behind a router: [namespace, interface] of the link that cut() sets down (the router's LAN end). */
  cutLink?: [string, string];
  addr: string;
  home: string;
  child?: ChildProcess;
  member?: SwarmMember;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** A NAT router made by addRouter: its WAN host and its LAN prefix (three octets). */
export interface Router {
  host: Host;
  lan: string;
  nextLanOctet: number;
}

export interface NetOptions {
  /** Tag prefix of every namespace (a random suffix is added). */
  prefix: string;
  /** First three octets of the bridge's /24. */
  subnet: string;
  /** The libp2p TCP port every daemon listens on (one address per namespace, so one port suffices). */
  port: number;
}

/** Why multi-host tests cannot run here, or null when they can: root, and ip netns + bridge + veth work. */
export function skipReason(prefix = 'p2pb'): string | null {
  if (process.platform !== 'linux') return 'multi-host netns test needs Linux';
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'multi-host netns test needs root (ip netns)';
  const probe = `${prefix}-${randomBytes(3).toString('hex')}-probe`;
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

// The kernel keeps ONE neighbour (ARP) table for all network namespaces, capped by the root namespace's
// net.ipv4.neigh.default.gc_thresh3 (1024 by default). Every host namespace learns every other host it
// talks to, so N hosts that all meet need about N*N entries: at 32 hosts the table is full and further
// ARP resolutions fail ("neighbor table overflow" in dmesg), i.e. new TCP connections just hang in
// SYN-SENT. Separate machines never share this table; only a many-namespace swarm on one kernel does.
const NEIGH = ['gc_thresh1', 'gc_thresh2', 'gc_thresh3'].map((k) => `/proc/sys/net/ipv4/neigh/default/${k}`);
const readNeigh = (): number[] => NEIGH.map((f) => Number(readFileSync(f, 'utf8').trim()));
const writeNeigh = (v: number[]): void => NEIGH.forEach((f, i) => writeFileSync(f, `${v[i]}\n`));

/**
 * The table limits (thresh1, thresh2, thresh3) a fixture of `hosts` hosts needs: `current` while the
 * soft limit (thresh2) keeps 256 entries of headroom over hosts^2, raised otherwise (never lowered).
 */
export function neighbourLimits(hosts: number, current: number[]): number[] {
  const need = hosts * hosts;
  if (need + 256 <= current[1]) return current;
  return [current[0], Math.max(current[1], need + 512), Math.max(current[2], 2 * need + 1024)];
}

export class NetFixture {
  readonly tag: string;
  readonly hub: string;
  readonly subnet: string;
  readonly port: number;
  readonly namespaces: string[] = [];
  readonly children: ChildProcess[] = [];
  readonly hosts: Host[] = [];
  /** Temp dir holding every host's home (made by createHub). */
  dir = '';
  /** The CLI that cli() runs: the sources (default), or bin/p2pbackup.js on dist/ where a bench times the command as installed. */
  cliBin = BIN;
  private exitHandlers = false;
  /** The neighbour-table limits before this fixture raised them, and what it set (restored on cleanup). */
  private neigh: { before: number[]; set: number[] } | null = null;

  constructor(o: NetOptions) {
    this.tag = `${o.prefix}-${randomBytes(3).toString('hex')}`;
    this.hub = `${this.tag}-hub`;
    this.subnet = o.subnet;
    this.port = o.port;
  }

  /** Kill what is left and remove namespaces and files on process exit / SIGINT / SIGTERM. */
  installExitHandlers(): void {
    if (this.exitHandlers) return;
    this.exitHandlers = true;
    process.once('exit', () => this.cleanupSync());
    for (const sig of ['SIGINT', 'SIGTERM'] as const)
      process.once(sig, () => {
        this.cleanupSync();
        process.exit(130);
      });
  }

  /** The hub namespace with its bridge, and the temp dir for the homes. */
  async createHub(): Promise<void> {
    this.installExitHandlers();
    this.dir = await mkdtemp(join(tmpdir(), `${this.tag}-`));
    ip('netns', 'add', this.hub);
    this.namespaces.push(this.hub);
    ip('-n', this.hub, 'link', 'set', 'lo', 'up');
    ip('-n', this.hub, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', this.hub, 'link', 'set', 'br0', 'up');
  }

  /** A host namespace at SUBNET.octet with a veth into the hub's bridge; its home is DIR/name. With `v6`
   *  (a /64 prefix such as "fd91::"), the host has the IPv6 address v6+octet on that link and no IPv4 at all. */
  addHost(name: string, octet: number, o: { v6?: string } = {}): Host {
    const addr = o.v6 ? `${o.v6}${octet.toString(16)}` : `${this.subnet}.${octet}`;
    const host: Host = { name, ns: `${this.tag}-${name}`, hubIf: `v-${name}`, addr, home: join(this.dir, name) };
    ip('netns', 'add', host.ns);
    this.namespaces.push(host.ns);
    ip('-n', host.ns, 'link', 'set', 'lo', 'up');
    // Created directly inside the host namespace, its peer end moved into the hub: nothing in the root namespace.
    ip('-n', host.ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', host.hubIf, 'netns', this.hub);
    // nodad: usable at once (duplicate address detection would hold a new IPv6 address "tentative" ~1 s).
    if (o.v6) ip('-n', host.ns, '-6', 'addr', 'add', `${host.addr}/64`, 'dev', 'eth0', 'nodad');
    else ip('-n', host.ns, 'addr', 'add', `${host.addr}/24`, 'dev', 'eth0');
    ip('-n', host.ns, 'link', 'set', 'eth0', 'up');
    ip('-n', this.hub, 'link', 'set', host.hubIf, 'master', 'br0', 'up');
    this.hosts.push(host);
    this.sizeNeighbourTable();
    return host;
  }

  /**
   * A home router (issue 18): its WAN side is a host on the hub's bridge at SUBNET.octet (the "Internet"),
   * or, given `upstream`, a link into that router's LAN (a router behind a router: carrier-grade NAT). Its
   * LAN is `lan`.0/24 with the router at .1. nftables masquerades the LAN onto the WAN and forwards nothing
   * else but replies (policy drop, `ct state established,related`): no port forward, no UPnP. A host behind
   * it comes from addNatHost. Removed with its namespace (the ruleset lives there).
   */
  addRouter(name: string, wan: number | Router, lan: string): Router {
    let host: Host;
    let wanIf: string;
    if (typeof wan === 'number') {
      host = this.addHost(name, wan);
      wanIf = 'eth0';
    } else {
      const octet = wan.nextLanOctet++;
      host = { name, ns: `${this.tag}-${name}`, hubIf: '', addr: `${wan.lan}.${octet}`, home: join(this.dir, name), cutLink: [wan.host.ns, `l${octet}`] };
      ip('netns', 'add', host.ns);
      this.namespaces.push(host.ns);
      this.hosts.push(host);
      ip('-n', host.ns, 'link', 'set', 'lo', 'up');
      ip('-n', wan.host.ns, 'link', 'add', `l${octet}`, 'type', 'veth', 'peer', 'name', 'wan0', 'netns', host.ns);
      ip('-n', wan.host.ns, 'link', 'set', `l${octet}`, 'master', 'lanbr', 'up');
      ip('-n', host.ns, 'addr', 'add', `${host.addr}/24`, 'dev', 'wan0');
      ip('-n', host.ns, 'link', 'set', 'wan0', 'up');
      ip('-n', host.ns, 'route', 'add', 'default', 'via', `${wan.lan}.1`);
      wanIf = 'wan0';
    }
    // The LAN side: a bridge, so that a router can have several hosts (or routers) behind it.
    ip('-n', host.ns, 'link', 'add', 'lanbr', 'type', 'bridge');
    ip('-n', host.ns, 'addr', 'add', `${lan}.1/24`, 'dev', 'lanbr');
    ip('-n', host.ns, 'link', 'set', 'lanbr', 'up');
    sh('ip', ['netns', 'exec', host.ns, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']);
    const rules = `table inet p2pbnat {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "lanbr" oifname "${wanIf}" accept
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    oifname "${wanIf}" ip saddr ${lan}.0/24 masquerade
  }
}
`;
    sh('ip', ['netns', 'exec', host.ns, 'nft', '-f', '-'], 15_000, rules);
    return { host, lan, nextLanOctet: 2 };
  }

  /** A host behind `router`: LAN address router.lan.N, default route through the router, cut() unplugs it. */
  addNatHost(name: string, router: Router): Host {
    const octet = router.nextLanOctet++;
    const host: Host = {
      name,
      ns: `${this.tag}-${name}`,
      hubIf: '',
      addr: `${router.lan}.${octet}`,
      home: join(this.dir, name),
      cutLink: [router.host.ns, `l${octet}`]
    };
    ip('netns', 'add', host.ns);
    this.namespaces.push(host.ns);
    this.hosts.push(host);
    ip('-n', host.ns, 'link', 'set', 'lo', 'up');
    ip('-n', router.host.ns, 'link', 'add', `l${octet}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.ns);
    ip('-n', router.host.ns, 'link', 'set', `l${octet}`, 'master', 'lanbr', 'up');
    ip('-n', host.ns, 'addr', 'add', `${host.addr}/24`, 'dev', 'eth0');
    ip('-n', host.ns, 'link', 'set', 'eth0', 'up');
    ip('-n', host.ns, 'route', 'add', 'default', 'via', `${router.lan}.1`);
    this.sizeNeighbourTable();
    return host;
  }

  /** Raise the shared neighbour table's limits when this many hosts could overflow it (see NEIGH). */
  private sizeNeighbourTable(): void {
    const current = readNeigh();
    const want = neighbourLimits(this.hosts.length, current);
    if (want.every((v, i) => v === current[i])) return;
    try {
      writeNeigh(want);
    } catch (err) {
      throw new Error(
        `${this.hosts.length} namespaces need about ${this.hosts.length ** 2} neighbour-table entries, above net.ipv4.neigh.default.gc_thresh2/3 (${current[1]}/${current[2]}), which could not be raised: ${(err as Error).message}. Raise them as root (sysctl -w) or use fewer hosts.`
      );
    }
    this.neigh = { before: this.neigh?.before ?? current, set: want };
  }

  /** Put the limits back, unless someone else changed them since (then theirs stand). */
  private restoreNeighbourTable(): void {
    if (!this.neigh) return;
    try {
      if (readNeigh().every((v, i) => v === this.neigh!.set[i])) writeNeigh(this.neigh.before);
    } catch {}
    this.neigh = null;
  }

  /** Namespaces of this fixture that `ip netns list` still shows. */
  leftover(): string[] {
    return listNetns().filter((n) => n.startsWith(this.tag));
  }

  /** init the host's home (listening on its address) and start its daemon inside its namespace. */
  async startDaemon(
    host: Host,
    bootstrap: string[],
    offer: string,
    o: {
      env?: NodeJS.ProcessEnv;
      graceBytes?: number;
      allowAllPaths?: boolean;
      upnp?: boolean;
      listen?: string[];
      relayServer?: boolean;
      config?: Partial<PeerConfig>;
      args?: string[];
    } = {}
  ): Promise<SwarmMember> {
    await initHome(host.home, { listen: o.listen ?? [`/ip4/${host.addr}/tcp/${this.port}`], mdns: false, offer, ...(o.upnp ? { upnp: true } : {}) });
    if (o.graceBytes !== undefined || o.allowAllPaths || o.config) {
      const paths = homePaths(host.home);
      const cfg = await readConfig(paths.config);
      await writeConfig(paths.config, {
        ...cfg,
        ...(o.graceBytes !== undefined ? { fairness: { ...cfg.fairness, graceBytes: o.graceBytes } } : {}),
        ...(o.allowAllPaths ? { api: { ...cfg.api, allowedRoots: ['/'] } } : {}),
        ...o.config
      });
    }
    const args = [...(bootstrap.length ? ['--bootstrap', ...bootstrap] : []), ...(o.relayServer ? ['--relay-server'] : []), ...(o.args ?? [])];
    const { child, member } = await spawnDaemon(host.home, args, o.env ?? {}, ['ip', 'netns', 'exec', host.ns]);
    this.children.push(child);
    host.child = child;
    host.member = member;
    return member;
  }

  /** Spawn the CLI inside a host's namespace (the daemon's API listens on that namespace's loopback). */
  cliSpawn(host: Host, args: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', host.ns, process.execPath, this.cliBin, '--home', host.home, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(child);
    return child;
  }

  /** Run the CLI inside a host's namespace to its end (killed after timeoutMs). */
  cli(host: Host, args: string[], timeoutMs = 60_000, onStdout?: (chunk: string) => void): Promise<CliResult> {
    const t0 = Date.now();
    return new Promise((resolve) => {
      const child = this.cliSpawn(host, args);
      let stdout = '';
      let stderr = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        onStdout?.(d);
      });
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timer = setTimeout(() => {
        stderr += `\n[fixture] killed after ${timeoutMs} ms`;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? 1, stdout, stderr, ms: Date.now() - t0 });
      });
    });
  }

  /** Can `host` open a TCP connection to addr:port (through the bridge)? Decided within timeoutMs. */
  tcpReach(host: Host, addr: string, port = this.port, timeoutMs = 3_000): Promise<boolean> {
    const code = `const s=require('net').connect(${port},'${addr}');s.setTimeout(${timeoutMs},()=>process.exit(2));s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1))`;
    return new Promise((resolve) => {
      const child = spawn('ip', ['netns', 'exec', host.ns, process.execPath, '-e', code], { stdio: 'ignore' });
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 5_000);
      child.on('close', (c) => {
        clearTimeout(timer);
        resolve(c === 0);
      });
    });
  }

  /** Poll `peers` on a host until it sees at least `min` of the wanted peer ids, or the time is up; returns how many it saw. */
  async waitPeers(host: Host, wanted: string[], min: number, timeoutMs = 20_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let seen = 0;
    while (Date.now() < deadline) {
      const r = await this.cli(host, ['--json', 'peers'], 15_000);
      if (r.code === 0) {
        const ids = new Set((JSON.parse(r.stdout).peers as { id: string }[]).map((p) => p.id));
        seen = wanted.filter((id) => ids.has(id)).length;
        if (seen >= min) return seen;
      }
      await sleep(500);
    }
    return seen;
  }

  /** Warning and error lines of a host's daemon log (the last `n`). */
  async logWarnings(host: Host, n = 10): Promise<string[]> {
    const lines = (await readFile(join(host.home, 'daemon.log'), 'utf8').catch(() => '')).split('\n').filter((l) => /"level":(40|50|60)/.test(l));
    return lines.slice(-n);
  }

  /** Cut a host off the network: its veth end in the hub (or its router) goes down (the daemon keeps running). */
  cut(host: Host): void {
    if (host.cutLink) ip('-n', host.cutLink[0], 'link', 'set', host.cutLink[1], 'down');
    else ip('-n', this.hub, 'link', 'set', host.hubIf, 'down');
  }

  /** On `from`, make connections to `to` fail at once (a prohibit route: EACCES on connect) instead of
   *  hanging as they do behind a silent cut (no ARP answer, no RST). */
  reject(from: Host, to: Host): void {
    ip('-n', from.ns, 'route', 'add', 'prohibit', `${to.addr}/32`);
  }

  /** Put a cut host back on the network. */
  reconnect(host: Host): void {
    if (host.cutLink) ip('-n', host.cutLink[0], 'link', 'set', host.cutLink[1], 'up');
    else ip('-n', this.hub, 'link', 'set', host.hubIf, 'up');
  }

  /** SIGTERM every child (SIGKILL after 5 s) and wait for them. */
  async stopAll(): Promise<void> {
    const alive = this.children.filter((c) => c.exitCode === null && c.signalCode === null);
    const exited = alive.map((c) => new Promise<void>((resolve) => c.once('exit', () => resolve())));
    for (const c of alive) c.kill('SIGTERM');
    const timer = setTimeout(() => alive.forEach((c) => c.kill('SIGKILL')), 5_000);
    await Promise.race([Promise.all(exited), sleep(10_000, undefined, { ref: false })]); // unref'd: no 10 s wait at exit
    clearTimeout(timer);
    this.children.length = 0;
  }

  /** Stop every process, remove every namespace (hosts first) and the temp dir. */
  async cleanup(): Promise<void> {
    await this.stopAll();
    for (const ns of this.namespaces.splice(0).reverse()) spawnSync('ip', ['netns', 'del', ns]);
    this.restoreNeighbourTable();
    if (this.dir) await rm(this.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    this.dir = '';
  }

  /** Synchronous last resort (signals, early exit): kill what is left, remove namespaces and files. */
  cleanupSync(): void {
    for (const c of this.children)
      if (c.exitCode === null && c.signalCode === null) {
        try {
          c.kill('SIGKILL');
        } catch {}
      }
    this.children.length = 0;
    for (const ns of this.namespaces.splice(0).reverse()) spawnSync('ip', ['netns', 'del', ns]);
    this.restoreNeighbourTable();
    if (this.dir) {
      try {
        rmSync(this.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
      } catch {}
      this.dir = '';
    }
  }
}
