// Multi-core codec. One shared WebAssembly.Memory holds every shard of the codec (its ShardSets and the
// stripes of convenience calls); worker threads instantiate the -shared kernel on that same memory, so no
// shard byte is ever copied between threads. Each call cuts the shard length into column ranges of whole
// cache lines; the calling thread and the workers (woken through a small control block, worker-protocol.ts)
// claim ranges until none is left, so a core busy with other work slows the call down less than a fixed
// split would. The calling thread waits for running workers with Atomics.waitAsync. Calls run one at a time.
// Results are byte-identical to createCodec(): the same kernel computes every column, only on another thread.
// Arguments are validated on the calling thread (same errors as the single-thread codec), before anything is
// queued or written. Idle workers sleep in Atomics.wait and are unref'ed, so a forgotten close() does not keep
// the process alive.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { CodecOptions, ReconstructOptions, ShardSet } from './codec.ts';
import { PARALLEL_CHUNKS_PER_THREAD, PARALLEL_MIN_BYTES, PARALLEL_MIN_CHUNK, SLOT_ALIGN } from './constants.ts';
import { CodecClosedError, InvalidParametersError, InvalidShardError, KernelUnavailableError, WorkerFailedError } from './errors.ts';
import { RegionHeap } from './heap.ts';
import { Kernel, alignUp, createSharedMemory, loadModule, resolveKernel, slotStride } from './kernel.ts';
import type { KernelVariant } from './kernel.ts';
import { Planner } from './plan.ts';
import type { MatMulPlan } from './plan.ts';
import { checkData, checkPartial, checkPresent, checkShape, checkShardLength } from './validate.ts';
import { CTRL, CTRL_STRIDE, JOB, STATE_CANCELLED, STATE_POSTED, STATE_RUNNING, codeChunks } from './worker-protocol.ts';
import type { WorkerInit, WorkerNote } from './worker-protocol.ts';

type WaitAsyncResult = { async: false; value: string } | { async: true; value: Promise<string> };
/** Node 22 has Atomics.waitAsync; the project's ES lib (es2022) does not declare it, so it is typed here. */
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, index: number, value: number): WaitAsyncResult }).waitAsync.bind(Atomics);

export interface ParallelCodecOptions extends CodecOptions {
  /** Threads coding one call, counting the calling thread (which codes a share too): threads - 1 workers are
   * started. Default os.availableParallelism(); 1..64. */
  readonly threads?: number;
  /** Calls with fewer data bytes (k x shard length) are coded by the calling thread alone, since waking a
   * worker costs more than it saves. Default PARALLEL_MIN_BYTES; 0 always splits (tests). */
  readonly minParallelBytes?: number;
  /** Bytes of shard length per column range (a multiple of 64). Default: about PARALLEL_CHUNKS_PER_THREAD
   * ranges per thread, none under PARALLEL_MIN_CHUNK. */
  readonly chunkBytes?: number;
}

export interface ParallelCodec {
  readonly dataShards: number;
  readonly parityShards: number;
  readonly totalShards: number;
  readonly threads: number;
  readonly kernel: KernelVariant;
  encode(data: readonly Uint8Array[]): Promise<Uint8Array[]>;
  /** Many stripes; result[i] is the parity of stripes[i]. Each stripe is split over all threads. */
  encodeBatch(stripes: readonly (readonly Uint8Array[])[]): Promise<Uint8Array[][]>;
  reconstruct(shards: readonly (Uint8Array | null | undefined)[]): Promise<Uint8Array[]>;
  reconstructBatch(stripes: readonly (readonly (Uint8Array | null | undefined)[])[]): Promise<Uint8Array[][]>;
  reconstructData(shards: readonly (Uint8Array | null | undefined)[]): Promise<Uint8Array[]>;
  /** n shards of shardLength bytes in the shared memory (zero-copy path; views over a SharedArrayBuffer,
   * valid until release()). Do not write a set while a call on it is pending. */
  allocShards(shardLength: number): ShardSet;
  /** Fill the parity shards of `set` from its data shards, in place. */
  encodeShardSet(set: ShardSet): Promise<void>;
  /** Rebuild the shards of `set` whose present[i] is false, in place (present ones are read only). */
  reconstructShardSet(set: ShardSet, present: readonly boolean[], options?: ReconstructOptions): Promise<void>;
  /** Terminate the workers; pending calls reject with CodecClosedError. */
  close(): Promise<void>;
}

class SharedShardSet implements ShardSet {
  readonly shards: readonly Uint8Array[];
  readonly shardLength: number;
  readonly addrs: readonly number[];
  readonly owner: ParallelReedSolomon;
  readonly start: number;
  readonly bytes: number;
  #released = false;
  constructor(owner: ParallelReedSolomon, buffer: ArrayBufferLike, start: number, n: number, len: number) {
    const stride = slotStride(len);
    this.owner = owner;
    this.start = start;
    this.bytes = n * stride;
    this.shardLength = len;
    this.addrs = Object.freeze(Array.from({ length: n }, (_, i) => start + i * stride));
    this.shards = Object.freeze(this.addrs.map((a) => new Uint8Array(buffer, a, len)));
  }
  get released(): boolean {
    return this.#released;
  }
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.owner.freeRegion(this.start, this.bytes);
  }
}

interface Helper {
  readonly worker: Worker;
  /** First int32 of this worker's control block. */
  readonly base: number;
  seq: number;
}

class ParallelReedSolomon implements ParallelCodec {
  readonly dataShards: number;
  readonly parityShards: number;
  readonly totalShards: number;
  readonly threads: number;
  readonly kernel: KernelVariant;
  readonly #minBytes: number;
  readonly #chunkBytes: number;
  readonly #planner: Planner;
  readonly #k: Kernel;
  readonly #heap: RegionHeap;
  readonly #ctrl: Int32Array;
  readonly #helpers: Helper[] = [];
  readonly #ready: Promise<unknown>;
  /** Rejects (and stays rejected) once a worker fails or the codec is closed; raced against every wait. */
  readonly #broken: Promise<never>;
  #breakWith: (e: Error) => void = () => {};
  #failure: Error | null = null;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: ParallelCodecOptions) {
    const shape = checkShape(options);
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
      throw new InvalidParametersError('threads must be an integer between 1 and 64', { threads });
    }
    const minBytes = options.minParallelBytes ?? PARALLEL_MIN_BYTES;
    if (!Number.isInteger(minBytes) || minBytes < 0) {
      throw new InvalidParametersError('minParallelBytes must be an integer >= 0', { minParallelBytes: minBytes });
    }
    const chunkBytes = options.chunkBytes ?? 0;
    if (!Number.isInteger(chunkBytes) || chunkBytes < 0 || chunkBytes % SLOT_ALIGN !== 0) {
      throw new InvalidParametersError(`chunkBytes must be a positive multiple of ${SLOT_ALIGN}`, { chunkBytes });
    }
    const kernel = resolveKernel(options.kernel ?? 'auto');
    if (!loadModule(kernel, true)) {
      throw new KernelUnavailableError(`kernel variant "${kernel}" has no shared-memory build: run \`npm run build\``, { kernel });
    }
    this.dataShards = shape.dataShards;
    this.parityShards = shape.parityShards;
    this.totalShards = shape.dataShards + shape.parityShards;
    this.threads = threads;
    this.kernel = kernel;
    this.#minBytes = minBytes;
    this.#chunkBytes = chunkBytes;
    this.#planner = new Planner(this.dataShards, this.parityShards);
    const memory = createSharedMemory(0);
    this.#k = new Kernel(kernel, this.dataShards * this.parityShards, 0, memory);
    this.#heap = new RegionHeap(this.#k.slotsPtr, SLOT_ALIGN);
    this.#broken = new Promise<never>((_, reject) => {
      this.#breakWith = reject;
    });
    this.#broken.catch(() => {}); // observed by every wait; never an unhandled rejection by itself
    this.#ctrl = new Int32Array(new SharedArrayBuffer(threads * CTRL_STRIDE * 4));
    const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
    const url = new URL(`./worker${ext}`, import.meta.url);
    const ready: Promise<unknown>[] = [];
    for (let i = 0; i < threads - 1; i++) {
      const init: WorkerInit = {
        variant: kernel,
        memory,
        ctrl: this.#ctrl.buffer as SharedArrayBuffer,
        base: (i + 1) * CTRL_STRIDE,
        layout: { coef: this.#k.coefPtr, inPtrs: this.#k.inPtrsPtr, outPtrs: this.#k.outPtrsPtr, tables: this.#k.tablesPtr }
      };
      const worker = new Worker(url, { workerData: init });
      worker.unref();
      ready.push(
        new Promise<void>((resolve) => {
          worker.on('message', (note: WorkerNote) => {
            if (note.type === 'ready') resolve();
            else this.#fail(new WorkerFailedError(`codec worker ${i} failed: ${note.message}`, { worker: i }));
          });
        })
      );
      worker.on('error', (cause) =>
        this.#fail(new WorkerFailedError(`codec worker ${i} failed: ${String((cause as Error)?.message ?? cause)}`, { worker: i }, { cause }))
      );
      worker.on('exit', (code) => this.#fail(new WorkerFailedError(`codec worker ${i} exited with code ${code}`, { worker: i, exitCode: code })));
      this.#helpers.push({ worker, base: (i + 1) * CTRL_STRIDE, seq: 0 });
    }
    this.#ready = Promise.race([Promise.all(ready), this.#broken]);
    this.#ready.catch(() => {});
  }

  #fail(err: Error): void {
    if (this.#failure) return;
    this.#failure = err;
    this.#breakWith(err);
  }

  /** @internal ShardSet.release() */
  freeRegion(start: number, bytes: number): void {
    if (!this.#failure) this.#heap.free(start, bytes);
  }

  #alloc(len: number): SharedShardSet {
    const bytes = this.totalShards * slotStride(len);
    const start = this.#heap.alloc(bytes);
    this.#k.ensure(this.#heap.top);
    return new SharedShardSet(this, this.#k.buffer, start, this.totalShards, len);
  }

  /** Run `job` after every earlier call; a failed or closed codec rejects instead. */
  #enqueue<T>(job: () => Promise<T> | T): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.#failure) throw this.#failure;
      return job();
    };
    const p = this.#queue.then(run, run);
    this.#queue = p.catch(() => {});
    return p;
  }

  /** The product `plan` describes on the shards at `addrs`, split by columns over the calling thread and the workers. */
  async #multiply(plan: MatMulPlan, addrs: readonly number[], len: number): Promise<void> {
    const rows = plan.outputs.length;
    if (rows === 0) return;
    const cols = this.dataShards;
    const k = this.#k;
    k.prepare(
      plan.coef,
      rows,
      cols,
      plan.inputs.map((i) => addrs[i]),
      plan.outputs.map((o) => addrs[o])
    );
    const threads = cols * len >= this.#minBytes ? this.#helpers.length + 1 : 1;
    const chunk = this.#chunkBytes || Math.max(PARALLEL_MIN_CHUNK, alignUp(Math.ceil(len / (threads * PARALLEL_CHUNKS_PER_THREAD)), SLOT_ALIGN));
    if (threads === 1 || chunk >= len) {
      k.run(rows, cols, 0, len);
      return;
    }
    await this.#ready;
    const c = this.#ctrl;
    c[JOB.chunks] = Math.ceil(len / chunk);
    c[JOB.chunk] = chunk;
    c[JOB.len] = len;
    c[JOB.rows] = rows;
    c[JOB.cols] = cols;
    Atomics.store(c, JOB.next, 0);
    const posted = this.#helpers.slice(0, c[JOB.chunks] - 1);
    for (const h of posted) {
      h.worker.ref();
      Atomics.store(c, h.base + CTRL.state, STATE_POSTED);
      h.seq = (h.seq + 1) | 0;
      Atomics.store(c, h.base + CTRL.seq, h.seq);
      Atomics.notify(c, h.base + CTRL.seq);
    }
    try {
      codeChunks(c, (start, end) => k.run(rows, cols, start, end));
      for (const h of posted) {
        // A worker that has not woken yet is cancelled; one that is running finishes its last range.
        if (Atomics.compareExchange(c, h.base + CTRL.state, STATE_POSTED, STATE_CANCELLED) === STATE_POSTED) continue;
        while (Atomics.load(c, h.base + CTRL.state) === STATE_RUNNING) {
          const w = waitAsync(c, h.base + CTRL.state, STATE_RUNNING);
          if (w.async) await Promise.race([w.value, this.#broken]);
        }
        if (Atomics.load(c, h.base + CTRL.failed)) throw this.#failure ?? new WorkerFailedError('codec worker failed', {});
      }
    } finally {
      for (const h of posted) h.worker.unref();
    }
  }

  #guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return fn();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #setOf(set: ShardSet): SharedShardSet {
    if (!(set instanceof SharedShardSet) || set.owner !== this) {
      throw new InvalidShardError('shard set was not allocated by this parallel codec (use its allocShards)', {});
    }
    if (set.released || this.#failure) throw new CodecClosedError('shard set');
    return set;
  }

  allocShards(shardLength: number): ShardSet {
    if (this.#failure) throw new CodecClosedError('parallel codec');
    return this.#alloc(checkShardLength(shardLength));
  }

  encodeShardSet(shardSet: ShardSet): Promise<void> {
    return this.#guard(() => {
      const set = this.#setOf(shardSet);
      return this.#enqueue(() => this.#multiply(this.#planner.encode, set.addrs, set.shardLength));
    });
  }

  reconstructShardSet(shardSet: ShardSet, present: readonly boolean[], options: ReconstructOptions = {}): Promise<void> {
    return this.#guard(() => {
      const set = this.#setOf(shardSet);
      checkPresent(this, present);
      const plan = this.#planner.decode(present, options.dataOnly === true);
      return this.#enqueue(() => this.#multiply(plan, set.addrs, set.shardLength));
    });
  }

  /** Copy `shards` (inputs of `plan`) into a fresh region now, code it in turn, hand the region's outputs to `collect`. */
  #viaRegion<T>(plan: MatMulPlan, shards: readonly (Uint8Array | null | undefined)[], len: number, collect: (set: SharedShardSet) => T): Promise<T> {
    if (this.#failure) throw new CodecClosedError('parallel codec');
    const set = this.#alloc(len);
    for (const i of plan.inputs) set.shards[i].set(shards[i] as Uint8Array);
    return this.#enqueue(async () => {
      await this.#multiply(plan, set.addrs, len);
      return collect(set);
    }).finally(() => set.release());
  }

  encode(data: readonly Uint8Array[]): Promise<Uint8Array[]> {
    return this.#guard(() => {
      const len = checkData(this, data);
      return this.#viaRegion(this.#planner.encode, data, len, (set) => set.shards.slice(this.dataShards).map((s) => s.slice()));
    });
  }

  encodeBatch(stripes: readonly (readonly Uint8Array[])[]): Promise<Uint8Array[][]> {
    return this.#guard(() => {
      if (!Array.isArray(stripes)) throw new InvalidShardError('stripes must be an array of shard arrays', {});
      stripes.forEach((s) => checkData(this, s));
      return Promise.all(stripes.map((s) => this.encode(s)));
    });
  }

  #reconstruct(shards: readonly (Uint8Array | null | undefined)[], dataOnly: boolean): Promise<Uint8Array[]> {
    const len = checkPartial(this, shards);
    const plan = this.#planner.decode(
      shards.map((s) => s != null),
      dataOnly
    );
    const n = dataOnly ? this.dataShards : this.totalShards;
    return this.#viaRegion(plan, shards, len, (set) => {
      const out = shards.slice(0, n) as Uint8Array[];
      for (const o of plan.outputs) out[o] = set.shards[o].slice();
      return out;
    });
  }

  reconstruct(shards: readonly (Uint8Array | null | undefined)[]): Promise<Uint8Array[]> {
    return this.#guard(() => this.#reconstruct(shards, false));
  }

  reconstructBatch(stripes: readonly (readonly (Uint8Array | null | undefined)[])[]): Promise<Uint8Array[][]> {
    return this.#guard(() => {
      if (!Array.isArray(stripes)) throw new InvalidShardError('stripes must be an array of shard arrays', {});
      stripes.forEach((s) => checkPartial(this, s));
      return Promise.all(stripes.map((s) => this.#reconstruct(s, false)));
    });
  }

  reconstructData(shards: readonly (Uint8Array | null | undefined)[]): Promise<Uint8Array[]> {
    return this.#guard(() => this.#reconstruct(shards, true));
  }

  async close(): Promise<void> {
    if (this.#failure instanceof CodecClosedError) return;
    this.#fail(new CodecClosedError('parallel codec'));
    this.#failure = new CodecClosedError('parallel codec');
    const c = this.#ctrl;
    for (const h of this.#helpers) {
      Atomics.store(c, h.base + CTRL.quit, 1);
      Atomics.store(c, h.base + CTRL.seq, (h.seq + 1) | 0);
      Atomics.notify(c, h.base + CTRL.seq);
    }
    await Promise.all(this.#helpers.map((h) => h.worker.terminate()));
    this.#planner.clear();
  }
}

/** Create a multi-core codec (shared memory, worker_threads); results equal createCodec()'s. Call close() when done. */
export function createParallelCodec(options: ParallelCodecOptions): ParallelCodec {
  return new ParallelReedSolomon(options);
}
