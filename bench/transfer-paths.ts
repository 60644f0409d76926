// The transfer bench's paths section (issue 18): put and get of one file by a client through each path
// storage traffic can take, across network namespaces (test/multihost/fixture.ts), one swarm per path:
//   direct          the client and 5 storage peers on the hub's bridge (the "Internet", 11.95.0.0/24);
//   own-connection  the client public, each storage peer behind its own NAT router (nftables masquerade,
//                   no forward): the client reaches them only over the connections they keep to it;
//   relay           the client behind its own NAT as well: everything goes through R (public,
//                   --relay-server), whose uplink (its veth's egress) `tc tbf` limits to 40 Mbit/s.
// 3-of-5; fair sharing off (the client offers nothing and the samples go past the default grace). Each put
// checks that every holder of the file's first pack was reached by the path under test (PutResult.paths)
// and each get the sha256. Timed inside the client's namespace (bench/transfer-op.ts): request to result,
// node's start-up excluded, the MB/s of bench/transfer.ts (plaintext, MB = 1e6). The relay row also gives
// what the relay carried per second; every row the raw TCP rate of its link (a storage peer to the client,
// or the relay's shaped uplink), measured right before, to tell the software's cost from the network's.
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { NetFixture, sh, skipReason, type Host } from '../test/multihost/fixture.ts';
import { mbps, median, note } from './common.ts';
import { generate, usage } from './transfer.ts';
import type { FloorResult } from './floor-transport.ts';

const OP = fileURLToPath(new URL('./transfer-op.ts', import.meta.url));
const FLOOR = fileURLToPath(new URL('./floor-transport.ts', import.meta.url));
const FLOOR_PORT = 7272;
const PORT = 7171;
const STORAGE = 5;
export const RELAY_LINK = '40mbit';
const TBF = ['rate', RELAY_LINK, 'burst', '64kbit', 'latency', '400ms']; // /work/shared/STACK.md

export type PathKind = 'direct' | 'own-connection' | 'relay';

export interface PathRecord {
  op: 'put' | 'get';
  impl: 'p2pbackup';
  path: PathKind;
  k: number;
  n: number;
  sizeBytes: number;
  /** Median over the samples, MB/s of plaintext (MB = 1e6). */
  mbps: number;
  samples: number;
  sampleMbps: number[];
  /** Raw TCP MB/s of the path's link (a storage peer to the client; relay: the shaped relay uplink). */
  linkMBps: number;
  /** relay rows: what the relay carried per second of this op (both directions counted once). */
  relayedMBps?: number;
  /**
   * direct and own-connection rows: the transport floor of the same topology (bench/floor-transport.ts run in the
   * same namespaces before the daemons start: the op's bytes over TCP + Noise + Yamux, dropped on arrival), in
   * MB/s of the op's plaintext, median over the samples. What this machine allows the path at best.
   */
  floorMBps?: number;
  floorSampleMbps?: number[];
}

/** Why the paths section cannot run here (null: it can). */
export function pathsSkipReason(): string | null {
  return skipReason('p2pbt') ?? (spawnOk('nft', ['--version']) ? null : 'nft is not installed') ?? (spawnOk('tc', ['-V']) ? null : 'tc is not installed');
}

function spawnOk(cmd: string, args: string[]): boolean {
  try {
    sh(cmd, args);
    return true;
  } catch {
    return false;
  }
}

/** Run `node bench/transfer-op.ts HOME ...` inside a host's namespace; its JSON line. */
function op(net: NetFixture, host: Host, args: string[]): Promise<any> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', host.ns, process.execPath, OP, host.home, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    net.children.push(child);
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    child.on('close', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').at(-1)!))
        : reject(new Error(`transfer-op ${args[0]} on ${host.name} exited ${code}: ${err.trim().slice(-500)}`))
    );
  });
}

async function statusOf(net: NetFixture, h: Host): Promise<any> {
  const r = await net.cli(h, ['--json', 'status'], 30_000);
  if (r.code !== 0) throw new Error(`status on ${h.name}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function until(what: string, fn: () => Promise<boolean>, ms = 90_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await sleep(1_000);
  }
  throw new Error(`paths bench: ${what} not reached within ${ms / 1000} s`);
}

/** Raw TCP from `from` to `to` (a sink in `to`'s namespace): MB/s over `bytes`. */
async function tcpRate(net: NetFixture, from: Host, to: Host, bytes: number): Promise<number> {
  const port = 7999;
  const sink = spawn('ip', ['netns', 'exec', to.ns, process.execPath, '-e', `require('net').createServer((s)=>s.resume()).listen(${port},'${to.addr}')`], {
    stdio: 'ignore'
  });
  net.children.push(sink);
  await sleep(500);
  const code =
    `const s=require('net').connect(${port},'${to.addr}');const b=Buffer.alloc(1<<20);let n=0;const t0=Date.now();` +
    `const w=()=>{while(n<${bytes}){n+=b.length;if(!s.write(b))return s.once('drain',w)}s.end(()=>{console.log((${bytes}/1e6)/((Date.now()-t0)/1000))})};s.on('connect',w)`;
  const out = sh('ip', ['netns', 'exec', from.ns, process.execPath, '-e', code], 120_000);
  sink.kill('SIGKILL');
  return Number(out.trim());
}

/** The next line a child prints on stdout, parsed. */
function lineOf(child: ChildProcess, what: string): Promise<any> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      try {
        resolve(JSON.parse(out.slice(0, nl)));
      } catch {
        reject(new Error(`${what} printed ${JSON.stringify(out.slice(0, 200))}, not a JSON line`));
      }
    };
    const onExit = (code: number | null) => reject(new Error(`${what} exited with ${code} before answering`));
    child.stdout!.setEncoding('utf8').on('data', onData);
    child.once('exit', onExit);
  });
}

/**
 * The transport floor across the namespaces (bench/floor-transport.ts): a client node in the client's namespace,
 * one node per storage host in its own; direct: the client dials them; own-connection: they dial the client from
 * behind their NAT and the client's streams go over those connections, as the daemons' do.
 */
async function floorAcross(net: NetFixture, client: Host, storage: Host[], path: PathKind, bytes: number): Promise<FloorResult> {
  const c = spawn('ip', ['netns', 'exec', client.ns, process.execPath, FLOOR, '--client-across', '--listen', `/ip4/${client.addr}/tcp/${FLOOR_PORT}`], {
    stdio: ['pipe', 'pipe', 'inherit']
  });
  net.children.push(c);
  const servers: ChildProcess[] = [];
  try {
    const { addr } = await lineOf(c, 'the floor client');
    for (const h of storage) {
      const args = ['netns', 'exec', h.ns, process.execPath, FLOOR, '--serve', '--listen', `/ip4/${h.addr}/tcp/${FLOOR_PORT}`];
      const s = spawn('ip', path === 'own-connection' ? [...args, '--dial', addr] : args, { stdio: ['pipe', 'pipe', 'inherit'] });
      net.children.push(s);
      servers.push(s);
    }
    const infos = await Promise.all(servers.map((s, i) => lineOf(s, `floor peer ${storage[i].name}`)));
    const targets = infos.map((i) => (path === 'direct' ? { peerId: i.peerId, addr: i.addr } : { peerId: i.peerId }));
    const result = lineOf(c, 'the floor client');
    c.stdin!.write(JSON.stringify({ bytes, k: 3, targets, pids: servers.map((s) => s.pid) }) + '\n');
    return (await result) as FloorResult;
  } finally {
    for (const s of [c, ...servers]) s.stdin!.end();
    await Promise.all([c, ...servers].map((s) => (s.exitCode !== null ? null : new Promise((r) => s.once('exit', r)))));
  }
}

/** One path: its own swarm, `samples` put+get of `size` bytes, then everything removed. */
async function measurePath(path: PathKind, size: number, samples: number): Promise<PathRecord[]> {
  const net = new NetFixture({ prefix: 'p2pbt', subnet: '11.95.0', port: PORT });
  net.installExitHandlers();
  try {
    await net.createHub();
    const opts = { config: { lanOnly: false, fairness: { enabled: false, ratio: 1, graceBytes: 0 } } };
    const relay = path === 'relay' ? net.addHost('relay', 9) : null;
    const client = path === 'relay' ? net.addNatHost('client', net.addRouter('rc', 40, '192.168.40')) : net.addHost('client', 10);
    const routers = path === 'direct' ? [] : Array.from({ length: STORAGE }, (_, i) => net.addRouter(`r${i + 1}`, 31 + i, `192.168.${31 + i}`));
    const storage = Array.from({ length: STORAGE }, (_, i) => (path === 'direct' ? net.addHost(`s${i + 1}`, 11 + i) : net.addNatHost(`s${i + 1}`, routers[i])));
    // The floor first, while nothing else runs (the relay's floor is its shaped link, measured below).
    const floors: FloorResult[] = [];
    if (!relay) {
      for (let s = 0; s < samples; s++) {
        const f = await floorAcross(net, client, storage, path, size);
        floors.push(f);
        note(
          `transfer: ${path} floor ${s + 1}/${samples}: push ${mbps(size, f.push.seconds * 1000).toFixed(1)} MB/s, pull ${mbps(size, f.pull.seconds * 1000).toFixed(1)} MB/s (plaintext; CPU ${f.push.cpuSeconds.toFixed(1)} / ${f.pull.cpuSeconds.toFixed(1)} s)`
        );
      }
    }
    const first = relay ?? client;
    await net.startDaemon(first, [], '0', { ...opts, relayServer: relay !== null });
    const boot = [`/ip4/${first.addr}/tcp/${PORT}/p2p/${first.member!.peerId}`];
    if (relay) await net.startDaemon(client, boot, '0', opts);
    for (const h of storage) await net.startDaemon(h, boot, '64GiB', opts);
    const ids = new Set(storage.map((h) => h.member!.peerId));
    if (path !== 'direct') {
      // Behind NAT: every storage peer knows it is not dialable and holds what makes it reachable.
      await until('storage peers settled behind NAT', async () =>
        (
          await Promise.all(
            storage.map(async (h) => {
              const r = (await statusOf(net, h)).reachability;
              return r?.dialable === false && (path === 'relay' ? r.relays.length > 0 : r.ownConnections.kept >= 1);
            })
          )
        ).every(Boolean)
      );
    }
    await until('the client connected to the swarm', async () => (await statusOf(net, client)).peersConnected >= (path === 'relay' ? 1 : STORAGE));
    let linkMBps: number;
    if (!relay) {
      // The raw TCP rate a storage peer reaches the client at (through its NAT router for own-connection):
      // what the network alone allows, to tell the software's cost from the topology's.
      linkMBps = await tcpRate(net, storage[0], client, 64 * 2 ** 20);
      note(`transfer: ${path}: raw TCP from a storage peer to the client ${linkMBps.toFixed(1)} MB/s`);
    } else {
      sh('ip', ['netns', 'exec', relay.ns, 'tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'tbf', ...TBF]);
      // To the first storage peer's router (the relay's traffic to that peer leaves by the same link).
      linkMBps = await tcpRate(net, relay, routers[0].host, 16 * 2 ** 20);
      note(`transfer: relay uplink shaped to ${RELAY_LINK}: raw TCP ${linkMBps.toFixed(2)} MB/s`);
    }
    const puts: number[] = [];
    const gets: number[] = [];
    const relayed: { put: number[]; get: number[] } = { put: [], get: [] };
    const relayedBytes = async () => (relay ? ((await statusOf(net, relay)).reachability.relayServer.bytesRelayed as number) : 0);
    // CPU seconds of the client and each storage daemon during the op (a note line: where a path's time goes).
    const daemons = [client, ...storage].map((h) => h.member!.pid);
    const cpuNow = () => Promise.all(daemons.map(async (pid) => (await usage(pid)).cpuSeconds));
    const cpuNote = (opName: string, c0: number[], c1: number[]) =>
      note(
        `transfer: ${path} ${opName} CPU s: client ${(c1[0] - c0[0]).toFixed(1)}, storage ${c1
          .slice(1)
          .map((c, i) => (c - c0[i + 1]).toFixed(1))
          .join(' ')}`
      );
    for (let s = 0; s < samples; s++) {
      const input = join(net.dir, `in-${s}.bin`);
      const output = join(net.dir, `out-${s}.bin`);
      const want = await generate(input, size);
      const before = await relayedBytes();
      const c0 = await cpuNow();
      const p = await op(net, client, ['put', input]);
      const c1 = await cpuNow();
      cpuNote('put', c0, c1);
      const used = Object.entries(p.paths as Record<string, { path: string }>).filter(([id]) => ids.has(id));
      if (used.length < 4 || used.some(([, v]) => v.path !== path)) throw new Error(`paths bench (${path}): holders reached by ${JSON.stringify(p.paths)}`);
      puts.push(mbps(size, p.ms));
      const between = await relayedBytes();
      const g = await op(net, client, ['get', p.cap, output]);
      cpuNote('get', c1, await cpuNow());
      if (g.bytes !== size || g.sha256 !== want) throw new Error(`paths bench (${path}): get returned other bytes`);
      gets.push(mbps(size, g.ms));
      if (relay) {
        relayed.put.push((between - before) / 1e6 / (p.ms / 1000));
        relayed.get.push(((await relayedBytes()) - between) / 1e6 / (g.ms / 1000));
      }
      note(
        `transfer: ${path} sample ${s + 1}/${samples}: put ${puts[s].toFixed(1)} MB/s, get ${gets[s].toFixed(1)} MB/s` +
          (relay ? `, relay carried ${relayed.put[s].toFixed(2)} MB/s during the put, ${relayed.get[s].toFixed(2)} during the get` : '')
      );
      await rm(input);
      await rm(output);
    }
    const round = (x: number) => +x.toFixed(2);
    const floorOf = (xs: number[]) => ({ floorMBps: round(median(xs)), floorSampleMbps: xs.map(round) });
    const row = (opName: 'put' | 'get', xs: number[]): PathRecord => ({
      op: opName,
      impl: 'p2pbackup',
      path,
      k: 3,
      n: 5,
      sizeBytes: size,
      mbps: round(median(xs)),
      samples,
      sampleMbps: xs.map(round),
      linkMBps: round(linkMBps),
      ...(relay ? { relayedMBps: round(median(relayed[opName])) } : {}),
      ...(floors.length ? floorOf(floors.map((f) => mbps(size, (opName === 'put' ? f.push : f.pull).seconds * 1000))) : {})
    });
    return [row('put', puts), row('get', gets)];
  } catch (err) {
    // What the daemons said (their logs go with the namespaces).
    for (const h of net.hosts) if (h.member) for (const l of await net.logWarnings(h, 3)) note(`transfer: ${path}: ${h.name}: ${l.slice(0, 400)}`);
    throw err;
  } finally {
    await net.cleanup();
  }
}

export async function runPaths(size: number, samples: number, only?: PathKind[]): Promise<PathRecord[]> {
  const out: PathRecord[] = [];
  for (const path of only ?? (['direct', 'own-connection', 'relay'] as const)) {
    note(`transfer: path ${path}: ${STORAGE} storage peers + client across network namespaces`);
    out.push(...(await measurePath(path, size, samples)));
  }
  return out;
}
