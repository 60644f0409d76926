// Pipeline benchmark (format 2): the whole write path on one core minus the network (keyed chunker -> blob id
// and key -> zstd auto -> seal -> 16 MiB packs -> encodePack -> shares written to temp files) and the verified
// read back (decodeFile of each pack from those files, every blob opened), for 3-of-5 and 10-of-14, plus sealing
// alone against two JS XChaCha libraries.
//   node bench/index.ts pipeline [--size 1GiB] [--samples 7] [--json] [--quick] [--only v2]
// Input: 1 MiB views into a random pool (no I/O; zstd keeps it raw, as for media). MB/s are 1e6 bytes/s of
// plaintext, wall clock; cpuMBps = the same over the main thread's CPU seconds (what one dedicated core gives
// when the machine is shared). floor rows: the native primitives alone on the same bytes (SHA-256 for the id,
// the seal, Reed-Solomon in place, SHA-256 of every block): the most any encode can reach on one core.
// threads N: N streams at once, one per worker thread (--threads N, default all cores). rssMB = peak RSS.
// Format v2 rows (one core, in memory, no I/O; median of the samples): 'chunk' = the keyed chunker over 64 MiB of
// random bytes and of real files (/usr/share), per kernel (wasm, js), through chunkStream (1 MiB reads, each chunk
// copied once into its own buffer) and through cut() on one buffer; goal >= 1,000 MB/s of input (issue 16), marked
// pass/fail on cpu MB/s (input over the thread's CPU seconds: what one core gives, even when other work shares the
// machine; wall MB/s where /proc is missing). 'compress'/'decompress' = compressAuto/decompress of those chunks, /usr/include (compressible) and
// random (incompressible: stays raw, so decompress is a length check); ratio = stored / plain bytes.
// --only v2: just these rows. --quick: 128 MiB encodes and 16 MiB corpora.
import { open, mkdtemp, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomFillSync } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { XChaCha20Poly1305 } from '@stablelib/xchacha20poly1305';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { encodePack, decodeFile, type ShareSource } from '../src/format/index.ts';
import { blobKeys, ownerKey, xchachaSeal } from '../src/crypto/index.ts';
import { openBlob, sealBlob, PACK_TARGET_BYTES } from '../src/repo/index.ts';
import type { PackCap } from '../src/caps/index.ts';
import { createCodec } from '../src/erasure/index.ts';
import { parseSize } from '../src/store/index.ts';
import { chunkStream, createChunker, type Chunker } from '../src/format/chunker.ts';
import { compressAuto, decompress, COMPRESSION_ZSTD, type Compressed } from '../src/format/compress.ts';

interface Row {
  op: string;
  k?: number;
  m?: number;
  impl: string;
  threads: number;
  mbps: number;
  cpuMBps?: number;
  rssMB?: number;
  /** v2 rows: the input ('random', 'usr-share', 'usr-include'), the goal in MB/s and whether the median met it, stored/plain. */
  data?: string;
  goalMBps?: number;
  pass?: boolean;
  ratio?: number;
}

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

const MiB = 1024 * 1024;
const POOL = new Uint8Array(16 * MiB);
randomFillSync(POOL);

/** A generated stream: 1 MiB pieces cut from a random pool at shifting offsets (never stored). */
async function* generated(size: number): AsyncIterable<Uint8Array> {
  let o = 0,
    i = 0;
  while (o < size) {
    const len = Math.min(MiB, size - o);
    const start = (i * 4099) % (POOL.length - MiB);
    yield POOL.subarray(start, start + len);
    o += len;
    i++;
  }
}

/** CPU seconds used so far by the calling thread (Linux /proc; NaN elsewhere). */
function threadCpu(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e9;
  } catch {
    return NaN;
  }
}

let peakRss = 0;
const sampleRss = () => {
  const r = process.memoryUsage.rss();
  if (r > peakRss) peakRss = r;
};

function fileSource(i: number, fh: FileHandle, size: number): ShareSource {
  return {
    shareNum: i,
    size,
    async read(offset, length) {
      const b = Buffer.allocUnsafe(length);
      const { bytesRead } = await fh.read(b, 0, length, offset);
      return bytesRead === length ? b : b.subarray(0, bytesRead);
    }
  };
}

/**
 * The format 2 write path on one core, minus the network: chunk (keyed, wasm) -> blob id and key (one SHA-256)
 * -> zstd auto -> seal -> 16 MiB packs -> encodePack (Reed-Solomon, block trees) -> each share to its own temp file.
 * Decode: each pack read back from those files through verified ShareSources, every blob opened. Random input:
 * zstd gives up and stores raw, as it would for media.
 */
export async function pipeline(size: number, k: number, n: number): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), 'p2pb-bench-'));
  const secret = new Uint8Array(32).fill(1);
  try {
    const chunker = createChunker(ownerKey(secret, 'chunker'));
    const packs: { cap: PackCap; files: FileHandle[]; sizes: number[]; blobs: { offset: number; length: number; key: Uint8Array }[] }[] = [];
    let open_: Uint8Array[] = [],
      openSize = 0,
      blobs: { offset: number; length: number; key: Uint8Array }[] = [];
    const sealPack = async () => {
      if (!openSize) return;
      const bytes = Buffer.concat(open_, openSize);
      const enc = encodePack(bytes, { k, n });
      const files = await Promise.all(
        enc.shares.map(async (sh, i) => {
          const fh = await open(join(dir, `p${packs.length}.${i}`), 'w+');
          await fh.write(sh, 0, sh.length, 0);
          return fh;
        })
      );
      packs.push({ cap: enc.cap, files, sizes: enc.shares.map((x) => x.length), blobs });
      open_ = [];
      openSize = 0;
      blobs = [];
      sampleRss();
    };
    peakRss = process.memoryUsage.rss();
    let t = performance.now();
    const cpu0 = threadCpu();
    for await (const chunk of chunkStream(generated(size), chunker)) {
      const { key } = blobKeys(secret, 1, chunk);
      const sealed = sealBlob('data', chunk, key);
      if (openSize && openSize + sealed.length > PACK_TARGET_BYTES) await sealPack();
      blobs.push({ offset: openSize, length: sealed.length, key });
      open_.push(sealed);
      openSize += sealed.length;
    }
    await sealPack();
    const encSec = (performance.now() - t) / 1000;
    const encCpu = threadCpu() - cpu0;
    const encRss = peakRss;
    peakRss = process.memoryUsage.rss();
    t = performance.now();
    const cpu1 = threadCpu();
    let got = 0;
    for (const p of packs) {
      const parts: Uint8Array[] = [];
      for await (const c of decodeFile(
        p.cap,
        p.files.map((fh, i) => fileSource(i, fh, p.sizes[i])),
        { onProgress: sampleRss }
      ))
        parts.push(c);
      const bytes = Buffer.concat(parts);
      for (const b of p.blobs) got += openBlob('data', bytes.subarray(b.offset, b.offset + b.length), b.key).length;
    }
    const decSec = (performance.now() - t) / 1000;
    const decCpu = threadCpu() - cpu1;
    if (got !== size) throw new Error(`decoded ${got} of ${size} bytes`);
    for (const p of packs) await Promise.all(p.files.map((h) => h.close()));
    return [
      { op: 'encode', k, m: n - k, impl: 'p2pbackup', threads: 1, mbps: size / 1e6 / encSec, cpuMBps: size / 1e6 / encCpu, rssMB: encRss / 1e6 },
      { op: 'decode', k, m: n - k, impl: 'p2pbackup', threads: 1, mbps: size / 1e6 / decSec, cpuMBps: size / 1e6 / decCpu, rssMB: peakRss / 1e6 }
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The floor of the format 2 encode on one core: the same native work on `size` bytes of the same input, in tight
 * loops with no chunking, no compression attempt, no pipeline and no I/O (SHA-256 of each 1 MiB piece for its id,
 * its seal, Reed-Solomon in place, SHA-256 of every block).
 */
function floor(size: number, k: number, n: number): Row {
  const codec = createCodec({ dataShards: k, parityShards: n - k });
  const bs = Math.ceil(MiB / k);
  const set = codec.allocShards(bs);
  const key = new Uint8Array(32).fill(1),
    nonce = new Uint8Array(24).fill(2);
  const segs = Math.ceil(size / MiB);
  const piece = (i: number) => {
    const start = (i * 4099) % (POOL.length - MiB);
    return POOL.subarray(start, start + MiB);
  };
  const t = performance.now();
  const cpu0 = threadCpu();
  for (let i = 0; i < segs; i++) {
    createHash('sha256').update(piece(i)).digest();
    const sealed = xchachaSeal(key, nonce, piece(i));
    for (let j = 0; j < k; j++) set.shards[j].set(sealed.subarray(j * bs, Math.min(sealed.length, (j + 1) * bs)));
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
  const stable = new XChaCha20Poly1305(key);
  let bytes = 0,
    i = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    const nonce = new Uint8Array(24);
    new DataView(nonce.buffer).setUint32(20, i);
    if (impl === 'p2pbackup') xchachaSeal(key, nonce, msg);
    else if (impl === '@stablelib/xchacha20poly1305') stable.seal(nonce, msg);
    else xchacha20poly1305(key, nonce).encrypt(msg);
    bytes += msg.length;
    i++;
  }
  return bytes / 1e6 / ((performance.now() - t0) / 1000);
}

async function parallelPipeline(size: number, k: number, n: number, threads: number): Promise<Row[]> {
  const per = Math.floor(size / threads);
  const results = await Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise<Row[]>((resolve, reject) => {
          const w = new Worker(new URL('./pipeline-worker.ts', import.meta.url), { workerData: { size: per, k, n } });
          w.once('message', resolve);
          w.once('error', reject);
        })
    )
  );
  // Each worker reports its own encode and decode seconds; the aggregate uses the slowest of each.
  const slowest = (op: string) => Math.max(...results.map((r) => per / 1e6 / r.find((x) => x.op === op)!.mbps));
  return [
    { op: 'encode', k, m: n - k, impl: 'p2pbackup', threads, mbps: (per * threads) / 1e6 / slowest('encode') },
    { op: 'decode', k, m: n - k, impl: 'p2pbackup', threads, mbps: (per * threads) / 1e6 / slowest('decode') }
  ];
}

/** Chunker speed goal of issue 16, MB/s of input on one core. */
const CHUNK_GOAL_MBPS = 1000;

/** Up to `limit` bytes of the regular files under `dir`, in sorted path order (real data no one here wrote). */
function corpus(dir: string, limit: number): Uint8Array {
  const out = new Uint8Array(limit);
  let w = 0;
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (w >= limit) return;
      const p = join(d, name);
      try {
        const st = lstatSync(p);
        if (st.isDirectory()) walk(p);
        else if (st.isFile() && st.size > 0) {
          const b = readFileSync(p);
          const n = Math.min(b.length, limit - w);
          out.set(b.subarray(0, n), w);
          w += n;
        }
      } catch {
        /* unreadable: skip */
      }
    }
  };
  walk(dir);
  return out.subarray(0, w);
}

/** Run `pass` (which processes `bytes` of input) `samples` times, each sample at least `ms` long; median MB/s (wall and thread CPU). */
async function sampled(bytes: number, samples: number, ms: number, pass: () => unknown): Promise<{ mbps: number; cpuMBps: number }> {
  await pass(); // warm-up (wasm tier-up, JIT)
  const wall: number[] = [],
    cpu: number[] = [];
  for (let s = 0; s < samples; s++) {
    let done = 0;
    const t0 = performance.now(),
      c0 = threadCpu();
    do {
      await pass();
      done += bytes;
    } while (performance.now() - t0 < ms);
    wall.push(done / 1e6 / ((performance.now() - t0) / 1000));
    cpu.push(done / 1e6 / (threadCpu() - c0));
  }
  return { mbps: median(wall), cpuMBps: median(cpu) };
}

/** The chunker alone, then compression of its chunks: the format v2 rows (see the header). */
async function v2Rows(corpusBytes: number, samples: number, ms: number): Promise<Row[]> {
  const rows: Row[] = [];
  const key = new Uint8Array(32).fill(0x42);
  const random = new Uint8Array(corpusBytes);
  for (let o = 0; o < corpusBytes; o += 65536) randomFillSync(random, o, Math.min(65536, corpusBytes - o));
  const share = corpus('/usr/share', corpusBytes);
  const include = corpus('/usr/include', corpusBytes);
  const chunkRow = (data: string, impl: string, r: { mbps: number; cpuMBps: number }): Row => ({
    op: 'chunk',
    data,
    impl,
    threads: 1,
    ...r,
    goalMBps: CHUNK_GOAL_MBPS,
    pass: (Number.isFinite(r.cpuMBps) ? r.cpuMBps : r.mbps) >= CHUNK_GOAL_MBPS
  });
  for (const [data, bytes] of [
    ['random', random],
    ['usr-share', share]
  ] as const) {
    for (const kernel of ['wasm', 'js'] as const) {
      const c = createChunker(key, {}, { kernel });
      rows.push(chunkRow(data, `${kernel} chunkStream`, await sampled(bytes.length, samples, ms, () => streamAll(c, bytes))));
      rows.push(chunkRow(data, `${kernel} cut`, await sampled(bytes.length, samples, ms, () => cutAll(c, bytes))));
    }
  }
  for (const [data, bytes] of [
    ['usr-include', include],
    ['random', random]
  ] as const) {
    const chunks = chunksOf(createChunker(key), bytes);
    for (const level of [1, 3]) {
      let stored: Compressed[] = [];
      const comp = await sampled(bytes.length, samples, ms, () => {
        stored = chunks.map((ch) => compressAuto(ch, { level }));
      });
      const ratio = stored.reduce((a, z) => a + z.bytes.length, 0) / bytes.length;
      const zstd = stored.filter((z) => z.method === COMPRESSION_ZSTD).length;
      const impl = `zstd-${level} auto (${zstd}/${chunks.length} zstd)`;
      rows.push({ op: 'compress', data, impl, threads: 1, ...comp, ratio: Math.round(ratio * 1000) / 1000 });
      const dec = await sampled(bytes.length, samples, ms, () => {
        for (let i = 0; i < chunks.length; i++) decompress(stored[i].method, stored[i].bytes, chunks[i].length);
      });
      rows.push({ op: 'decompress', data, impl, threads: 1, ...dec, ratio: Math.round(ratio * 1000) / 1000 });
    }
  }
  return rows;
}

function chunksOf(c: Chunker, data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o < data.length;) {
    const n = c.cut(data.subarray(o), true);
    out.push(data.subarray(o, o + n));
    o += n;
  }
  return out;
}

function cutAll(c: Chunker, data: Uint8Array): void {
  for (let o = 0; o < data.length;) o += c.cut(data.subarray(o), true);
}

async function streamAll(c: Chunker, data: Uint8Array): Promise<void> {
  async function* reads() {
    for (let o = 0; o < data.length; o += MiB) yield data.subarray(o, Math.min(data.length, o + MiB));
  }
  let n = 0;
  for await (const chunk of chunkStream(reads(), c)) n += chunk.length;
  if (n !== data.length) throw new Error(`chunked ${n} of ${data.length} bytes`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export async function run(argv: string[]): Promise<void> {
  const json = argv.includes('--json');
  const quick = argv.includes('--quick');
  const onlyV2 = arg(argv, '--only') === 'v2';
  const size = parseSize(arg(argv, '--size') ?? (quick ? '128MiB' : '1GiB'));
  const samples = Math.max(7, Number(arg(argv, '--samples') ?? 7));
  const rows: Row[] = [];
  if (!onlyV2) {
    for (const [k, n] of [
      [3, 5],
      [10, 14]
    ])
      rows.push(...(await pipeline(size, k, n)), floor(size, k, n));
    // All cores: one file per worker thread at once (as a backup encodes several files in parallel);
    // MB/s is the total plaintext over the wall time of the slowest worker.
    const threads = Number(arg(argv, '--threads') ?? availableParallelism());
    if (threads > 1)
      for (const [k, n] of [
        [3, 5],
        [10, 14]
      ])
        rows.push(...(await parallelPipeline(size, k, n, threads)));
    const impls = ['p2pbackup', '@stablelib/xchacha20poly1305', '@noble/ciphers'];
    const results = new Map<string, number[]>(impls.map((i) => [i, []]));
    for (let s = 0; s < samples; s++) for (const impl of impls) results.get(impl)!.push(sealSample(impl, 150));
    for (const impl of impls) rows.push({ op: 'seal', impl, threads: 1, mbps: median(results.get(impl)!) });
  }
  rows.push(...(await v2Rows(quick ? 16 * MiB : 64 * MiB, samples, quick ? 100 : 250)));
  for (const r of rows) r.mbps = Math.round(r.mbps * 10) / 10;
  for (const r of rows) if (r.cpuMBps !== undefined) r.cpuMBps = Number.isFinite(r.cpuMBps) ? Math.round(r.cpuMBps * 10) / 10 : undefined;
  for (const r of rows) if (r.rssMB !== undefined) r.rssMB = Math.round(r.rssMB);
  if (json) {
    process.stdout.write(JSON.stringify(rows) + '\n');
    return;
  }
  const lines: string[] = [];
  const v1 = rows.filter((r) => r.data === undefined),
    v2 = rows.filter((r) => r.data !== undefined);
  if (v1.length) {
    lines.push(
      `pipeline: ${size} bytes per encode/decode, seal = median of ${samples} round-robin samples of 1 MiB messages`,
      'op      k   m   impl                           threads  MB/s      cpu MB/s  peak RSS MB'
    );
    for (const r of v1) {
      lines.push(
        `${r.op.padEnd(7)} ${String(r.k ?? '-').padEnd(3)} ${String(r.m ?? '-').padEnd(3)} ${r.impl.padEnd(30)} ${String(r.threads).padEnd(8)} ${String(r.mbps).padEnd(9)} ${String(r.cpuMBps ?? '-').padEnd(9)} ${r.rssMB ?? '-'}`
      );
    }
    lines.push('');
  }
  lines.push(
    `format v2, one core, in memory: median of ${samples} samples; chunk goal >= ${CHUNK_GOAL_MBPS} MB/s of input`,
    'op          data         impl                              MB/s      cpu MB/s  ratio  goal (cpu MB/s)'
  );
  // Raw chunks decompress by a length check: millions of MB/s, shown as a bound.
  const fmt = (x: number | undefined) => (x === undefined ? '-' : x > 99_999 ? '>99999' : String(x));
  for (const r of v2) {
    lines.push(
      `${r.op.padEnd(11)} ${r.data!.padEnd(12)} ${r.impl.padEnd(33)} ${fmt(r.mbps).padEnd(9)} ${fmt(r.cpuMBps).padEnd(9)} ${String(r.ratio ?? '-').padEnd(6)} ${r.pass === undefined ? '-' : r.pass ? 'pass' : 'FAIL'}`
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}
