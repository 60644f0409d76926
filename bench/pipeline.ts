// Pipeline benchmark: whole encode path (hash pass + seal + erasure + trees, shares written to temp files) and
// verified decode of a generated stream, for 3-of-5 and 10-of-14, plus sealing alone against two JS XChaCha libraries.
//   node bench/index.ts pipeline [--size 1GiB] [--samples 7] [--json] [--no-random]
// encode rows: impl 'p2pbackup' = convergent key (two passes: hash, then encode); 'p2pbackup-randomkey' = one pass.
// Timed: encodeFile() from call to resolve on a generated input (1 MiB views into a random pool: no copy, no I/O),
// including writing every share to its own temp file (FileHandle.write, page cache, no fsync; the sink releases
// chunks once written, so the encoder reuses its block buffers). Decode rows: decodeFile() reading those files
// back through verified ShareSources. MB/s are 1e6 bytes/s of plaintext, wall clock. threads 1: all encoding on
// the main thread (file writes run on libuv's pool, behind the encoding); cpuMBps = the same plaintext over the
// main thread's CPU seconds (Linux; what one dedicated core would give when the machine is shared).
// floor rows: the native primitives alone on the same bytes, with no pipeline and no I/O: SHA-256 of the plaintext,
// seal of each segment, Reed-Solomon in place, SHA-256 of every block; the most any encode can reach on one core.
// threads N: N files at once, one per worker thread (--threads N, default all cores).
// rssMB = peak RSS sampled per segment (one thread).
import { open, mkdtemp, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { XChaCha20Poly1305 } from '@stablelib/xchacha20poly1305';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { encodeFile, decodeFile, type FileInput, type ShareSink, type ShareSource } from '../src/format/index.ts';
import { segmentSealer, segmentNonce } from '../src/crypto/index.ts';
import { createCodec } from '../src/erasure/index.ts';
import { parseSize } from '../src/store/index.ts';

interface Row { op: string; k?: number; m?: number; impl: string; threads: number; mbps: number; cpuMBps?: number; rssMB?: number }

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

const MiB = 1024 * 1024;
const POOL = new Uint8Array(16 * MiB);
randomFillSync(POOL);

/** A generated, re-readable stream: 1 MiB chunks cut from a random pool at shifting offsets (never stored). */
function generated(size: number): FileInput {
  return {
    size,
    async *open() {
      let o = 0, i = 0;
      while (o < size) {
        const len = Math.min(MiB, size - o);
        const start = (i * 4099) % (POOL.length - MiB);
        yield POOL.subarray(start, start + len);
        o += len; i++;
      }
    },
  };
}

/** CPU seconds used so far by the calling thread (Linux /proc; NaN elsewhere). */
function threadCpu(): number {
  try { return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e9; } catch { return NaN; }
}

let peakRss = 0;
const sampleRss = () => { const r = process.memoryUsage.rss(); if (r > peakRss) peakRss = r; };

async function fileSink(dir: string, n: number): Promise<ShareSink & { handles: FileHandle[]; pos: number[] }> {
  const handles = await Promise.all(Array.from({ length: n }, (_, i) => open(join(dir, `share.${i}`), 'w+')));
  const pos = new Array(n).fill(0);
  return {
    handles, pos,
    releasesChunks: true, // FileHandle.write resolves once the kernel has the bytes
    async write(i, chunk) { const at = pos[i]; pos[i] += chunk.length; await handles[i].write(chunk, 0, chunk.length, at); },
    async close() {},
  };
}

function fileSource(i: number, fh: FileHandle, size: number): ShareSource {
  return {
    shareNum: i, size,
    async read(offset, length) {
      const b = Buffer.allocUnsafe(length);
      const { bytesRead } = await fh.read(b, 0, length, offset);
      return bytesRead === length ? b : b.subarray(0, bytesRead);
    },
  };
}

export async function pipeline(size: number, k: number, n: number, convergent: boolean): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), 'p2pb-bench-'));
  try {
    const sink = await fileSink(dir, n);
    peakRss = process.memoryUsage.rss();
    let t = performance.now();
    const cpu0 = threadCpu();
    const keying = convergent ? { convergenceSecret: new Uint8Array(32).fill(1) } : { randomKey: true };
    const r = await encodeFile(generated(size), { k, n, ...keying, sink, onProgress: sampleRss });
    const encSec = (performance.now() - t) / 1000;
    const encCpu = threadCpu() - cpu0;
    const encRss = peakRss;
    const sources = sink.handles.map((fh, i) => fileSource(i, fh, sink.pos[i]));
    peakRss = process.memoryUsage.rss();
    t = performance.now();
    const cpu1 = threadCpu();
    let got = 0;
    for await (const chunk of decodeFile(r.cap as never, sources, { onProgress: sampleRss })) got += chunk.length;
    const decSec = (performance.now() - t) / 1000;
    const decCpu = threadCpu() - cpu1;
    if (got !== size) throw new Error(`decoded ${got} of ${size} bytes`);
    await Promise.all(sink.handles.map((h) => h.close()));
    return [
      { op: 'encode', k, m: n - k, impl: `p2pbackup${convergent ? '' : '-randomkey'}`, threads: 1, mbps: size / 1e6 / encSec, cpuMBps: size / 1e6 / encCpu, rssMB: encRss / 1e6 },
      { op: 'decode', k, m: n - k, impl: 'p2pbackup', threads: 1, mbps: size / 1e6 / decSec, cpuMBps: size / 1e6 / decCpu, rssMB: peakRss / 1e6 },
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The floor of a convergent encode on one core: the same native work as encodeFile on `size` bytes of the same
 * input, in tight loops with no pipeline, no copies out and no I/O (SHA-256 of the plaintext, seal of each 1 MiB
 * segment into the codec's shards, Reed-Solomon in place, SHA-256 of every block). Tree nodes (a few thousand
 * 64-byte hashes) are left out.
 */
function floor(size: number, k: number, n: number): Row {
  const codec = createCodec({ dataShards: k, parityShards: n - k });
  const bs = Math.ceil((MiB + 16) / k);
  const set = codec.allocShards(bs);
  const data = set.shards.slice(0, k);
  const sealer = segmentSealer(new Uint8Array(32).fill(1));
  const segs = Math.ceil(size / MiB);
  const piece = (i: number) => { const start = (i * 4099) % (POOL.length - MiB); return POOL.subarray(start, start + MiB); };
  const t = performance.now();
  const cpu0 = threadCpu();
  const h = createHash('sha256');
  for (let i = 0; i < segs; i++) h.update(piece(i));
  h.digest();
  for (let i = 0; i < segs; i++) {
    sealer.sealInto(i, [piece(i)], data);
    codec.encodeShardSet(set);
    for (const b of set.shards) createHash('sha256').update(b).digest();
  }
  const sec = (performance.now() - t) / 1000;
  const cpu = threadCpu() - cpu0;
  return { op: 'floor', k, m: n - k, impl: 'native primitives only', threads: 1, mbps: (segs * MiB) / 1e6 / sec, cpuMBps: (segs * MiB) / 1e6 / cpu };
}

/** Seal 1 MiB messages for at least `ms` milliseconds; returns MB/s. */
function sealSample(impl: string, ms: number): number {
  const key = new Uint8Array(32).fill(3);
  const msg = POOL.subarray(0, MiB);
  const ours = segmentSealer(key);
  const out = new Uint8Array(MiB + 16);
  const stable = new XChaCha20Poly1305(key);
  let bytes = 0, i = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    if (impl === 'p2pbackup') ours.sealInto(i, [msg], out);
    else if (impl === '@stablelib/xchacha20poly1305') stable.seal(segmentNonce(i), msg);
    else xchacha20poly1305(key, segmentNonce(i)).encrypt(msg);
    bytes += msg.length; i++;
  }
  return bytes / 1e6 / ((performance.now() - t0) / 1000);
}

async function parallelPipeline(size: number, k: number, n: number, threads: number): Promise<Row[]> {
  const per = Math.floor(size / threads);
  const results = await Promise.all(Array.from({ length: threads }, () => new Promise<Row[]>((resolve, reject) => {
    const w = new Worker(new URL('./pipeline-worker.ts', import.meta.url), { workerData: { size: per, k, n } });
    w.once('message', resolve);
    w.once('error', reject);
  })));
  // Each worker reports its own encode and decode seconds; the aggregate uses the slowest of each.
  const slowest = (op: string) => Math.max(...results.map((r) => per / 1e6 / r.find((x) => x.op === op)!.mbps));
  return [
    { op: 'encode', k, m: n - k, impl: 'p2pbackup', threads, mbps: (per * threads) / 1e6 / slowest('encode') },
    { op: 'decode', k, m: n - k, impl: 'p2pbackup', threads, mbps: (per * threads) / 1e6 / slowest('decode') }
  ];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export async function run(argv: string[]): Promise<void> {
  const json = argv.includes('--json');
  const size = parseSize(arg(argv, '--size') ?? '1GiB');
  const samples = Math.max(7, Number(arg(argv, '--samples') ?? 7));
  const rows: Row[] = [];
  for (const [k, n] of [[3, 5], [10, 14]]) rows.push(...(await pipeline(size, k, n, true)), floor(size, k, n));
  // All cores: one file per worker thread at once (as a backup encodes several files in parallel);
  // MB/s is the total plaintext over the wall time of the slowest worker.
  const threads = Number(arg(argv, '--threads') ?? availableParallelism());
  if (threads > 1) for (const [k, n] of [[3, 5], [10, 14]]) rows.push(...(await parallelPipeline(size, k, n, threads)));
  // Random keys skip the plaintext-hashing pass; decode rows repeat the measurement.
  if (!argv.includes('--no-random')) for (const [k, n] of [[3, 5], [10, 14]]) rows.push((await pipeline(size, k, n, false))[0]);
  const impls = ['p2pbackup', '@stablelib/xchacha20poly1305', '@noble/ciphers'];
  const results = new Map<string, number[]>(impls.map((i) => [i, []]));
  for (let s = 0; s < samples; s++) for (const impl of impls) results.get(impl)!.push(sealSample(impl, 150));
  for (const impl of impls) rows.push({ op: 'seal', impl, threads: 1, mbps: median(results.get(impl)!) });
  for (const r of rows) r.mbps = Math.round(r.mbps * 10) / 10;
  for (const r of rows) if (r.cpuMBps !== undefined) r.cpuMBps = Number.isFinite(r.cpuMBps) ? Math.round(r.cpuMBps * 10) / 10 : undefined;
  for (const r of rows) if (r.rssMB !== undefined) r.rssMB = Math.round(r.rssMB);
  if (json) {
    process.stdout.write(JSON.stringify(rows) + '\n');
    return;
  }
  const lines = [`pipeline: ${size} bytes per encode/decode, seal = median of ${samples} round-robin samples of 1 MiB messages`,
    'op      k   m   impl                           threads  MB/s      cpu MB/s  peak RSS MB'];
  for (const r of rows) {
    lines.push(`${r.op.padEnd(7)} ${String(r.k ?? '-').padEnd(3)} ${String(r.m ?? '-').padEnd(3)} ${r.impl.padEnd(30)} ${String(r.threads).padEnd(8)} ${String(r.mbps).padEnd(9)} ${String(r.cpuMBps ?? '-').padEnd(9)} ${r.rssMB ?? '-'}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}
