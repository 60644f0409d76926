// Worker-thread side of the parallel codec: one single-thread codec per worker, jobs in, results out
// (result buffers are transferred, not copied). Started by parallel.ts; not a public entry point.
import { parentPort, workerData } from 'node:worker_threads';
import { createCodec } from './codec.ts';
import type { CodecOptions } from './codec.ts';
import type { WorkerJob, WorkerReply } from './parallel.ts';

const codec = createCodec(workerData as CodecOptions);
const port = parentPort!;

port.on('message', (job: WorkerJob) => {
  let reply: WorkerReply;
  const transfer = new Set<ArrayBuffer>();
  try {
    if (job.op === 'encode') {
      const parity = codec.encode(job.shards as Uint8Array[]);
      for (const p of parity) transfer.add(p.buffer as ArrayBuffer);
      reply = { id: job.id, ok: true, result: parity };
    } else {
      const out = job.op === 'reconstruct' ? codec.reconstruct(job.shards) : codec.reconstructData(job.shards);
      // Present shards are not sent back (the caller keeps its own); only rebuilt ones, transferred.
      const result = out.map((s, i) => (job.shards[i] ? null : s));
      for (const s of result) if (s) transfer.add(s.buffer as ArrayBuffer);
      reply = { id: job.id, ok: true, result };
    }
  } catch (e) {
    const err = e as { name?: string; code?: string; message?: string; details?: Record<string, unknown> };
    reply = { id: job.id, ok: false, error: { name: String(err.name), code: String(err.code ?? ''), message: String(err.message), details: err.details ?? {} } };
  }
  port.postMessage(reply, [...transfer]);
});
