// The control block between the parallel codec (parallel.ts) and its workers (worker.ts), in a
// SharedArrayBuffer of int32: one job block, then one block per worker, each CTRL_STRIDE int32 (64 bytes, so
// no two blocks share a cache line).
// A job is the product the codec prepared in shared memory, cut into `chunks` column ranges of `chunk` bytes
// (the last one shorter). Every thread taking part claims ranges with Atomics.add on `next` until none is
// left, so a thread that the OS runs less often simply codes fewer ranges.
// Per worker: the codec sets state POSTED, bumps `seq` and notifies. The worker moves POSTED -> RUNNING with a
// compare-exchange, codes ranges, then stores DONE and notifies. When the codec has run out of ranges, it moves
// each worker POSTED -> CANCELLED with a compare-exchange (a worker that has not woken yet never touches the
// job) and waits only for workers that are RUNNING.
import type { KernelVariant } from './kernel.ts';
import type { WasmMemory } from './wasm-api.ts';

export const CTRL_STRIDE = 16;
/** Fields of the job block (at 0). */
export const JOB = { next: 0, chunks: 1, chunk: 2, len: 3, rows: 4, cols: 5 } as const;
/** Fields of a worker's block (at (1 + worker) * CTRL_STRIDE). */
export const CTRL = { seq: 0, state: 1, quit: 2, failed: 3 } as const;
export const STATE_IDLE = 0;
export const STATE_POSTED = 1;
export const STATE_RUNNING = 2;
export const STATE_DONE = 3;
export const STATE_CANCELLED = 4;

/** workerData of a codec worker. */
export interface WorkerInit {
  readonly variant: KernelVariant;
  readonly memory: WasmMemory;
  readonly ctrl: SharedArrayBuffer;
  /** First int32 of this worker's block in ctrl. */
  readonly base: number;
  /** Fixed addresses in the shared memory (see Kernel): matrix, pointer tables, expanded tables. */
  readonly layout: { readonly coef: number; readonly inPtrs: number; readonly outPtrs: number; readonly tables: number };
}

/** Messages from a worker (the jobs themselves go through the control block). */
export type WorkerNote = { readonly type: 'ready' } | { readonly type: 'error'; readonly message: string };

/**
 * Claim and code column ranges of the current job until none is left (the codec's thread and workers alike).
 * `run(start, end)` codes one range. Returns how many ranges this thread coded.
 */
export function codeChunks(c: Int32Array, run: (start: number, end: number) => void): number {
  const chunks = c[JOB.chunks];
  const chunk = c[JOB.chunk];
  const len = c[JOB.len];
  let coded = 0;
  for (;;) {
    const i = Atomics.add(c, JOB.next, 1);
    if (i >= chunks) return coded;
    run(i * chunk, Math.min(len, (i + 1) * chunk));
    coded++;
  }
}
