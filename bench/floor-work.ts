// The work floor of the backup bench: the CPU that the local work every backup and restore of a dataset must do
// costs on this machine, with the product's own primitives and nothing else. Beside the transport floor
// (bench/floor-transport.ts: the bytes moved, nothing done to them), it bounds what the bench's swarm can reach:
// client and storage peers share this machine's cores, so no backup or restore through it finishes sooner than
// (transport CPU + work CPU) / cores, however its work is spread over threads and processes.
//
// Backup, per regular file of the tree (one process, one thread, synchronous calls, no queues):
//   lstat, read it whole, cut it into fixed 1 MiB pieces (no content-defined chunking: cheaper than any chunker),
//   each piece's id and key (blobKeys), compressed and sealed (sealBlob: zstd auto + XChaCha20-Poly1305), the
//   sealed bytes gathered into 16 MiB packs, each pack Reed-Solomon encoded k-of-n (shards filled, encodeShardSet).
//   Left out, though a real backup does them: the chunker, share hashes and hash trees, any index, cache or
//   snapshot, directories' metadata, the pieces' frames.
// Restore, per piece backed up: the blob opened (openBlob: authenticated, decompressed) and written to its file
//   under a new directory (mkdir, open, write, close). Left out: fetching and decoding shares (the data shards
//   are the pack; a restore that has them all decodes nothing), checking ids, any index, metadata (modes, times).
//
// CPU = user + system seconds of this whole process (process.cpuUsage: V8's helper threads and the collector
// count, as they do for the product), read at batch edges: pieces are backed up until 256 MiB of sealed bytes are
// pending, then restored, so memory stays bounded for an 8 GiB file.
//   node bench/floor-work.ts --tree PATH --restore-to DIR [--k 3] [--n 5]   prints one JSON line
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, writeSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blobKeys } from '../src/crypto/index.ts';
import { createCodec } from '../src/erasure/index.ts';
import { openBlob, sealBlob } from '../src/repo/index.ts';
import { runJsonChild } from './common.ts';

const MiB = 1 << 20;
const PIECE = MiB;
const PACK = 16 * MiB;
const BATCH = 256 * MiB;

export interface WorkPhase {
  /** Wall seconds of the phase's batches (the walk between them included in backup). */
  seconds: number;
  /** User + system CPU seconds of the process during the phase. */
  cpuSeconds: number;
}

export interface WorkFloorResult {
  backup: WorkPhase;
  restore: WorkPhase;
  files: number;
  /** Plaintext bytes read (and restored). */
  bytes: number;
  /** Sealed bytes (compressed + framing + tags), before erasure coding. */
  sealedBytes: number;
  packs: number;
}

interface Pending {
  sealed: Uint8Array;
  key: Uint8Array;
  /** Destination, relative to the restore directory; `first`: the piece opens the file, `last`: closes it. */
  path: string;
  first: boolean;
  last: boolean;
}

const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** What tests set: smaller packs and batches (to cross their edges), and a look at each sealed piece and each
 *  encoded pack (its k + m shards and how many bytes of its data shards are filled). */
export interface WorkFloorOptions {
  pack?: number;
  batch?: number;
  onSealed?: (sealed: Uint8Array) => void;
  onPack?: (shards: readonly Uint8Array[], fill: number) => void;
}

/** Run the work floor over `tree`, restoring into `restoreTo` (made; must not exist or be empty). */
export function workFloor(tree: string, restoreTo: string, k: number, n: number, opts: WorkFloorOptions = {}): WorkFloorResult {
  const BATCH_BYTES = opts.batch ?? BATCH;
  const secret = new Uint8Array(32).fill(7);
  const codec = createCodec({ dataShards: k, parityShards: n - k });
  const shardLength = Math.ceil((opts.pack ?? PACK) / k);
  const PACK_BYTES = shardLength * k; // whole shards: a full pack leaves nothing of the one before
  const set = codec.allocShards(shardLength);
  let packFill = 0;
  const backup: WorkPhase = { seconds: 0, cpuSeconds: 0 },
    restore: WorkPhase = { seconds: 0, cpuSeconds: 0 };
  const out: WorkFloorResult = { backup, restore, files: 0, bytes: 0, sealedBytes: 0, packs: 0 };
  const read = Buffer.allocUnsafe(PIECE);
  const made = new Set<string>();
  let pending: Pending[] = [];
  let pendingBytes = 0;
  let fd = -1;
  let t = 0,
    c = 0; // the backup phase's current stretch: wall and CPU at its start

  /** Append sealed bytes to the current pack's data shards; encode each pack as it fills. */
  const pack = (sealed: Uint8Array) => {
    let o = 0;
    while (o < sealed.length) {
      const take = Math.min(sealed.length - o, PACK_BYTES - packFill);
      let at = packFill;
      let from = o;
      while (from < o + take) {
        const s = Math.floor(at / shardLength),
          within = at % shardLength;
        const len = Math.min(shardLength - within, o + take - from);
        set.shards[s].set(sealed.subarray(from, from + len), within);
        at += len;
        from += len;
      }
      packFill += take;
      o += take;
      if (packFill === PACK_BYTES) flushPack();
    }
  };
  const flushPack = () => {
    if (packFill === 0) return;
    if (packFill < PACK_BYTES) {
      // the last pack: zero its unfilled data (a real pack is cut to its length; the codec still works on whole shards)
      for (let s = 0; s < k; s++) {
        const start = Math.max(0, packFill - s * shardLength);
        if (start < shardLength) set.shards[s].fill(0, start);
      }
    }
    codec.encodeShardSet(set);
    opts.onPack?.(set.shards, packFill);
    out.packs++;
    packFill = 0;
  };
  /** Restore every pending piece (timed as restore). */
  const drain = () => {
    const t = performance.now(),
      c = cpuNow();
    for (const p of pending) {
      if (p.first) {
        const full = join(restoreTo, p.path);
        const dir = dirname(full);
        if (!made.has(dir)) {
          mkdirSync(dir, { recursive: true });
          made.add(dir);
        }
        fd = openSync(full, 'wx', 0o600);
      }
      const plain = openBlob('data', p.sealed, p.key);
      let o = 0;
      while (o < plain.length) o += writeSync(fd, plain, o);
      if (p.last) {
        closeSync(fd);
        fd = -1;
      }
    }
    pending = [];
    pendingBytes = 0;
    restore.seconds += (performance.now() - t) / 1000;
    restore.cpuSeconds += cpuNow() - c;
  };
  /** Back up one file (timed as backup); drain the pending pieces when a batch is full (not timed as backup). */
  const file = (path: string) => {
    const st = lstatSync(path);
    const rel = relative(tree, path);
    const h = openSync(path, 'r');
    try {
      let left = st.size;
      let first = true;
      do {
        const want = Math.min(PIECE, left);
        let got = 0;
        while (got < want) {
          const r = readSync(h, read, got, want - got, null);
          if (r === 0) throw new Error(`${path} shrank while the work floor read it`);
          got += r;
        }
        const plain = read.subarray(0, want);
        const { key } = blobKeys(secret, 1, plain);
        const sealed = sealBlob('data', plain, key);
        opts.onSealed?.(sealed);
        pack(sealed);
        left -= want;
        out.bytes += want;
        out.sealedBytes += sealed.length;
        pending.push({ sealed, key, path: rel, first, last: left === 0 });
        pendingBytes += sealed.length;
        first = false;
        if (pendingBytes >= BATCH_BYTES) {
          backup.seconds += (performance.now() - t) / 1000;
          backup.cpuSeconds += cpuNow() - c;
          drain();
          t = performance.now();
          c = cpuNow();
        }
      } while (left > 0);
    } finally {
      closeSync(h);
    }
    out.files++;
  };
  const visit = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) visit(p);
      else if (e.isFile()) file(p);
    }
  };

  mkdirSync(restoreTo, { recursive: true });
  t = performance.now();
  c = cpuNow();
  visit(tree);
  flushPack();
  backup.seconds += (performance.now() - t) / 1000;
  backup.cpuSeconds += cpuNow() - c;
  drain();
  return out;
}

/** Run the work floor in its own process (the caller's CPU is not counted). */
export function measureWorkFloor(tree: string, restoreTo: string, k: number, n: number): Promise<WorkFloorResult> {
  return runJsonChild<WorkFloorResult>(
    fileURLToPath(import.meta.url),
    ['--tree', tree, '--restore-to', restoreTo, '--k', String(k), '--n', String(n)],
    'work floor'
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const str = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const tree = str('--tree'),
    to = str('--restore-to');
  if (!tree || !to) {
    process.stderr.write('usage: node bench/floor-work.ts --tree PATH --restore-to DIR [--k 3] [--n 5]\n');
    process.exit(2);
  }
  const r = workFloor(tree, to, Number(str('--k') ?? 3), Number(str('--n') ?? 5));
  process.stdout.write(JSON.stringify(r) + '\n');
}
