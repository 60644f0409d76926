// Restore's writer for files whose bytes are already in memory (packed small files): a worker thread
// creates them with synchronous calls, so the kernel's per-file cost (create, write, chmod, utimes, close,
// rename: about 100 µs on ext4 here) runs beside the main thread's downloading and decoding instead of in
// it, and without a thread-pool round trip per call. Jobs are sent in batches (one message per turn of
// the event loop, or per WRITER_BATCH_BYTES).
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

/** A batch is sent once it holds this many bytes (else at the end of the current turn). */
const WRITER_BATCH_BYTES = 4 << 20;

export interface FileWriter {
  /** Create `path` from `bytes` through the temporary name `tmp` (which must not exist); mode and mtime set. */
  write(job: Omit<WriteJob, 'id'>): Promise<void>;
  close(): Promise<void>;
}

export function createFileWriter(): FileWriter {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const worker = new Worker(new URL(`./file-writer-worker${ext}`, import.meta.url));
  const waiting = new Map<number, { resolve(): void; reject(err: Error): void }>();
  let nextId = 0;
  let batch: WriteJob[] = [];
  let batchBytes = 0;
  let scheduled = false;
  let broken: Error | null = null;

  const fail = (err: Error) => {
    broken ??= err;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  worker.on('message', ({ results }: { results: WriteResult[] }) => {
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
    batch = [];
    batchBytes = 0;
    worker.postMessage(
      { jobs } satisfies WriteBatch,
      jobs.map((j) => j.bytes.buffer as ArrayBuffer)
    );
  };

  return {
    write(job) {
      if (broken) return Promise.reject(broken);
      const id = nextId++;
      const p = new Promise<void>((resolve, reject) => waiting.set(id, { resolve, reject }));
      // Its own buffer, moved (not cloned) to the thread: a view into a cached 8 MiB pack would be cloned
      // with the whole pack behind it.
      batch.push({ ...job, id, bytes: job.bytes.slice() });
      batchBytes += job.bytes.length;
      if (batchBytes >= WRITER_BATCH_BYTES) send();
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
      fail(new Error('the file writer is closed'));
    }
  };
}
