// The control block between the parallel codec (parallel.ts) and its workers (worker.ts): one block of
// CTRL_STRIDE int32 per worker in a SharedArrayBuffer (64 bytes, so two workers never share a cache line).
// The codec writes a job's fields, then stores a new `seq` and notifies; the worker codes columns
// [start, end) of the product the codec prepared in shared memory, sets `failed` if the kernel threw,
// then stores `done = seq` and notifies. op OP_QUIT makes the worker leave its loop.
import type { KernelVariant } from './kernel.ts';
import type { WasmMemory } from './wasm-api.ts';

export const CTRL_STRIDE = 16;
export const CTRL = { seq: 0, done: 1, op: 2, start: 3, end: 4, rows: 5, cols: 6, failed: 7 } as const;
export const OP_RUN = 1;
export const OP_QUIT = 2;

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
