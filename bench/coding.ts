// `node bench/index.ts coding [--json] [--quick]`: erasure-coding throughput, ours vs the reference
// (@digitaldefiance/reed-solomon-erasure.wasm, driven through its raw exports in place, see bench/reference.ts).
// MB/s counts data bytes (k x shardBytes per stripe, MB = 1e6). Reconstruct loses min(4, m) shards, data
// shards first, and rebuilds the data shards only. Samples alternate between implementations (round-robin)
// after a warm-up so V8 has tiered up the wasm; each row reports the median of the samples.
// threads=1: ours = zero-copy ShardSet path, reference = one stripe in its wasm memory.
// threads=N: ours = createParallelCodec's zero-copy ShardSet path (shards in its shared memory; each stripe is
// split by columns over the calling thread and N-1 workers), reference = N workers each working in place on
// its own stripe. Both do 2N stripes per step.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { createCodec, createParallelCodec } from '../src/index.ts';
import { ReferenceStripe } from './reference.ts';
import { formatBytes, formatTable, mbps, median, note, parseFlags, printJson, timeFor } from './common.ts';

interface Record_ {
  op: 'encode' | 'reconstruct';
  k: number;
  m: number;
  shardBytes: number;
  impl: 'p2pbackup' | 'reference';
  threads: number;
  mbps: number;
}

/** One benchmarked implementation for one configuration: `step()` does one unit of `bytes` data bytes. */
interface Runner {
  readonly impl: Record_['impl'];
  readonly bytes: number;
  step(): unknown;
  close(): Promise<void> | void;
}

const CODES: [number, number][] = [
  [10, 4],
  [4, 2],
  [3, 7],
  [17, 3]
];
const SIZES = [64 * 1024, 1024 * 1024];

function fill(a: Uint8Array, seed: number): void {
  let s = seed * 2654435761 + 1;
  for (let i = 0; i < a.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    a[i] = s >>> 24;
  }
}

function lostPattern(k: number, m: number): boolean[] {
  const lose = Math.min(4, m);
  return Array.from({ length: k + m }, (_, i) => i >= lose);
}

function oursSingle(op: Record_['op'], k: number, m: number, len: number): Runner {
  const codec = createCodec({ dataShards: k, parityShards: m });
  const set = codec.allocShards(len);
  for (let i = 0; i < k; i++) fill(set.shards[i], i);
  codec.encodeShardSet(set);
  const present = lostPattern(k, m);
  return {
    impl: 'p2pbackup',
    bytes: k * len,
    step: op === 'encode' ? () => codec.encodeShardSet(set) : () => codec.reconstructShardSet(set, present, { dataOnly: true }),
    close: () => {
      set.release();
      codec.close();
    }
  };
}

function refSingle(op: Record_['op'], k: number, m: number, len: number): Runner {
  const stripe = new ReferenceStripe(k, m, len);
  for (let i = 0; i < k; i++) fill(stripe.shard(i), i);
  stripe.encode();
  const present = lostPattern(k, m);
  return {
    impl: 'reference',
    bytes: k * len,
    step: op === 'encode' ? () => stripe.encode() : () => stripe.reconstruct(present),
    close: () => {}
  };
}

async function oursParallel(op: Record_['op'], k: number, m: number, len: number, threads: number): Promise<Runner> {
  const pc = createParallelCodec({ dataShards: k, parityShards: m, threads });
  const batch = threads * 2;
  const sets = Array.from({ length: batch }, (_, s) => {
    const set = pc.allocShards(len);
    for (let i = 0; i < k; i++) fill(set.shards[i], s * 1000 + i);
    return set;
  });
  await Promise.all(sets.map((set) => pc.encodeShardSet(set)));
  const present = lostPattern(k, m);
  return {
    impl: 'p2pbackup',
    bytes: batch * k * len,
    step:
      op === 'encode'
        ? () => Promise.all(sets.map((set) => pc.encodeShardSet(set)))
        : () => Promise.all(sets.map((set) => pc.reconstructShardSet(set, present, { dataOnly: true }))),
    close: () => pc.close()
  };
}

function refParallel(op: Record_['op'], k: number, m: number, len: number, threads: number): Runner {
  const url = new URL('./coding-worker.ts', import.meta.url);
  const workers = Array.from({ length: threads }, () => new Worker(url, { workerData: { k, m, len } }));
  const present = lostPattern(k, m);
  // One pending reply per worker; one listener each (no listener growth over thousands of steps).
  const waiting = workers.map(() => null as null | { resolve(): void; reject(e: unknown): void });
  workers.forEach((w, i) => {
    w.on('message', () => waiting[i]?.resolve());
    w.on('error', (e) => waiting[i]?.reject(e));
  });
  const once = (w: Worker, i: number) =>
    new Promise<void>((resolve, reject) => {
      waiting[i] = { resolve, reject };
      w.postMessage({ op, present });
    });
  return {
    impl: 'reference',
    // Two operations per worker per step, like ours (batch = 2 x threads).
    bytes: 2 * threads * k * len,
    step: async () => {
      await Promise.all(workers.map(once));
      await Promise.all(workers.map(once));
    },
    close: async () => {
      await Promise.all(workers.map((w) => w.terminate()));
    }
  };
}

export async function run(argv: string[]): Promise<void> {
  const flags = parseFlags(argv);
  const cores = availableParallelism();
  const samples = 7;
  const sampleMs = flags.quick ? 25 : 80;
  const warmMs = flags.quick ? 100 : 300;
  const records: Record_[] = [];
  const rows: (string | number)[][] = [];

  // Global warm-up so both wasm modules are tiered up before the first measured configuration.
  for (const make of [oursSingle, refSingle]) {
    const r = make('encode', 10, 4, 64 * 1024);
    await timeFor(() => r.step(), flags.quick ? 300 : 1000);
    await r.close();
  }

  const threadCounts = cores > 1 ? [1, cores] : [1];
  for (const threads of threadCounts) {
    for (const op of ['encode', 'reconstruct'] as const) {
      for (const [k, m] of CODES) {
        for (const len of SIZES) {
          note(`coding: ${op} ${k}+${m} ${formatBytes(len)} threads=${threads}`);
          const runners: Runner[] =
            threads === 1
              ? [oursSingle(op, k, m, len), refSingle(op, k, m, len)]
              : [await oursParallel(op, k, m, len, threads), refParallel(op, k, m, len, threads)];
          try {
            for (const r of runners) await timeFor(() => r.step(), warmMs);
            const got = runners.map(() => [] as number[]);
            for (let s = 0; s < samples; s++) {
              for (let i = 0; i < runners.length; i++) {
                const t = await timeFor(() => runners[i].step(), sampleMs);
                got[i].push(mbps(t.calls * runners[i].bytes, t.ms));
              }
            }
            const med = got.map(median);
            runners.forEach((r, i) => records.push({ op, k, m, shardBytes: len, impl: r.impl, threads, mbps: Math.round(med[i]) }));
            rows.push([op, `${k}+${m}`, formatBytes(len), threads, Math.round(med[0]), Math.round(med[1]), `${(med[0] / med[1]).toFixed(1)}x`]);
          } finally {
            for (const r of runners) await r.close();
          }
        }
      }
    }
  }

  if (flags.json) {
    printJson(records);
    return;
  }
  process.stdout.write(`Erasure coding throughput, MB/s of data (MB = 1e6), median of ${samples} samples; ${cores} cores\n`);
  process.stdout.write(formatTable(['op', 'k+m', 'shard', 'threads', 'p2pbackup', 'reference', 'ours/ref'], rows) + '\n');
  process.stdout.write(
    'threads>1: ours = createParallelCodec ShardSets (each stripe split by columns over the threads, shared memory), reference = one in-place stripe per worker thread.\n' +
      'reconstruct: min(4, m) shards lost (data first), data shards rebuilt.\n'
  );
}
