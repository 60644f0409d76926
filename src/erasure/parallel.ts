// Multi-core codec: a pool of worker_threads, each running its own single-thread codec. Results are
// byte-identical to createCodec(). Arguments are validated on the calling thread (same errors as the
// single-thread codec); stripes are copied to a worker and results transferred back. close() terminates
// the workers; idle workers are unref'ed so a forgotten close() does not keep the process alive.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { CodecOptions } from './codec.ts';
import { resolveKernel } from './kernel.ts';
import {
  CodecClosedError,
  CodecError,
  InvalidParametersError,
  InvalidShardError,
  ShardSizeMismatchError,
  TooFewShardsError,
  WorkerFailedError,
} from './errors.ts';
import { checkData, checkPartial, checkShape } from './validate.ts';

export interface ParallelCodecOptions extends CodecOptions {
  /** Worker threads; default os.availableParallelism(). 1..64. */
  readonly threads?: number;
}

export interface ParallelCodec {
  readonly dataShards: number;
  readonly parityShards: number;
  readonly totalShards: number;
  readonly threads: number;
  encode(data: readonly Uint8Array[]): Promise<Uint8Array[]>;
  /** Many stripes at once, spread over the workers; result[i] is the parity of stripes[i]. */
  encodeBatch(stripes: readonly (readonly Uint8Array[])[]): Promise<Uint8Array[][]>;
  reconstruct(shards: readonly (Uint8Array | null | undefined)[]): Promise<Uint8Array[]>;
  reconstructBatch(stripes: readonly (readonly (Uint8Array | null | undefined)[])[]): Promise<Uint8Array[][]>;
  reconstructData(shards: readonly (Uint8Array | null | undefined)[]): Promise<Uint8Array[]>;
  /** Terminate the workers; pending jobs reject with CodecClosedError. */
  close(): Promise<void>;
}

/** @internal message to a worker */
export interface WorkerJob {
  readonly id: number;
  readonly op: 'encode' | 'reconstruct' | 'reconstructData';
  readonly shards: readonly (Uint8Array | null | undefined)[];
}

/** @internal message from a worker */
export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly result: (Uint8Array | null)[] }
  | { readonly id: number; readonly ok: false; readonly error: { name: string; code: string; message: string; details: Record<string, unknown> } };

interface Pending {
  readonly job: WorkerJob;
  resolve(v: Uint8Array[]): void;
  reject(e: unknown): void;
}

interface Slot {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
}

function rebuildError(e: { name: string; code: string; message: string; details: Record<string, unknown> }): Error {
  const d = e.details as Record<string, number>;
  switch (e.name) {
    case 'InvalidParametersError':
      return new InvalidParametersError(e.message, e.details);
    case 'InvalidShardError':
      return new InvalidShardError(e.message, e.details);
    case 'ShardSizeMismatchError':
      return new ShardSizeMismatchError(e.message, { index: d.index, expected: d.expected, found: d.found });
    case 'TooFewShardsError':
      return new TooFewShardsError(d.needed, d.found);
    default:
      return new WorkerFailedError(`worker failed: ${e.message}`, { name: e.name, code: e.code, details: e.details });
  }
}

class ParallelReedSolomon implements ParallelCodec {
  readonly dataShards: number;
  readonly parityShards: number;
  readonly totalShards: number;
  readonly threads: number;
  readonly #slots: Slot[] = [];
  #nextId = 1;
  #closed = false;

  constructor(options: ParallelCodecOptions) {
    const shape = checkShape(options);
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
      throw new InvalidParametersError('threads must be an integer between 1 and 64', { threads });
    }
    const kernel = resolveKernel(options.kernel ?? 'auto'); // fail fast on this thread
    this.dataShards = shape.dataShards;
    this.parityShards = shape.parityShards;
    this.totalShards = shape.dataShards + shape.parityShards;
    this.threads = threads;
    const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
    const url = new URL(`./worker${ext}`, import.meta.url);
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(url, { workerData: { dataShards: shape.dataShards, parityShards: shape.parityShards, kernel } });
      const slot: Slot = { worker, pending: new Map() };
      worker.unref();
      worker.on('message', (reply: WorkerReply) => this.#onReply(slot, reply));
      worker.on('error', (cause) => this.#failSlot(slot, new WorkerFailedError(`codec worker ${i} failed: ${String((cause as Error)?.message ?? cause)}`, { worker: i }, { cause })));
      worker.on('exit', (code) => {
        if (!this.#closed) this.#failSlot(slot, new WorkerFailedError(`codec worker ${i} exited with code ${code}`, { worker: i, exitCode: code }));
      });
      this.#slots.push(slot);
    }
  }

  #onReply(slot: Slot, reply: WorkerReply): void {
    const p = slot.pending.get(reply.id);
    if (!p) return;
    slot.pending.delete(reply.id);
    if (slot.pending.size === 0) slot.worker.unref();
    if (!reply.ok) {
      p.reject(rebuildError(reply.error));
      return;
    }
    if (p.job.op === 'encode') {
      p.resolve(reply.result as Uint8Array[]);
    } else {
      p.resolve(reply.result.map((s, i) => (s ?? p.job.shards[i]) as Uint8Array));
    }
  }

  #failSlot(slot: Slot, err: CodecError): void {
    const all = [...slot.pending.values()];
    slot.pending.clear();
    for (const p of all) p.reject(err);
  }

  #submit(op: WorkerJob['op'], shards: readonly (Uint8Array | null | undefined)[]): Promise<Uint8Array[]> {
    if (this.#closed) return Promise.reject(new CodecClosedError('parallel codec'));
    let best = this.#slots[0];
    for (const s of this.#slots) if (s.pending.size < best.pending.size) best = s;
    const job: WorkerJob = { id: this.#nextId++, op, shards: op === 'reconstructData' ? shards : [...shards] };
    return new Promise<Uint8Array[]>((resolve, reject) => {
      if (best.pending.size === 0) best.worker.ref();
      best.pending.set(job.id, { job, resolve, reject });
      best.worker.postMessage(job);
    });
  }

  /** Run `fn` (which validates synchronously) and turn a throw into a rejection. */
  #guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return fn();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  encode(data: readonly Uint8Array[]): Promise<Uint8Array[]> {
    return this.#guard(() => {
      checkData(this, data);
      return this.#submit('encode', data);
    });
  }

  encodeBatch(stripes: readonly (readonly Uint8Array[])[]): Promise<Uint8Array[][]> {
    return this.#guard(() => {
      if (!Array.isArray(stripes)) throw new InvalidShardError('stripes must be an array of shard arrays', {});
      stripes.forEach((s) => checkData(this, s));
      return Promise.all(stripes.map((s) => this.#submit('encode', s)));
    });
  }

  reconstruct(shards: readonly (Uint8Array | null | undefined)[]): Promise<Uint8Array[]> {
    return this.#guard(() => {
      checkPartial(this, shards);
      return this.#submit('reconstruct', shards);
    });
  }

  reconstructBatch(stripes: readonly (readonly (Uint8Array | null | undefined)[])[]): Promise<Uint8Array[][]> {
    return this.#guard(() => {
      if (!Array.isArray(stripes)) throw new InvalidShardError('stripes must be an array of shard arrays', {});
      stripes.forEach((s) => checkPartial(this, s));
      return Promise.all(stripes.map((s) => this.#submit('reconstruct', s)));
    });
  }

  reconstructData(shards: readonly (Uint8Array | null | undefined)[]): Promise<Uint8Array[]> {
    return this.#guard(() => {
      checkPartial(this, shards);
      return this.#submit('reconstructData', shards);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#slots) this.#failSlot(s, new CodecClosedError('parallel codec'));
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }
}

/** Create a worker_threads pool codec; results equal createCodec()'s. Call close() when done. */
export function createParallelCodec(options: ParallelCodecOptions): ParallelCodec {
  return new ParallelReedSolomon(options);
}
