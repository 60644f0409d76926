// Restore's writer for files whose bytes are already in memory (packed small files): a worker thread
// creates them with synchronous calls, so the kernel's per-file cost (create, write, chmod, utimes, close,
// rename: about 100 µs on ext4 here) runs beside the main thread's downloading and decoding instead of in
// it, and without a thread-pool round trip per call. Jobs are sent in batches (one message per turn of
// the event loop, or per WRITER_BATCH_BYTES), their bytes copied into one buffer per batch.
import { Worker } from 'node:worker_threads';

/** A file from `bytes` with `mode`, or (with `link`) a symlink to `link`; `time` is the mtime in seconds. */
export interface WriteJob {
  id: number;
  tmp: string;
  path: string;
  bytes: Uint8Array;
  mode: number;
  time: number;
  link?: string;
}
export interface WriteBatch {
  jobs: WriteJob[];
}
export interface WriteResult {
  id: number;
  error?: { message: string; code?: string };
}
/** The thread's answer to a batch: its results, and the batch's buffer moved back for the next batch. */
export interface WriteDone {
  results: WriteResult[];
  buffer?: ArrayBuffer;
}

/** A batch is sent once it holds this many bytes (else at the end of the current turn). */
const WRITER_BATCH_BYTES = 4 << 20;
/** Batch buffers the thread gave back, kept for the next batches at most. */
const WRITER_SPARE_BUFFERS = 2;

export interface FileWriter {
  /** Create `path` from `bytes` through the temporary name `tmp` (which must not exist); mode and mtime set. */
  write(job: Omit<WriteJob, 'id'>): Promise<void>;
  close(): Promise<void>;
  /** Batches sent to the thread, batch buffers allocated for them (the others were given back and reused), and given-back buffers kept now. */
  readonly stats: { readonly batches: number; readonly buffersMade: number; readonly buffersKept: number; readonly bytesKept: number };
}

export function createFileWriter(): FileWriter {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const worker = new Worker(new URL(`./file-writer-worker${ext}`, import.meta.url));
  const waiting = new Map<number, { resolve(): void; reject(err: Error): void }>();
  let nextId = 0;
  let batch: WriteJob[] = [];
  let scheduled = false;
  let broken: Error | null = null;

  const fail = (err: Error) => {
    broken ??= err;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  // A batch's bytes share one buffer (WRITER_BATCH_BYTES, or one file's if larger), moved to the thread with
  // the batch and back with its results: no allocation per file, none per batch once a few have come back.
  // Per-file copies of /usr/share's 49k small files were as many small blocks of the main heap, freed by the
  // thread in another order than they came.
  const spare: ArrayBuffer[] = [];
  const stats = {
    batches: 0,
    buffersMade: 0,
    get buffersKept() {
      return spare.length;
    },
    get bytesKept() {
      return spare.reduce((a, b) => a + b.byteLength, 0);
    }
  };
  let slab: Uint8Array | null = null;
  let slabUsed = 0;
  worker.on('message', ({ results, buffer }: WriteDone) => {
    if (buffer?.byteLength === WRITER_BATCH_BYTES && spare.length < WRITER_SPARE_BUFFERS) spare.push(buffer);
    for (const r of results) {
      const w = waiting.get(r.id);
      waiting.delete(r.id);
      if (!w) continue;
      if (r.error) w.reject(Object.assign(new Error(r.error.message), { code: r.error.code }));
      else w.resolve();
    }
  });
  worker.on('error', (err) => fail(err));
  worker.on('exit', (code) => fail(new Error(`the file-writer thread exited (code ${code})`)));

  const send = () => {
    scheduled = false;
    if (!batch.length) return;
    const jobs = batch;
    const moved = slab!.buffer as ArrayBuffer;
    batch = [];
    slab = null;
    slabUsed = 0;
    stats.batches++;
    worker.postMessage({ jobs } satisfies WriteBatch, [moved]);
  };

  return {
    stats,
    write(job) {
      if (broken) return Promise.reject(broken);
      const id = nextId++;
      const p = new Promise<void>((resolve, reject) => waiting.set(id, { resolve, reject }));
      const n = job.bytes.length;
      if (slab && slabUsed + n > slab.length) send();
      if (!slab) {
        const reuse = n <= WRITER_BATCH_BYTES ? spare.pop() : undefined;
        if (!reuse) stats.buffersMade++;
        slab = reuse ? new Uint8Array(reuse) : new Uint8Array(Math.max(WRITER_BATCH_BYTES, n));
      }
      // A copy of its own in the batch's buffer: a view into a cached pack would be cloned with the whole pack.
      slab.set(job.bytes, slabUsed);
      batch.push({ ...job, id, bytes: slab.subarray(slabUsed, slabUsed + n) });
      slabUsed += n;
      if (slabUsed >= WRITER_BATCH_BYTES) send();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(send);
      }
      return p;
    },
    async close() {
      send();
      worker.removeAllListeners('exit');
      await worker.terminate();
      spare.length = 0;
      fail(new Error('the file writer is closed'));
    }
  };
}
