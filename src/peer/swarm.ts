// A local swarm for trying, demos and tests: N storage peers on loopback, each its own process with
// its own home under DIR/peers/, and DIR itself made the home of a client daemon joined to them.
// DIR/swarm.json lists every process (pid, home, peer id, addresses, API URL). Re-running on the same
// DIR reuses the homes, so identities and stored shares survive.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, mkdirSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { mkdir, readFile, rm, writeFile, rename } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { UsageError } from '../common/errors.ts';
import { limiter } from '../common/limit.ts';
import { DaemonStartError } from './errors.ts';
import { homePaths } from './home.ts';
import { initHome, isInitialized } from './init.ts';
import { readConfig, writeConfig } from './config.ts';

/**
 * Node flags every daemon is started with (here, deploy/entrypoint.sh and deploy/p2pbackup.service).
 * --min-semi-space-size=4 --max-semi-space-size=4 (MiB): a young generation of a fixed size, neither V8's 1 MiB
 * start nor its 16 MiB most. A bulk backup allocates hundreds of MB/s of short-lived objects (frames, stream
 * bookkeeping, buffer wrappers); starting at 1 MiB and growing, about one backup in four got stuck promoting them,
 * and the old generation then filled every ~100 ms: 130-140 Mark-Compacts during a 1 GiB backup instead of 1-2,
 * the client's CPU 12 s instead of 6 s (`--trace-gc`, loopback 5-peer swarm). Fixed at 16 MiB, that never happened,
 * but the two semi-spaces' pages (up to 32 MiB) stayed resident in every daemon. Fixed at 4 MiB (measured
 * 2026-12-06, loopback swarm, against 16): Mark-Compacts the same (a /usr/share backup and restore: client 47-50
 * against 47; a 1 GiB backup: 14-20 in the client's life against 13-18), Scavenges 4x as many, wall and CPU within
 * the runs' noise; peak RSS of storage peers during a backup 147-169 MiB against 172-190, of the client 416-429
 * against 461-470 (/usr/share backup), 494-523 against 531-546 (its restore), 261-280 against 274-330 (1 GiB).
 * V8 reads the sizes only when the process starts (not from NODE_OPTIONS, not from v8.setFlagsFromString later).
 * --heap-growing-percent=100: after a full collection the old generation may grow to twice what survived before
 * the next. V8 starts marking as soon as the room left under its limit is smaller than the young generation, and
 * with a small live heap (35-45 MB) its adaptive limit left 24-28 MB, under the then 16 MiB semi-spaces' young
 * generation: so it marked the whole heap again right after each collection, whatever little was promoted. Seen
 * (`--trace-gc-nvp`, `--trace-incremental-marking`) as 30-90 mark-compacts in a 1 GiB backup's client, and as 14
 * in 6 s on a storage peer behind NAT while it took a 256 MiB put (2 scavenges; the same peer not behind NAT: none),
 * where they cost a fifth of its CPU: the own-connection path ran at 0.75x direct while its transport floor was
 * 1.0x. With the flag: 12-16 mark-compacts in the backup; own-connection put/get 0.93x/0.93x of direct
 * (`bench transfer --paths-only --size 256MiB --samples 2`); idle RSS unchanged within noise (`bench idle --quick`:
 * storage peers 128/168 MiB fresh/after a backup, 129/161 without).
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--min-semi-space-size=4', '--max-semi-space-size=4', '--heap-growing-percent=100'];

/**
 * Environment every daemon is started with (here, deploy/entrypoint.sh and deploy/p2pbackup.service).
 * MALLOC_MMAP_THRESHOLD_=1048576: glibc gives every allocation of 1 MiB or more its own mapping, returned to the
 * system when freed. Without it glibc raises that threshold each time such a block is freed (up to 32 MiB), so the
 * share frames and buffers of a backup end up in the main heap, which only shrinks from its top: after backing up
 * /usr/share/doc the storage peers kept 100-120 MiB there while idle, the client 200 MiB (VmRSS 160-180 and 370
 * MiB; with the variable 140-160 and 250, bench idle). The price is a page fault per 4 KiB of each large buffer.
 * It was 128 KiB until 2026-12-04, where that price was heaviest in a tree backup (perf, page-fault events): zstd
 * builds a new context for every chunk (Node's zstdCompressSync), 0.2-2 MiB that were a fresh mapping each time,
 * cleared page by page (46% of the client's page faults; 426k faults in 15 s of a /usr/share backup, 210k at 1
 * MiB). Measured at 128 KiB / 512 KiB / 1 MiB, interleaved, `bench backup --only tree` (/usr/share): backup
 * 29.7, 30.6 / 23.0, 27.6 / 20.1, 24.3, 21.5 s; 1 GiB file unchanged (15.3, 14.8 / - / 14.8, 15.3 s). `bench idle
 * --quick`: storage peers 129/178 / 126/175 / 128/177 MiB fresh/after a backup (unchanged); the client daemon
 * after its backup 244 / 256 / 315 MiB: freed blocks under 1 MiB stay in its heap for the next backup.
 * glibc reads it when the process starts: it cannot be set from inside.
 *
 * MALLOC_ARENA_MAX=2: at most 2 malloc arenas instead of glibc's 8 per core. Each thread that allocates while
 * the others hold theirs (libuv's pool, LevelDB's, V8's helpers) may get an arena of its own, and what it frees
 * stays in that arena. Measured with `bench idle --quick` (fresh / after one backup, median of the 5 storage
 * peers): 115 / 161 MiB without, 106 / 151 MiB with; the client daemon after its backup 171 / 150 MiB. A 1 GiB
 * backup took as long (3 interleaved pairs: 14.1, 14.0, 16.1 s without, 13.7, 14.9, 14.1 s with).
 */
export const DAEMON_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '1048576', MALLOC_ARENA_MAX: '2' };

/**
 * The program a daemon runs: the sources (type stripping) when this module is a source, else the installed command
 * (bin/p2pbackup.js: a daemon from dist/'s modules). P2PBACKUP_BIN names another one: `npm test` points it at the
 * bundle it has just built (dist/bundle/p2pbackup.js), so the suite's hundreds of daemons and commands start on half
 * the CPU; the bundle runs the same sources, slower on bulk transfers (bin/p2pbackup.js says how much).
 */
export const CLI_BIN: string = process.env.P2PBACKUP_BIN
  ? resolve(process.env.P2PBACKUP_BIN)
  : fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../cli/bin.ts' : '../../bin/p2pbackup.js', import.meta.url));
const START_TIMEOUT_MS = 30_000; // a daemon that has not written daemon.json by then failed to start
/** Storage peers of a swarm started at once (after the first): enough to keep 2 cores busy, few enough for 64. */
export const SWARM_START_CONCURRENCY = 3;

export interface SwarmMember {
  pid: number;
  home: string;
  peerId: string;
  addresses: string[];
  apiUrl: string;
}

export interface SwarmInfo {
  dir: string;
  peers: SwarmMember[];
  client: SwarmMember;
}

export interface Swarm {
  info: SwarmInfo;
  /** Start (again) storage peer i, e.g. after kill(i). */
  start(i: number): Promise<SwarmMember>;
  /** Send a signal to storage peer i (SIGKILL for fault tests) and wait for it to exit. */
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  /** SIGTERM every process and wait for all of them. */
  stop(): Promise<void>;
}

export interface SwarmInit {
  dir: string;
  peers: number;
  /** Disk each storage peer offers. */
  offer?: string;
  /** Let the client's API touch any path (the benches back up /usr/share); default: home and temp dirs. */
  allowAllPaths?: boolean;
  /** Extra environment for the daemons. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Spawn `p2pbackup daemon` for a home and wait until it has published its daemon.json.
 * `wrap` is an optional command prefix that must exec (not fork) the node command it is given, so the
 * child's pid stays the daemon's pid, e.g. `['ip', 'netns', 'exec', NS]` to run it in a network namespace.
 */
export async function spawnDaemon(
  home: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
  wrap: string[] = []
): Promise<{ child: ChildProcess; member: SwarmMember }> {
  const paths = homePaths(home);
  await rm(paths.daemon, { force: true });
  const log = openSync(paths.log, 'a');
  const command = [...wrap, process.execPath, ...DAEMON_NODE_FLAGS, CLI_BIN, '--home', home, 'daemon', ...args];
  const child = spawn(command[0], command.slice(1), {
    stdio: ['ignore', log, log],
    env: { ...process.env, ...DAEMON_ENV, ...env }
  });
  closeSync(log);
  let exited: number | null = null;
  child.once('exit', (code, signal) => {
    exited = code ?? (signal ? 128 : 1);
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited !== null) {
      const tail = (await readFile(paths.log, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
      throw new DaemonStartError(home, `daemon for ${home} exited (${exited}) before it was ready; its log ends:\n${tail}`);
    }
    try {
      const d = JSON.parse(await readFile(paths.daemon, 'utf8'));
      if (d.pid === child.pid) return { child, member: { pid: d.pid, home, peerId: d.peerId, addresses: d.addresses, apiUrl: d.apiUrl } };
    } catch {}
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new DaemonStartError(home, `daemon for ${home} did not start within ${START_TIMEOUT_MS / 1000} s; see ${paths.log}`);
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startSwarm(init: SwarmInit): Promise<Swarm> {
  if (!Number.isInteger(init.peers) || init.peers < 1 || init.peers > 64) throw new UsageError(`--peers must be between 1 and 64 (got ${init.peers})`);
  const dir = init.dir;
  await mkdir(homePaths(dir).swarmPeers, { recursive: true, mode: 0o700 });
  const children: (ChildProcess | null)[] = [];
  const members: SwarmMember[] = [];
  let clientChild: ChildProcess | null = null;
  const peerHome = (i: number) => join(homePaths(dir).swarmPeers, `peer-${i}`);
  // Each home keeps one fixed port (chosen free at init), so a restarted peer is found at the address
  // the others remember.
  const loopback = async () => [`/ip4/127.0.0.1/tcp/${await freePort()}`];

  const stopAll = async () => {
    const all = [...children, clientChild].filter((c): c is ChildProcess => c != null);
    for (const c of all) c.kill('SIGTERM');
    const timer = setTimeout(() => all.forEach((c) => c.kill('SIGKILL')), 10_000);
    await Promise.all(all.map(waitExit));
    clearTimeout(timer);
  };

  const startPeer = async (i: number): Promise<SwarmMember> => {
    const home = peerHome(i);
    if (!(await isInitialized(home))) {
      await initHome(home, { listen: await loopback(), mdns: false, offer: init.offer ?? '4GiB' });
      // These storage peers serve the one client of this local swarm, which offers nothing back: as
      // dedicated helpers they extend it a grace as large as their offer (fair sharing stays on).
      const paths = homePaths(home);
      const cfg = await readConfig(paths.config);
      await writeConfig(paths.config, { ...cfg, fairness: { ...cfg.fairness, graceBytes: cfg.offer } });
    }
    // Every peer after the first joins through the first; they find the rest through the DHT.
    const boot = i === 0 ? (members[1]?.addresses ?? []) : (members[0]?.addresses ?? []);
    const { child, member } = await spawnDaemon(home, boot.length ? ['--bootstrap', ...boot] : [], init.env);
    children[i] = child;
    members[i] = member;
    return member;
  };

  try {
    // The first peer alone (the others join through it), then the rest a few at a time: each daemon's start is about
    // 1.6 s of one core (loading its modules), so one after the other a swarm of 6 peers and the client took 12 s on
    // 2 cores (the demo's "swarm up"). Every start settles before a failure is reported, so none is left running.
    await startPeer(0);
    const start = limiter(SWARM_START_CONCURRENCY);
    const rest = await Promise.allSettled(Array.from({ length: init.peers - 1 }, (_, j) => start(() => startPeer(j + 1))));
    const failed = rest.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    if (!(await isInitialized(dir))) {
      await initHome(dir, { listen: await loopback(), mdns: false, offer: '0' });
      if (init.allowAllPaths) {
        const paths = homePaths(dir);
        const cfg = await readConfig(paths.config);
        await writeConfig(paths.config, { ...cfg, api: { ...cfg.api, allowedRoots: ['/'] } });
      }
    }
    const all = members.flatMap((m) => m.addresses);
    const c = await spawnDaemon(dir, ['--bootstrap', ...all], init.env);
    clientChild = c.child;
    const info: SwarmInfo = { dir, peers: members, client: c.member };
    await writeJson(homePaths(dir).swarmInfo, info);
    return {
      info,
      async start(i) {
        const m = await startPeer(i);
        await writeJson(homePaths(dir).swarmInfo, info);
        return m;
      },
      async kill(i, signal = 'SIGKILL') {
        const child = children[i];
        if (!child) return;
        child.kill(signal);
        await waitExit(child);
        children[i] = null;
      },
      async stop() {
        await stopAll();
        await rm(homePaths(dir).swarmInfo, { force: true });
      }
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * A TCP port free on 127.0.0.1 right now, picked at random below Linux's ephemeral range (32768-60999):
 * between our check and the daemon's bind, the kernel never hands such a port to an outgoing connection or
 * to another process asking for port 0 (a port taken from bind(0) was, now and then, in CI). Every port
 * handed out is also reserved for a minute in a file under the temporary folder, so that two callers (in
 * this process or another: the test suite runs files in parallel) never receive the same port while
 * neither has bound it yet (seen in CI: two daemons given one API port, one died with EADDRINUSE). Falls
 * back to a kernel-chosen port when 50 picks are all taken.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if (reservePort(port) && (await bindOnce(port)) !== null) return port;
  }
  return (await bindOnce(0))!;
}

/** How long a port handed out by freePort stays reserved for its caller. */
const PORT_RESERVATION_MS = 60_000;

/** Claim `port` for this caller: false when another caller claimed it less than a minute ago. */
function reservePort(port: number): boolean {
  const dir = join(tmpdir(), 'p2pbackup-ports');
  const file = join(dir, String(port));
  try {
    mkdirSync(dir, { recursive: true });
    closeSync(openSync(file, 'wx'));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return true; // no shared folder: the bind check alone
  }
  try {
    if (Date.now() - statSync(file).mtimeMs < PORT_RESERVATION_MS) return false;
    const now = new Date();
    utimesSync(file, now, now); // an old reservation: its caller has bound the port or given up
    return true;
  } catch {
    return false;
  }
}

/** Bind `port` on 127.0.0.1 and release it: the bound port, or null when it is taken. */
function bindOnce(port: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' || e.code === 'EACCES' ? resolve(null) : reject(e)));
    srv.listen(port, '127.0.0.1', () => {
      const bound = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(bound));
    });
  });
}

async function writeJson(path: string, value: unknown) {
  await writeFile(`${path}.tmp`, JSON.stringify(value, null, 2) + '\n');
  await rename(`${path}.tmp`, path);
}

/** `p2pbackup swarm`: start, report, and stop everything on SIGINT/SIGTERM. */
export async function runSwarm(opts: { dir: string; peers: number; onReady: (info: SwarmInfo) => void }): Promise<void> {
  const swarm = await startSwarm({ dir: opts.dir, peers: opts.peers });
  // Handlers before the ready line: whoever reads it may send SIGINT at once.
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  opts.onReady(swarm.info);
  await stopped;
  await swarm.stop();
}
