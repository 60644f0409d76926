// `node bench/index.ts idle [--json] [--quick] [--window SECONDS] [--settle SECONDS] [--tree PATH] [--rows fresh,after,floor]`:
// what an idle swarm costs its owners' machines (issue 20: an idle storage peer <= 100 MB RSS and <= 0.2%
// of a core, also after work).
//
// A local swarm of 5 storage peers + the client daemon (src/peer/swarm.ts: one process each, loopback, the
// daemons' own node flags and environment) is started, left alone for --settle seconds (default 30, --quick 10: start-up work
// done, the DHT joined), then measured for --window seconds (default 300, --quick 60): row "fresh". Then the
// client backs up --tree (default /usr/share/doc) through its API, the swarm settles again, and a second
// window is measured: row "after one backup". Row "floor": 5 processes each running only the net layer's
// libp2p node (bench/idle-floor.ts: createNode, so TCP + Noise + Yamux, identify, ping, Kad-DHT; no store, no
// API, no peer, no reachability checks; the daemons' node flags and environment), joined to each other the same
// way, measured over the same window: no idle daemon can cost less than that on this machine with this stack.
// The daemons run as installed (bin/p2pbackup.js: dist/'s modules; bench/index.ts); the floor's nodes run from source
// (type stripping: some MiB of RSS more than compiled code would take).
//
// Per process: CPU = (utime + stime) ticks from /proc/PID/stat over the window (CLK_TCK 100) as % of one
// core; RSS = VmRSS from /proc/PID/status at the end of the window (it counts the pages of the node binary each
// process touched, about 60 MiB, shared by all of them: Shared_Clean in /proc/PID/smaps_rollup). Each row reports the median and the
// highest over the 5 storage peers (the client daemon beside them, for information).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient } from '../src/api/client.ts';
import { homePaths } from '../src/peer/home.ts';
import { DAEMON_ENV, DAEMON_NODE_FLAGS } from '../src/peer/swarm.ts';
import { formatTable, median, note, parseFlags, printJson } from './common.ts';
import { arg, openScope } from './transfer.ts';
import { walk } from './backup.ts';

const PEERS = 5;
const CLK_TCK = 100; // Linux
const FLOOR = fileURLToPath(new URL('./idle-floor.ts', import.meta.url));

export interface IdleRow {
  state: 'fresh' | 'after one backup' | 'floor';
  windowSeconds: number;
  /** Storage peers: median and highest VmRSS at the end of the window, MiB. */
  rssMedianMB: number;
  rssMaxMB: number;
  /** Storage peers: median and highest CPU over the window, % of one core. */
  cpuMedianPct: number;
  cpuMaxPct: number;
  /** The client daemon (null for the floor). */
  clientRssMB: number | null;
  clientCpuPct: number | null;
  /** Per storage peer, in swarm order. */
  peers: { rssMB: number; cpuPct: number }[];
}

interface Sample {
  ticks: number;
  rssKB: number;
}

async function sample(pid: number): Promise<Sample> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!rss) throw new Error(`no VmRSS in /proc/${pid}/status`);
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3; utime, stime are 14, 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { ticks: Number(fields[11]) + Number(fields[12]), rssKB: Number(rss[1]) };
}

/** CPU % of one core over `seconds` and VmRSS (MiB) at the end, for each pid. */
export async function measureWindow(pids: number[], seconds: number, signal: AbortSignal): Promise<{ rssMB: number; cpuPct: number }[]> {
  const before = await Promise.all(pids.map(sample));
  const t0 = performance.now();
  await sleep(seconds * 1000, undefined, { signal });
  const after = await Promise.all(pids.map(sample));
  const wall = (performance.now() - t0) / 1000;
  return after.map((a, i) => ({
    rssMB: +(a.rssKB / 1024).toFixed(1),
    cpuPct: +((((a.ticks - before[i].ticks) / CLK_TCK) * 100) / wall).toFixed(3)
  }));
}

function rowOf(
  state: IdleRow['state'],
  windowSeconds: number,
  peers: { rssMB: number; cpuPct: number }[],
  client: { rssMB: number; cpuPct: number } | null
): IdleRow {
  return {
    state,
    windowSeconds,
    rssMedianMB: median(peers.map((p) => p.rssMB)),
    rssMaxMB: Math.max(...peers.map((p) => p.rssMB)),
    cpuMedianPct: +median(peers.map((p) => p.cpuPct)).toFixed(3),
    cpuMaxPct: Math.max(...peers.map((p) => p.cpuPct)),
    clientRssMB: client?.rssMB ?? null,
    clientCpuPct: client?.cpuPct ?? null,
    peers
  };
}

// ---- floor: the net layer's node alone, one per process -------------------------------------------

async function spawnFloorNode(bootstrap: string[]): Promise<{ child: ChildProcess; addr: string }> {
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, FLOOR, ...bootstrap], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...DAEMON_ENV }
  });
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    if (line.startsWith('{')) return { child, addr: JSON.parse(line).addr };
  }
  throw new Error('floor node exited before it was ready');
}

async function measureFloor(settle: number, window: number, signal: AbortSignal): Promise<{ rssMB: number; cpuPct: number }[]> {
  const nodes: ChildProcess[] = [];
  try {
    const first = await spawnFloorNode([]);
    nodes.push(first.child);
    for (let i = 1; i < PEERS; i++) nodes.push((await spawnFloorNode([first.addr])).child);
    await sleep(settle * 1000, undefined, { signal });
    return await measureWindow(
      nodes.map((c) => c.pid!),
      window,
      signal
    );
  } finally {
    await Promise.all(
      nodes.map(
        (c) =>
          new Promise<void>((res) => {
            if (c.exitCode !== null || c.signalCode !== null) return res();
            c.once('exit', () => res());
            c.kill('SIGTERM');
          })
      )
    );
  }
}

// ---- the run ------------------------------------------------------------------------------------

export async function run(argv: string[]): Promise<void> {
  const flags = parseFlags(argv);
  const window = Number(arg(flags.rest, '--window', flags.quick ? '60' : '300'));
  const settle = Number(arg(flags.rest, '--settle', flags.quick ? '10' : '30'));
  const tree = resolve(arg(flags.rest, '--tree', '/usr/share/doc'));
  const want = new Set(arg(flags.rest, '--rows', 'fresh,after,floor').split(','));
  for (const r of want) if (!['fresh', 'after', 'floor'].includes(r)) throw new Error(`--rows: unknown row "${r}" (fresh, after, floor)`);
  if (!(window > 0) || !(settle >= 0)) throw new Error('--window must be > 0 and --settle >= 0 (seconds)');

  const scope = await openScope('idle');
  const rows: IdleRow[] = [];
  let dataset = '';
  try {
    if (want.has('fresh') || want.has('after')) {
      note(`idle: starting a swarm of ${PEERS} storage peers + the client daemon`);
      const swarm = await scope.startSwarm('swarm', PEERS);
      const { info } = swarm;
      const peerPids = info.peers.map((p) => p.pid);
      const measure = async (state: IdleRow['state']) => {
        note(`idle: ${state}: settling ${settle} s, then measuring ${window} s`);
        await sleep(settle * 1000, undefined, { signal: scope.signal });
        const m = await measureWindow([...peerPids, info.client.pid], window, scope.signal);
        const row = rowOf(state, window, m.slice(0, PEERS), m[PEERS]);
        note(`idle:   peers RSS median ${row.rssMedianMB} MiB (max ${row.rssMaxMB}), CPU median ${row.cpuMedianPct}% (max ${row.cpuMaxPct}%)`);
        rows.push(row);
      };
      if (want.has('fresh')) await measure('fresh');
      if (want.has('after')) {
        const ds = await walk(tree, false);
        dataset = `${tree} (${ds.files} files, ${(ds.bytes / 1e6).toFixed(1)} MB)`;
        note(`idle: backing up ${dataset}`);
        const api = await ApiClient.at(info.client.apiUrl, homePaths(join(scope.dir, 'swarm')));
        const t0 = performance.now();
        const r: any = await api.operation('POST', '/api/backup', { path: tree }, { signal: scope.signal });
        const st = r?.lastStats;
        if (!st || st.files !== ds.files) throw new Error(`backup of ${tree}: ${st?.files} files in the snapshot, the tree has ${ds.files}`);
        note(`idle:   backed up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
        await measure('after one backup');
      }
      await swarm.stop();
    }

    if (want.has('floor')) {
      note(`idle: floor: ${PEERS} bare net-layer nodes (createNode, no store/API/peer), settling ${settle} s, measuring ${window} s`);
      const m = await measureFloor(settle, window, scope.signal);
      rows.push(rowOf('floor', window, m, null));
    }
  } finally {
    await scope.close();
  }

  if (flags.json) {
    printJson(rows.map((r) => ({ ...r, dataset })));
    return;
  }
  const out = (s: string) => process.stdout.write(s + '\n');
  out(`Idle cost per storage peer: a local swarm of ${PEERS} storage peers + the client daemon (one process each, loopback),`);
  out(`left alone ${settle} s, then measured over ${window} s. CPU = utime+stime over the window, % of one core; RSS = VmRSS at its end`);
  out('(about 60 MiB of it the node binary, shared by every node process).');
  out(`Median and highest over the ${PEERS} peers; the client daemon beside them. "after one backup": the client backed up`);
  out(`${dataset} first. "floor": ${PEERS} processes running only the net layer's libp2p node (TCP, Noise, Yamux, identify, ping, Kad-DHT).`);
  const f = (x: number | null, d: number) => (x === null ? '-' : x.toFixed(d));
  out(
    formatTable(
      ['state', 'window s', 'RSS MiB (median)', 'RSS MiB (max)', 'CPU % (median)', 'CPU % (max)', 'client RSS MiB', 'client CPU %'],
      rows.map((r) => [
        r.state,
        r.windowSeconds,
        f(r.rssMedianMB, 1),
        f(r.rssMaxMB, 1),
        f(r.cpuMedianPct, 2),
        f(r.cpuMaxPct, 2),
        f(r.clientRssMB, 1),
        f(r.clientCpuPct, 2)
      ])
    )
  );
}
