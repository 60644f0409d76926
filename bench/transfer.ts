// `node bench/index.ts transfer [--json] [--quick] [--size 1GiB] [--samples 3] [--stream-size 256MiB] [--no-paths | --paths-only] [--paths direct,own-connection,relay]`:
// put and get of one file through a local swarm of 5 storage peers + the client daemon (each its own
// process, loopback, 3-of-5, happy 4), MB/s of plaintext (MB = 1e6), peak RSS (VmHWM) and CPU time per
// process; the raw libp2p stream throughput between two processes on loopback as the ceiling. Then, as
// root with network namespaces, the same put and get through each path storage traffic can take (direct,
// the connections peers behind NAT keep, a relay whose uplink is shaped to 40 Mbit/s): bench/transfer-paths.ts.
//
// Every sample puts a *new* file of fresh random bytes: re-putting the same convergent file would find its
// shares already stored and cost nothing. The put is timed from the API request to its result (both passes
// over the file: convergent-key hash, then encrypt + erasure-code + stream the 5 shares); the get from the
// request until the restored file is written (not fsynced) and its streaming sha256 checked. The input is
// freshly written, so the put reads it from the page cache. Each sample's files are removed after it; the
// shares stay on the peers until the swarm's temp dir is removed.
import { createHash, randomFillSync } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ChildProcess } from 'node:child_process';
import { ApiClient } from '../src/api/client.ts';
import { homePaths } from '../src/peer/home.ts';
import { startSwarm, type Swarm } from '../src/peer/swarm.ts';
import { parseSize } from '../src/store/index.ts';
import { formatBytes, formatTable, mbps, median, note, parseFlags, printJson } from './common.ts';
import { measureStream } from './transfer-stream.ts';
import { pathsSkipReason, runPaths, RELAY_LINK, type PathKind, type PathRecord } from './transfer-paths.ts';

const PEERS = 5;
const K = 3;
const N = 5;
const GEN_CHUNK = 4 << 20; // test-file generation buffer
const STREAM_CHUNK = 64 << 10; // chunk of the raw stream reference (transfer-stream's default)

interface ThroughputRecord {
  op: 'put' | 'get' | 'stream';
  impl: 'p2pbackup' | 'libp2p';
  k?: number;
  n?: number;
  sizeBytes: number;
  /** Median over the samples, MB/s (MB = 1e6). */
  mbps: number;
  samples: number;
  sampleMbps: number[];
}

interface RssRecord {
  op: 'rss';
  process: string;
  pid: number;
  peakRssMB: number;
  /** user + system CPU seconds over the process's life (swarm start included). */
  cpuSeconds: number;
}

export function arg(rest: readonly string[], name: string, dflt: string): string {
  const i = rest.indexOf(name);
  if (i < 0) return dflt;
  const v = rest[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value`);
  return v;
}

/** Write `size` random bytes to `path` in chunks; returns their sha256 (hex). */
export async function generate(path: string, size: number): Promise<string> {
  const buf = Buffer.allocUnsafe(Math.min(GEN_CHUNK, size));
  const hash = createHash('sha256');
  const fh = await open(path, 'w', 0o600);
  try {
    for (let done = 0; done < size;) {
      const piece = buf.subarray(0, Math.min(buf.length, size - done));
      randomFillSync(piece);
      hash.update(piece);
      let off = 0;
      while (off < piece.length) off += (await fh.write(piece, off, piece.length - off)).bytesWritten;
      done += piece.length;
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

export interface PutOutcome {
  cap: string;
  happiness: number;
  placed: number;
  ms: number;
  /** How each holder of the first pack was reached (PutResult.paths). */
  paths: Record<string, { path: string; relay: string | null }>;
}

/** Put through the API as the CLI does (?progress=1: NDJSON, so no HTTP timeout on long puts). */
export async function put(api: ApiClient, path: string, signal: AbortSignal): Promise<PutOutcome> {
  const t0 = performance.now();
  let placed = 0;
  const r = await api.operation(
    'POST',
    `/api/files?progress=1&k=${K}&n=${N}`,
    { path },
    {
      signal,
      onEvent: (e) => {
        if (e?.type === 'client:upload:share-placed') placed++;
      }
    }
  );
  return { cap: r.cap, happiness: r.happiness, placed, ms: performance.now() - t0, paths: r.paths ?? {} };
}

/** Get by cap, streaming to `out` while hashing; returns { sha256, bytes, ms }. */
export async function get(api: ApiClient, cap: string, out: string, signal: AbortSignal): Promise<{ sha256: string; bytes: number; ms: number }> {
  const t0 = performance.now();
  const res = await api.request('GET', `/api/files/${encodeURIComponent(cap)}`, { signal });
  const hash = createHash('sha256');
  let bytes = 0;
  await pipeline(
    Readable.fromWeb(res.body as any),
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        hash.update(chunk);
        bytes += chunk.length;
        yield chunk;
      }
    },
    createWriteStream(out, { mode: 0o600 })
  );
  return { sha256: hash.digest('hex'), bytes, ms: performance.now() - t0 };
}

/** Peak RSS (VmHWM, MB = 2^20 bytes) and CPU seconds (utime + stime) of a live process. */
export async function usage(pid: number | 'self'): Promise<{ peakRssMB: number; cpuSeconds: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const hwm = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
  if (!hwm) throw new Error(`no VmHWM in /proc/${pid}/status`);
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3; utime, stime are 14, 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { peakRssMB: Math.round(Number(hwm[1]) / 1024), cpuSeconds: +(ticks / 100).toFixed(1) }; // CLK_TCK = 100 on Linux
}

/** A bench's temp dir and the swarms (and other child processes) started in it, all stopped and the dir
 *  removed by close(), also on Ctrl-C / SIGTERM (then the process exits 130 / 143). */
export interface BenchScope {
  readonly dir: string;
  /** Aborted on Ctrl-C / SIGTERM: pass it to API requests (an open request would keep the client daemon
   *  from shutting down for 10 s). */
  readonly signal: AbortSignal;
  /** startSwarm in DIR/sub; the swarm's stop() also forgets it. A swarm still starting at Ctrl-C is
   *  waited for and then stopped: no orphaned daemons. */
  startSwarm(sub: string, peers: number): Promise<Swarm>;
  /** A child process to SIGTERM on Ctrl-C / close (e.g. a reference tool); forgotten when it exits. */
  track(child: ChildProcess): void;
  /**
   * Set `path` aside (renamed into DIR/trash) instead of deleting it; close() deletes everything at once.
   * On ext4 without a journal (as on the CI machines) a file created within a few minutes of a mass
   * delete pays a scan of the recently deleted inodes (`recently_deleted()` in the inode allocator):
   * creating 46k files took 17-30 s instead of 1.6 s right after deleting 46k others. A restore measured
   * after the previous run's tree was deleted measured that, not the restore.
   */
  discard(path: string): Promise<void>;
  close(): Promise<void>;
}

export async function openScope(bench: string): Promise<BenchScope> {
  const dir = await mkdtemp(join(tmpdir(), `p2pbackup-bench-${bench}-`));
  const inflight = new AbortController();
  const swarms = new Set<Promise<Swarm>>();
  const children = new Set<ChildProcess>();
  const stopSwarm = async (p: Promise<Swarm>) => {
    swarms.delete(p);
    const swarm = await p.catch(() => null); // a failed start has stopped its own processes
    await swarm?.stop().catch((e) => note(`${bench}: stopping a swarm: ${e?.message ?? e}`));
  };
  let closing: Promise<void> | null = null;
  let trashed = 0;
  const close = () =>
    (closing ??= (async () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      for (const c of children) c.kill('SIGTERM');
      await Promise.all([...swarms].map(stopSwarm));
      await rm(dir, { recursive: true, force: true });
    })());
  const onSignal = (sig: NodeJS.Signals) => {
    note(`${bench}: ${sig}: stopping the swarm(s) and removing ${dir}`);
    inflight.abort();
    void close().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    dir,
    signal: inflight.signal,
    async startSwarm(sub, peers) {
      inflight.signal.throwIfAborted();
      const p = startSwarm({ dir: join(dir, sub), peers, allowAllPaths: true });
      swarms.add(p);
      const swarm = await p.catch((e) => {
        swarms.delete(p);
        throw e;
      });
      inflight.signal.throwIfAborted();
      return { ...swarm, stop: () => stopSwarm(p) };
    },
    track(child) {
      children.add(child);
      child.once('exit', () => children.delete(child));
    },
    async discard(path) {
      const trash = join(dir, 'trash');
      await mkdir(trash, { recursive: true });
      await rename(path, join(trash, String(trashed++))).catch(async (e) => {
        if (e.code === 'EXDEV')
          await rm(path, { recursive: true, force: true }); // another filesystem: no help there
        else if (e.code !== 'ENOENT') throw e;
      });
    },
    close
  };
}

export async function run(argv: string[]): Promise<void> {
  const flags = parseFlags(argv);
  const size = parseSize(arg(flags.rest, '--size', flags.quick ? '64MiB' : '1GiB'));
  const samples = Number(arg(flags.rest, '--samples', flags.quick ? '1' : '3'));
  if (!Number.isInteger(samples) || samples < 1) throw new Error('--samples must be a whole number >= 1');
  const streamSize = parseSize(arg(flags.rest, '--stream-size', flags.quick ? '64MiB' : '256MiB'));

  const pathsOnly = flags.rest.includes('--paths-only');
  const which = arg(flags.rest, '--paths', 'direct,own-connection,relay').split(',') as PathKind[];
  for (const w of which) if (!['direct', 'own-connection', 'relay'].includes(w)) throw new Error(`--paths: unknown path ${w}`);
  const withPaths = !flags.rest.includes('--no-paths');
  const noPaths = withPaths ? pathsSkipReason() : 'not asked for (--no-paths)';
  if (noPaths) note(`transfer: paths section skipped: ${noPaths}`);
  const pathRows: PathRecord[] = [];
  if (pathsOnly) {
    if (noPaths) throw new Error(`--paths-only: ${noPaths}`);
    pathRows.push(...(await runPaths(size, samples, which)));
    printPaths(pathRows, flags.json);
    return;
  }

  const scope = await openScope('transfer');
  const { dir } = scope;

  const puts: number[] = [];
  const gets: number[] = [];
  const rss: RssRecord[] = [];
  const streams: number[] = [];
  try {
    note(`transfer: starting ${PEERS} storage peers + client daemon under ${dir}`);
    const t0 = performance.now();
    const swarm = await scope.startSwarm('.', PEERS);
    const { info } = swarm;
    note(`transfer: swarm up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const api = await ApiClient.at(info.client.apiUrl, homePaths(dir));

    for (let s = 0; s < samples; s++) {
      const input = join(dir, `input-${s}.bin`);
      const output = join(dir, `output-${s}.bin`);
      note(`transfer: sample ${s + 1}/${samples}: generating ${formatBytes(size)} of random bytes`);
      const want = await generate(input, size);
      const p = await put(api, input, scope.signal);
      if (p.placed !== N) throw new Error(`put placed ${p.placed} of ${N} shares (happiness ${p.happiness}): not a full upload`);
      puts.push(mbps(size, p.ms));
      note(`transfer:   put ${(p.ms / 1000).toFixed(1)} s = ${puts[s].toFixed(1)} MB/s (${p.placed} shares written, happiness ${p.happiness})`);
      await rm(input);
      const g = await get(api, p.cap, output, scope.signal);
      if (g.bytes !== size) throw new Error(`get returned ${g.bytes} bytes, expected ${size}`);
      if (g.sha256 !== want) throw new Error(`get returned different bytes (sha256 ${g.sha256} != ${want})`);
      gets.push(mbps(size, g.ms));
      note(`transfer:   get ${(g.ms / 1000).toFixed(1)} s = ${gets[s].toFixed(1)} MB/s (sha256 verified)`);
      await rm(output);
    }

    const procs: [string, number | 'self'][] = [
      ['client', info.client.pid],
      ...info.peers.map((m, i): [string, number] => [`peer-${i}`, m.pid]),
      ['bench', 'self']
    ];
    for (const [name, pid] of procs) rss.push({ op: 'rss', process: name, pid: pid === 'self' ? process.pid : pid, ...(await usage(pid)) });

    // The reference runs after the swarm is gone, so the two do not compete for the cores.
    await swarm.stop();
    for (let s = 0; s < samples; s++) {
      note(`transfer: libp2p stream reference ${s + 1}/${samples}: ${formatBytes(streamSize)}`);
      const r = await measureStream(streamSize, STREAM_CHUNK);
      streams.push(r.MBps);
    }
  } finally {
    await scope.close();
  }
  // After the loopback swarm is gone, so the two never compete for the cores.
  if (!noPaths) pathRows.push(...(await runPaths(size, samples, which)));

  const round = (x: number) => +x.toFixed(1);
  const tput: ThroughputRecord[] = [
    { op: 'put', impl: 'p2pbackup', k: K, n: N, sizeBytes: size, mbps: round(median(puts)), samples, sampleMbps: puts.map(round) },
    { op: 'get', impl: 'p2pbackup', k: K, n: N, sizeBytes: size, mbps: round(median(gets)), samples, sampleMbps: gets.map(round) },
    { op: 'stream', impl: 'libp2p', sizeBytes: streamSize, mbps: round(median(streams)), samples, sampleMbps: streams.map(round) }
  ];
  if (flags.json) {
    printJson([...tput, ...rss, ...pathRows]);
    return;
  }
  const out = (s: string) => process.stdout.write(s + '\n');
  out(`Transfer through a local swarm: ${PEERS} storage peers + client daemon, one process each, loopback, ${K}-of-${N}`);
  out(`MB/s of plaintext (MB = 1e6), median of ${samples} sample(s); each put sample is a new random file (a re-put of`);
  out('the same convergent file would be a no-op); stream = raw libp2p TCP+Noise+Yamux, 2 processes, 64 KiB writes.');
  out(
    formatTable(
      ['op', 'impl', 'code', 'size', 'MB/s', 'samples MB/s'],
      tput.map((r) => [
        r.op,
        r.impl,
        r.k ? `${r.k}-of-${r.n}` : '-',
        formatBytes(r.sizeBytes),
        r.mbps.toFixed(1),
        r.sampleMbps.map((x) => x.toFixed(1)).join(' ')
      ])
    )
  );
  out('');
  out('Peak RSS (VmHWM, MiB) and CPU seconds (user+sys, whole life incl. start-up) per process, read after the runs:');
  out(
    formatTable(
      ['process', 'pid', 'peak RSS MiB', 'CPU s'],
      rss.map((r) => [r.process, r.pid, r.peakRssMB, r.cpuSeconds.toFixed(1)])
    )
  );
  printPaths(pathRows, false);
}

/** The paths section's table (or its JSON when that is all that ran). */
function printPaths(rows: PathRecord[], json: boolean): void {
  if (json) {
    printJson(rows);
    return;
  }
  if (!rows.length) return;
  const out = (s: string) => process.stdout.write(s + '\n');
  out('');
  out(`Through each path across network namespaces: 5 storage peers (behind their own NAT but for "direct") + client, 3-of-5;`);
  out(`relay: the client behind NAT too, the relay's uplink shaped by tc tbf to ${RELAY_LINK}. link: raw TCP MB/s of the path (a storage`);
  out(`peer to the client; relay: its shaped uplink); relayed: what the relay carried per second of the row's op. floor: the`);
  out(`transport alone in the same namespaces (bench/floor-transport.ts: the op's bytes over TCP + Noise + Yamux, dropped on`);
  out(`arrival), MB/s of plaintext; of floor = MB/s / floor. vs direct = this path's MB/s (and floor) / the direct row's.`);
  const direct = (op: string) => rows.find((r) => r.path === 'direct' && r.op === op);
  const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? (a / b).toFixed(2) : '-');
  out(
    formatTable(
      ['op', 'path', 'size', 'MB/s', 'samples MB/s', 'link MB/s', 'relayed MB/s', 'floor MB/s', 'of floor', 'vs direct', 'floor vs direct'],
      rows.map((r) => [
        r.op,
        r.path,
        formatBytes(r.sizeBytes),
        r.mbps.toFixed(2),
        r.sampleMbps.map((x) => x.toFixed(2)).join(' '),
        r.linkMBps.toFixed(2),
        r.relayedMBps?.toFixed(2) ?? '-',
        r.floorMBps?.toFixed(2) ?? '-',
        ratio(r.mbps, r.floorMBps),
        r.path === 'direct' ? '-' : ratio(r.mbps, direct(r.op)?.mbps),
        r.path === 'direct' || r.floorMBps === undefined ? '-' : ratio(r.floorMBps, direct(r.op)?.floorMBps)
      ])
    )
  );
}
